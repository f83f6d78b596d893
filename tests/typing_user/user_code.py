"""User code as a newcomer writes it, checked by mypy --strict and pyright (tests/test_typing.py)
and imported at runtime: what type checkers see must be what restly does."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship
from typing_extensions import assert_type

import restly as fr


class Author(fr.IDBase):
    __tablename__ = "typed_authors"  # a name of its own on an IDBase model
    name: Mapped[str] = mapped_column(String(50))


class Token(fr.IDBase):
    __tablename__ = "typed_tokens"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class Tag(fr.IDBase):
    label: Mapped[str] = mapped_column(String(20))  # table "tag", derived


class TypedBook(fr.TimestampsMixin, fr.IDBase):
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("typed_authors.id"))
    author: Mapped[Author] = relationship()
    token_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("typed_tokens.id"))


class BookSchema(fr.TimestampsSchemaMixin, fr.IDSchema):
    title: str
    author: fr.IDRef[Author]
    token_id: fr.IDRef[Token, uuid.UUID] | None = None
    secret: fr.WriteOnly[str] | None = None


class AuthorLink(fr.BaseSchema):
    author: fr.IDSchema[Author]
    tags: list[fr.IDRef[Tag]] = []
    editor_id: fr.MustExist[int, Author] | None = None


def next_author_id(book: BookSchema) -> int:
    assert_type(book.author, int)
    assert_type(book.token_id, "uuid.UUID | None")
    assert_type(book.id, int)
    return book.author + 1


def book_row_facts(book: TypedBook, token: Token) -> str:
    # The mixins' columns are seen by type checkers: the id (its type is the model's own
    # choice, so `Any` from the mixin) and the timestamps.
    assert_type(book.created_at, datetime)
    assert_type(token.id, uuid.UUID)
    return f"{book.id + 1} {book.updated_at.isoformat()} {token.id.hex}"


def linked_id(link: AuthorLink) -> int:
    assert_type(link.author.id, int)
    return link.author.id + sum(link.tags)


app = FastAPI()


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/typed-books"
    model = TypedBook
    schema = BookSchema

    async def authorize(self, action: str, obj: object = None, data: object = None) -> None:
        if action == fr.Action.DELETE:
            raise fr.exc.Forbidden()
