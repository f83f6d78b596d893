from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Post(Base):
    __tablename__ = "post"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    views: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()
app.add_middleware(  # react-admin usually runs on another origin
    CORSMiddleware,
    allow_origins=["http://localhost:5173"],
    allow_methods=["*"],
    # ra-data-simple-rest sends Range with every list and JSON bodies: both need a preflight
    allow_headers=["Range", "Content-Type", "Authorization", "Idempotency-Key", "If-Match", "Prefer"],
)


@fr.include_view(app)
class PostView(fr.AsyncReactAdminView):
    prefix = "/posts"
    model = Post


@fr.include_view(app)
class AuthorView(fr.AsyncReactAdminView):
    prefix = "/authors"
    model = Author
