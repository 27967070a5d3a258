"""Seconds per time unit, for the durations package."""
SECONDS_PER = {"s": 1, "m": 60, "h": 3600, "d": 86400}
__version__ = "0.3.1"
