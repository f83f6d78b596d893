from fastapi import FastAPI
from pydantic import Field
from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


# --8<-- [start:limits]
class Author(Base):
    __tablename__ = "author"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    handle: Mapped[str] = mapped_column(String(30), default="")
    stars: Mapped[int] = mapped_column(SmallInteger, default=0)


class AuthorSchema(fr.IDSchema):
    name: str  # AuthorCreate / AuthorUpdate: max_length=100, from String(100)
    handle: str = Field("", max_length=15)  # stricter than String(30): 15 stays
    stars: int = Field(0, ge=0)  # ge=0 stays; SMALLINT adds le=32767


fr.configure(async_database_url="sqlite+aiosqlite:///authors.db")
app = FastAPI()


@fr.include_view(app)
class AuthorView(fr.AsyncRestView):
    prefix = "/authors"
    model = Author
    schema = AuthorSchema
# --8<-- [end:limits]
