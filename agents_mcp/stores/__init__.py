"""Where jobs and results are kept: one `Store` interface, SQLite embedded, PostgreSQL shared.

`open_store` picks the implementation: PostgreSQL when a database URL is given (imported only
then), else the SQLite file in the data directory.
"""

from __future__ import annotations

from pathlib import Path

from agents_mcp.stores.base import (
    Store,
    StoredRecord,
    StoreError,
    StoreUnavailableError,
)
from agents_mcp.stores.sqlite import SQLiteStore

__all__ = [
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredRecord",
    "make_store",
]


def make_store(data_dir: Path | str, database_url: str | None = None) -> Store:
    """The store for these settings (not opened yet)."""
    if database_url:
        from agents_mcp.stores.postgres import PostgresStore

        return PostgresStore(database_url)
    return SQLiteStore(data_dir)
