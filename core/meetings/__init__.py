"""meetings package."""
