"""The Generate lab (chapters 4 and 5): `core` holds decoding and its demos without Qt; `area`
composes the controls, compare and demos views.
"""
