"""``/books`` as ``restly_async`` serves it, with the write lifecycle's hooks overridden:
``authorize`` (which sees the object, so ``GET /{id}`` loads it), ``before_action_commit``
and ``after_action_commit`` (which see the old and new rows, so writes take the ORM path:
read, change, flush).

The hooks do nothing but count: what this contender measures is the price of having them,
the extra statements and ORM work, shown beside ``restly_async`` rather than hidden in it
(``--contenders handwritten,restly_async,restly_hooks``). Serve it with
``uvicorn benchmarks.contenders.restly_hooks:app``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import restly as fr

from ..db import make_async_engine
from ..models import Author, Book

__all__ = ["BookView", "app"]

app = FastAPI(title="restly_hooks")
fr.configure(async_engine=make_async_engine())


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    include_pagination_metadata = True
    expandable = {"author": fr.create_schema_from_model(Author)}  # list50_expand
    #: Calls of each hook, by action (read by nothing: the hooks must not be optimised away).
    calls: dict[str, int] = {}

    async def authorize(self, action: str, obj: Any = None, data: Any = None) -> None:
        self.calls[action] = self.calls.get(action, 0) + 1

    async def before_action_commit(self, action: str, new: Any, old: dict[str, Any] | None = None) -> None:
        self.calls["before"] = self.calls.get("before", 0) + 1

    async def after_action_commit(self, action: str, new: Any, old: dict[str, Any] | None = None) -> None:
        self.calls["after"] = self.calls.get("after", 0) + 1
