from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(200))


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base)
    yield


app = FastAPI(lifespan=lifespan)


# --8<-- [start:view]
@fr.include_view(app)
class WorldView(fr.AsyncRestView):
    prefix = "/world"
    model = World
# --8<-- [end:view]
