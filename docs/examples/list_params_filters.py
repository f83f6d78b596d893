# --8<-- [start:models]
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Optional

from fastapi import FastAPI, Query
from sqlalchemy import ForeignKey, Select, String, or_, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    pages: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="draft")
    published: Mapped[Optional[date]]
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship()


class AuthorSchema(fr.IDSchema):
    name: str


class BookSchema(fr.IDSchema):
    title: str
    pages: int
    status: str = "draft"
    published: Optional[date] = None
    author_id: int
    author: fr.ReadOnly[AuthorSchema]  # makes ?author.name=... available
# --8<-- [end:models]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


# --8<-- [start:extra]
@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    schema = BookSchema
    extra_query_params = {"q": str}  # documented and validated; restly does not apply it

    async def handle_list(self, query_params: Any, query: Select[Any] | None = None) -> Sequence[Any]:
        q = fr.query.list_params_extras(query_params)["q"]
        query = self.build_list_query() if query is None else query
        if q:
            query = query.join(Book.author).where(
                or_(Book.title.icontains(q, autoescape=True), Author.name.icontains(q, autoescape=True))
            )
        return await super().handle_list(query_params, query)
# --8<-- [end:extra]


# --8<-- [start:primitives]
TitleParams = fr.create_list_params_schema(BookSchema, model=Book, max_page_size=50)


@fr.include_view(app)
class TitleView(fr.View):
    prefix = "/titles"
    session: fr.AsyncSessionDep

    @fr.get("")
    async def titles(self, params: Annotated[TitleParams, Query()]) -> list[str]:
        statement = fr.apply_list_params(params, select(Book), Book)
        return [book.title for book in await self.session.scalars(statement)]

# --8<-- [end:primitives]
