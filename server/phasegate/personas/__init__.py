"""Personas: workers that change the workspace for a phase."""
