"""moesim: a local MoEngage campaign simulator."""

__version__ = "0.1.0"
