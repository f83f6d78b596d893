"""docs/idempotency.md: an API whose creates are safe to retry, and a client that retries."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Header
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base)  # restly's table of keys too
    yield


app = FastAPI(lifespan=lifespan)


class Base(DeclarativeBase):
    pass


# --8<-- [start:server]
class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(40))
    item: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[int]


def current_user(x_user: str = Header()) -> str:
    return x_user  # stands in for real authentication


@fr.include_view(app)
class OrderView(fr.AsyncRestView):
    prefix = "/orders"
    model = Order
    idempotency = "required"  # POST and PATCH without an Idempotency-Key: 400

    user: Annotated[str, Depends(current_user)]

    def idempotency_scope(self) -> str:
        return self.user  # each user's keys are their own
# --8<-- [end:server]


# --8<-- [start:client]
async def place_order(client: httpx.AsyncClient, order: dict[str, Any], attempts: int = 5) -> Any:
    """POST an order, retrying until it is answered: it is created exactly once."""
    headers = {"Idempotency-Key": f'"{uuid.uuid4()}"'}  # one key for every attempt
    for attempt in range(attempts):
        try:
            response = await client.post("/orders", json=order, headers=headers)
        except httpx.TransportError:  # the answer was lost: the order may exist or not
            await asyncio.sleep(0.1 * 2**attempt)
            continue
        if response.status_code in (409, 503) and "Retry-After" in response.headers:
            await asyncio.sleep(float(response.headers["Retry-After"]))  # still in flight
            continue
        response.raise_for_status()
        return response.json()
    raise RuntimeError(f"no answer after {attempts} attempts")
# --8<-- [end:client]
