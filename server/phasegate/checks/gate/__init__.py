"""Checks on the gate itself: GATE-INTEGRITY (new-code mode only)."""
