"""kluis.pseudonym"""
