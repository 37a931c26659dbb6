"""The Embeddings lab (chapter 2): `core` computes token and positional embeddings and their
projections without Qt, `area` shows them.
"""
