"""Requirements phase checks."""
