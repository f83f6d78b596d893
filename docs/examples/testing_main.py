from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


fr.configure(async_database_url="sqlite+aiosqlite:///test.db")
app = FastAPI()


@fr.include_view(app)
class NoteView(fr.AsyncRestView):
    prefix = "/notes"
    model = Note
