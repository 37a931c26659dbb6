"""Notes files become flashcards: parsing and rendering (no Qt)."""
