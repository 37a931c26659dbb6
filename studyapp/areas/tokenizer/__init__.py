"""The Tokenizer lab (chapter 2): `core` tokenizes and traces BPE merges without Qt, `area` shows
it.
"""
