from fastapi import FastAPI
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship()


class BookSchema(fr.IDSchema):
    title: str
    author: fr.IDRef[Author]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()
fr.configure(app, problem_details=True)  # every error of this app: application/problem+json


@fr.include_view(app)
class AuthorView(fr.AsyncRestView):
    prefix = "/authors"
    model = Author


@fr.include_view(app)
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    schema = BookSchema
