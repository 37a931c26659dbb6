"""The Architecture lab (chapter 4, implementing a GPT model): `core` turns the chapter's demos
and the loaded model's inspection into plain data without Qt; `area` and its views show them.
"""
