"""Storage: the only code that touches SQLite."""

from .database import Store

__all__ = ["Store"]
