"""Deployment phase checks."""
