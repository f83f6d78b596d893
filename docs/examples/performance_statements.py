from collections import Counter
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import String, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    pages: Mapped[int] = mapped_column(index=True)
    archived: Mapped[bool] = mapped_column(default=False)


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")

# Count what reaches the database, by the statement's first word.
executed: Counter[str] = Counter()


@event.listens_for(fr.get_async_engine().sync_engine, "before_cursor_execute")
def count(conn, cursor, statement, parameters, context, executemany):
    executed[statement.split()[0]] += 1


@asynccontextmanager
async def lifespan(app: FastAPI):
    async with fr.get_async_engine().begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    """restly decides everything: one statement per list page, total included."""

    prefix = "/books"
    model = Book
    include_pagination_metadata = True


@fr.include_view(app)
class ShelfView(fr.AsyncRestView):
    """A scoped query: built per request, and the total is counted on its own."""

    prefix = "/shelf"
    model = Book
    include_pagination_metadata = True

    def build_list_query(self):
        return select(Book).where(Book.archived.is_(False))
