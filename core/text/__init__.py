"""Text handling shared by search: Korean morphemes, terms."""
