"""Recording the SQL statements a test's requests send, on the sync and async engines of
its `FRGlobals`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

import restly as fr

__all__ = ["first_word", "recording", "whole"]


def first_word(statement: str) -> str:
    return statement.split()[0].upper()


def whole(statement: str) -> str:
    """The statement with its whitespace collapsed."""
    return " ".join(statement.split())


@contextmanager
def recording(fr_globals: fr.FRGlobals, shown: Callable[[str], str] = first_word) -> Iterator[list[str]]:
    """A list that receives every statement sent while the block runs, as `shown` says."""
    sent: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(shown(statement))

    engines = [fr_globals.get_engine(), fr_globals.get_async_engine().sync_engine]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
