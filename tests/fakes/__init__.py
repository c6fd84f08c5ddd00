"""Fake servers and shared helpers (no tests here, nothing collected)."""
