from fastapi import APIRouter, FastAPI
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Book(Base):
    __tablename__ = "book"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


class AuthorView(fr.AsyncRestView):
    prefix = "/authors"
    model = Author


class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book


# --8<-- [start:admin]
# A view kept out of the main registry: it belongs to its own FRGlobals.
admin_globals = fr.FRGlobals()
with fr.use_fr_globals(admin_globals):
    fr.configure(async_database_url="sqlite+aiosqlite:///admin.db")


class AdminBookView(fr.AsyncRestView, globals=admin_globals):
    prefix = "/admin/books"
    model = Book
# --8<-- [end:admin]


# --8<-- [start:mount]
app = FastAPI()
fr.include_views(app)  # AuthorView and BookView, in declaration order

admin = APIRouter()
fr.include_view(admin, AdminBookView)
app.include_router(admin)
# --8<-- [end:mount]
