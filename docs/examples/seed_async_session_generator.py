from typing import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

# The project's own engine and session factory, made before restly was added.
engine = create_async_engine("sqlite+aiosqlite:///app.db")
MyAsyncSession = async_sessionmaker(engine, expire_on_commit=False)


async def my_get_db() -> AsyncIterator[AsyncSession]:
    async with MyAsyncSession() as session:
        yield session


fr.configure(session_generator=my_get_db)


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


app = FastAPI()


@fr.include_view(app)
class WorldView(fr.AsyncRestView):
    prefix = "/world"
    model = World
