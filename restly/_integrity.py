"""Short, SQL-free descriptions of integrity errors (interim; replaced by the full mapping)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

__all__ = ["describe_integrity_error"]


def describe_integrity_error(error: DBAPIError) -> str:
    return "Integrity constraint violated"
