"""Spaced-repetition review: scheduler, SQLite store, queue and statistics (no Qt)."""
