"""The baseline: ``/books`` written by hand with FastAPI, async SQLAlchemy and Pydantic.

Serve it with ``uvicorn benchmarks.contenders.handwritten:app`` (database from the
``RESTLY_BENCH_ASYNC_URL`` environment variable).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..db import make_async_engine
from ..models import Book
from .crud import ListParams, crud_router, session_dependency

__all__ = ["AuthorRead", "BookCreate", "BookListParams", "BookRead", "BookUpdate", "app"]


class BookCreate(BaseModel):
    title: str = Field(max_length=200)
    pages: int
    price: float
    in_stock: bool
    published_at: datetime
    summary: str | None = None
    status: str = Field(max_length=20)
    author_id: int


class BookRead(BookCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int


class BookUpdate(BaseModel):
    title: str | None = Field(None, max_length=200)
    pages: int | None = None
    price: float | None = None
    in_stock: bool | None = None
    published_at: datetime | None = None
    summary: str | None = None
    status: str | None = Field(None, max_length=20)
    author_id: int | None = None


class BookListParams(ListParams):
    status: str | None = None


class AuthorRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    born: int
    bio: str | None


# The session settings restly documents for its own factory, so only the web layer differs.
make_session = async_sessionmaker(make_async_engine(), autoflush=False, expire_on_commit=False)

app = FastAPI(title="handwritten")
app.include_router(
    crud_router(
        Book,
        BookRead,
        BookCreate,
        BookUpdate,
        BookListParams,
        session_dependency(make_session),
        expandable={"author": AuthorRead},
    ),
    prefix="/books",
)
