"""Row scopes with the features that read a row before the write: a row another tenant owns
answers 404 to conditional writes (never 412/428, which would tell it exists) and never
reaches ``authorize``; on SQLite, PostgreSQL and MariaDB, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header
from sqlalchemy import ColumnElement, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Memo(Base):
    __tablename__ = "sc_memo"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))
    tenant: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}


def tenant(x_tenant: str = Header()) -> str:
    return x_tenant


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_another_tenants_row_is_missing_to_conditional_writes(
    kind: str, database: Any, fr_globals: fr.FRGlobals, client_for: Callable[[FastAPI], httpx.AsyncClient]
) -> None:
    @fr.scope(Memo)
    def own_memos(current: str = Depends(tenant)) -> ColumnElement[bool]:
        return Memo.tenant == current

    seen: list[Any] = []
    base = fr.AsyncRestView if kind == "async" else fr.RestView
    namespace: dict[str, Any] = {"prefix": "/memos", "model": Memo, "require_if_match": True}
    if kind == "async":

        async def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:
            seen.append((action, getattr(obj, "tenant", None)))

    else:

        def authorize(self: Any, action: str, obj: Any = None, data: Any = None) -> None:  # type: ignore[misc]
            seen.append((action, getattr(obj, "tenant", None)))

    namespace["authorize"] = authorize
    view = type(f"{kind}MemoView", (base,), namespace)
    app = FastAPI()
    fr.include_view(app, view)
    client = client_for(app)
    with fr_globals.get_sessionmaker()() as session:
        theirs = Memo(text="theirs", tenant="b")
        session.add(theirs)
        session.commit()
        hidden = theirs.id
    ours = await client.post("/memos", json={"text": "ours", "tenant": "a"}, headers={"X-Tenant": "a"})
    assert ours.status_code == 201
    tag = ours.headers["etag"]
    a = {"X-Tenant": "a"}
    missing = await client.patch("/memos/999999", json={"text": "x"}, headers={**a, "If-Match": tag})
    for headers in ({**a, "If-Match": '"1"'}, {**a, "If-Match": '"999"'}, a):
        patched = await client.patch(f"/memos/{hidden}", json={"text": "x"}, headers=headers)
        assert (patched.status_code, patched.json()) == (missing.status_code, missing.json()) == (
            404,
            {"detail": "Not Found"},
        )
        deleted = await client.delete(f"/memos/{hidden}", headers=headers)
        assert deleted.status_code == 404
    assert (await client.get(f"/memos/{hidden}", headers=a)).status_code == 404
    assert all(tenant_seen != "b" for _, tenant_seen in seen)
    with fr_globals.get_sessionmaker()() as session:
        assert session.get(Memo, hidden).text == "theirs"  # type: ignore[union-attr]
    # ...and the tenant's own row still follows the preconditions.
    own = ours.json()["id"]
    assert (await client.patch(f"/memos/{own}", json={"text": "y"}, headers=a)).status_code == 428
    ok = await client.patch(f"/memos/{own}", json={"text": "y"}, headers={**a, "If-Match": tag})
    assert ok.status_code == 200 and ok.headers["etag"] != tag

