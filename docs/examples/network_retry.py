"""docs/reliability.md, "A bad network": answers that say whether to retry, and a client that
retries writes safely (an Idempotency-Key, the same for every attempt)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

# --8<-- [start:server]
fr.configure(
    async_database_url="postgresql+asyncpg://app@db.internal/app",
    connect_timeout=2,  # connecting, and waiting for a pooled connection
    statement_timeout=5,  # the server cancels a statement; the client gives up 1 s later
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base)  # restly's table of idempotency keys too
    yield


app = FastAPI(lifespan=lifespan)
fr.configure(app, problem_details=True)  # errors tell their kind by `type`


class Base(DeclarativeBase):
    pass


class Payment(Base):
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    payee: Mapped[str] = mapped_column(String(40))
    cents: Mapped[int]


@fr.include_view(app)
class PaymentView(fr.AsyncRestView):
    prefix = "/payments"
    model = Payment
# --8<-- [end:server]


# --8<-- [start:client]
OUTCOME_UNKNOWN = "/problems/commit-outcome-unknown"


async def pay(client: httpx.AsyncClient, payment: dict[str, Any], attempts: int = 5) -> Any:
    """POST a payment, retrying until it is answered: it is made exactly once."""
    headers = {"Idempotency-Key": f'"{uuid.uuid4()}"'}  # one key for every attempt
    for attempt in range(attempts):
        try:
            response = await client.post("/payments", json=payment, headers=headers)
        except httpx.TransportError:  # the answer was lost: the payment may exist or not
            await asyncio.sleep(0.1 * 2**attempt)
            continue
        if response.status_code in (409, 503) and "Retry-After" in response.headers:
            await asyncio.sleep(float(response.headers["Retry-After"]))  # nothing was written
            continue
        if response.status_code == 500 and response.json().get("type") == OUTCOME_UNKNOWN:
            continue  # it may have been made: the same key replays it if it was
        response.raise_for_status()
        return response.json()
    raise RuntimeError(f"no answer after {attempts} attempts")
# --8<-- [end:client]
