"""kluis.engine"""
