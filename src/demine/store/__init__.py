"""The store: one Repository interface over an SQLite file or PostgreSQL + PostGIS."""

from demine.store.repository import Repository, resolve_db_url

__all__ = ["Repository", "resolve_db_url"]
