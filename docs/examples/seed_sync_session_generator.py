from typing import Iterator

from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import restly as fr

# The project's own engine and session factory, made before restly was added.
engine = create_engine("sqlite:///app.db")
MySession = sessionmaker(engine, expire_on_commit=False)


def my_get_db() -> Iterator[Session]:
    with MySession() as session:
        yield session


fr.configure(sync_session_generator=my_get_db)


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


app = FastAPI()


@fr.include_view(app)
class WorldView(fr.RestView):
    prefix = "/world"
    model = World
