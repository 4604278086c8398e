"""kluis.disclosure"""
