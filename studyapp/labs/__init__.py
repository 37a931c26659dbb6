"""The labs: one Qt module per area of the book."""
