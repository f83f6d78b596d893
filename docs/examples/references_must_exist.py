from typing import Optional

from fastapi import FastAPI
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Review(Base):
    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(500))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    editor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("author.id"))
    legacy_author: Mapped[Optional[int]]  # an old column without a ForeignKey


fr.configure(async_database_url="sqlite+aiosqlite:///reviews.db")
app = FastAPI()


# --8<-- [start:must-exist]
class ReviewSchema(fr.IDSchema):
    text: str
    author_id: fr.MustExist[int]  # the target comes from the column's ForeignKey
    editor_id: Optional[fr.MustExist[int]] = None  # nullable: null clears it
    legacy_author: Optional[fr.MustExist[int, Author]] = None  # no ForeignKey: named


@fr.include_view(app)
class ReviewView(fr.AsyncRestView):
    prefix = "/reviews"
    model = Review
    schema = ReviewSchema
# --8<-- [end:must-exist]
