"""hedui."""
