"""restly's table of idempotency keys holds any answer restly may store, on every backend."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import insert, select

import restly as fr

from .models import Base  # noqa: F401 - the `database` fixture creates the module's Base

pytestmark = pytest.mark.anyio


async def test_the_stored_body_holds_answers_past_64_kib(keyed: Any, fr_globals: fr.FRGlobals) -> None:
    # MySQL/MariaDB's TEXT stops at 64 KiB: the body column must be LONGTEXT there.
    table = fr.idempotency_metadata.tables["restly_idempotency_keys"]
    body = '{"items": [' + ",".join(f'"{n:06d}-é"' for n in range(40_000)) + "]}"
    assert len(body.encode()) > 300_000
    now = int(time.time())
    row = {"lookup": "k" * 64, "fingerprint": "f" * 64, "status": 201, "headers": "{}",
           "body": body, "created_at": now, "expires_at": now + 60}  # fmt: skip
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(table), row)
        stored = connection.execute(select(table.c.body)).scalar_one()
    assert stored == body
