"""Storage: the only code that touches SQLite."""

from .database import ForeignKeys, Store

__all__ = ["ForeignKeys", "Store"]
