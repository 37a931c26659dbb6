"""studyapp: a desktop study companion for "Build a Large Language Model (From Scratch)".

This package's top level imports nothing heavy (no Qt, no torch) so that the core modules
(`studyapp.notes`, `studyapp.review`) stay importable and testable without a display.
"""

__version__ = "0.1.0"
