"""The Attention lab (chapter 3): `core` runs the chapter's attention steps without Qt, `area`
shows them.
"""
