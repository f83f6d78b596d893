"""docs/reliability.md, "A bad network": the example run over HTTP against PostgreSQL through
a link that loses the answer to the first COMMIT (tests/db/_proxy.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import restly as fr
from tests.conftest import postgres_urls
from tests.db._proxy import FaultyLink
from tests.test_docs_examples import fr_globals, load, serve  # noqa: F401 - fixtures

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


async def test_network_retry(load: Any, fr_globals: fr.FRGlobals) -> None:  # noqa: F811
    urls = postgres_urls()  # skips, or fails where services are required, without PostgreSQL
    example = load("network_retry")
    direct = create_engine(urls.sync_url, poolclass=NullPool)
    example.Base.metadata.drop_all(direct)
    fr.idempotency_metadata.drop_all(direct)
    server = make_url(urls.sync_url)
    try:
        with FaultyLink(server.host or "127.0.0.1", server.port or 5432) as link:
            with fr.use_fr_globals(fr_globals):
                fr.configure(async_database_url=link.url(urls.async_url))
            async with serve(example.app, fr_globals) as client:
                link.reset_on(re.compile(rb"COMMIT;?\x00"), deliver=True)
                paid = await example.pay(client, {"payee": "ann", "cents": 1250})
                assert link.fired == {"reset_on": 1}  # the first answer was lost
                assert paid["payee"] == "ann" and paid["cents"] == 1250
                assert (await client.get("/payments")).json() == [paid]
                await fr_globals.dispose()
        with direct.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(example.Payment)) == 1
    finally:
        example.Base.metadata.drop_all(direct)
        fr.idempotency_metadata.drop_all(direct)
        direct.dispose()
