"""Storage: Pony entities on SQLite, behind small synchronous functions returning plain data."""

from .database import Store, now_ms, open_store, store_answers

__all__ = ["Store", "now_ms", "open_store", "store_answers"]
