from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class AppBase(DeclarativeBase):
    pass


class World(AppBase):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    message: Mapped[str]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with fr.get_async_engine().begin() as connection:
        await connection.run_sync(AppBase.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)


@fr.include_view(app)
class WorldView(fr.AsyncRestView):
    prefix = "/world"
    model = World
