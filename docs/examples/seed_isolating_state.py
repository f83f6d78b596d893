from fastapi import FastAPI
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.db import FRGlobals, use_fr_globals


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


app_a_globals = FRGlobals()
app_b_globals = FRGlobals()

with use_fr_globals(app_a_globals):
    fr.configure(async_database_url="sqlite+aiosqlite:///app_a.db")
    app_a = FastAPI()

    @fr.include_view(app_a)
    class WorldViewA(fr.AsyncRestView):
        prefix = "/world"
        model = World

with use_fr_globals(app_b_globals):
    fr.configure(async_database_url="sqlite+aiosqlite:///app_b.db")
    app_b = FastAPI()

    @fr.include_view(app_b)
    class WorldViewB(fr.AsyncRestView):
        prefix = "/world"
        model = World
