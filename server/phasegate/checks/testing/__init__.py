"""Testing phase checks."""
