"""Implementation phase checks."""
