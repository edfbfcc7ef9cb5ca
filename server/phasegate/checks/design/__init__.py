"""Design phase checks."""
