"""Sensors, each module named for what it watches."""
