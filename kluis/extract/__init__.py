"""kluis.extract"""
