import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base)
    yield


app = FastAPI(lifespan=lifespan)


class Base(DeclarativeBase):
    pass


# --8<-- [start:server]
class Account(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(50))
    balance: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(nullable=False)  # the ETag: "1", "2", ...

    __mapper_args__ = {"version_id_col": version}


@fr.include_view(app)
class AccountView(fr.AsyncRestView):
    prefix = "/accounts"
    model = Account
    require_if_match = True  # a PATCH or DELETE without If-Match answers 428
# --8<-- [end:server]


# --8<-- [start:client]
async def update(
    client: httpx.AsyncClient,
    url: str,
    change: Callable[[dict[str, Any]], dict[str, Any]],
    attempts: int = 20,
) -> dict[str, Any]:
    """Read, change and write back `url`, without losing a concurrent write.

    Of writers racing on one tag, one wins each round: a loser waits a random, growing
    moment before it reads again, so that the writers spread out instead of colliding again.
    """
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(random.uniform(0, min(1.0, 0.01 * 2**attempt)))
        current = await client.get(url)
        current.raise_for_status()
        answer = await client.patch(
            url,
            json=change(current.json()),
            headers={"If-Match": current.headers["ETag"]},
        )
        if answer.status_code != 412:  # 412: someone wrote in between; read again
            answer.raise_for_status()
            return answer.json()  # type: ignore[no-any-return]
    raise RuntimeError(f"{url} kept changing; gave up after {attempts} attempts")


async def deposit(client: httpx.AsyncClient, url: str, amount: int) -> dict[str, Any]:
    return await update(client, url, lambda account: {"balance": account["balance"] + amount})
# --8<-- [end:client]
