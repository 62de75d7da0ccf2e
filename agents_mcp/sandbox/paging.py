"""List paging as the API does it: an opaque cursor (here an offset) and `has_more`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def offset_of(cursor: str | None) -> int:
    """The offset a cursor stands for; a malformed one starts at the beginning."""
    return int(cursor) if cursor and cursor.isdigit() else 0


def page_of(items: Sequence[T], cursor: str | None, page_size: int) -> tuple[list[T], str | None]:
    """The page at `cursor` and the next page's cursor (None on the last page)."""
    offset = offset_of(cursor)
    end = offset + page_size
    return list(items[offset:end]), (str(end) if end < len(items) else None)
