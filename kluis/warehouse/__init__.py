"""kluis.warehouse"""
