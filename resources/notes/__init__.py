"""Bundled notes."""
