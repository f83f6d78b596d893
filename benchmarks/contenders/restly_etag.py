"""``/books`` as ``restly_async`` serves it, with ETags: ``etag = True`` (the model has no
version counter, so each tag is a digest of the object's JSON answer).

Compare it with ``restly_async`` in the same run (``--contenders
handwritten,restly_async,restly_etag``): the difference is what tags cost on ``get`` (a
digest of the answer) and ``patch`` (the precondition dependency, and a digest of the new
answer). Serve it with ``uvicorn benchmarks.contenders.restly_etag:app``.
"""

from __future__ import annotations

from fastapi import FastAPI

import restly as fr

from ..db import make_async_engine
from ..models import Author, Book

__all__ = ["BookView", "app"]

app = FastAPI(title="restly_etag")
fr.configure(async_engine=make_async_engine())


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    include_pagination_metadata = True
    expandable = {"author": fr.create_schema_from_model(Author)}  # list50_expand
    etag = True
