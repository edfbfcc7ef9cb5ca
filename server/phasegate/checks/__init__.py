"""Checks: one module per rule, grouped by phase; registered via entry points."""
