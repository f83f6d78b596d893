from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "item"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    price: Mapped[float]


fr.configure(database_url="sqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    fr.db.create_all(Base)
    yield


app = FastAPI(lifespan=lifespan)


@fr.include_view(app)
class ItemView(fr.RestView):
    prefix = "/items"
    model = Item

    @fr.get("/total")
    def total(self) -> float:
        return self.session.scalar(select(func.sum(Item.price))) or 0.0
