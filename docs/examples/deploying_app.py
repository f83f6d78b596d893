# app.py: what every worker process imports (uvicorn app:app --workers 4).
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

fr.configure(
    async_database_url=os.environ["APP_DATABASE_URL"],
    # The same secret in every worker: a cursor one worker issued is read by any other.
    cursor_key=os.environ["APP_CURSOR_KEY"],
    pool=fr.db.PoolSettings(size=int(os.environ.get("APP_POOL_SIZE", "5")), max_overflow=5),
    connect_timeout=5,  # no connection within 5 s: 503 with Retry-After
    statement_timeout=30,  # PostgreSQL cancels longer statements: 503
)


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "deploying_order"
    id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(String(100))


@asynccontextmanager
async def lifespan(app: FastAPI):
    if os.environ.get("APP_CREATE_TABLES") == "1":  # demos and tests; production migrates first
        await fr.db.async_create_all(Base)  # safe when every worker runs it at once
    yield
    await fr.get_fr_globals().dispose()  # close the pools before the process exits


app = FastAPI(lifespan=lifespan)
fr.configure(app, health="/health", ready="/ready")


@fr.include_view(app)
class OrderView(fr.AsyncRestView):
    prefix = "/orders"
    model = Order
