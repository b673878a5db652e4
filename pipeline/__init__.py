"""coursepipe: a serverless, event-driven media pipeline for online courses."""

__version__ = "0.1.0"
