"""kluis.deliberation"""
