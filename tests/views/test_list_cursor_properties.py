"""Property: for any rows (ties and NULLs anywhere), any ``order_by`` and any page size,
walking the ``next`` links returns exactly the unpaged list, and the ``prev`` links of the
last page walk back through the same pages, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

import restly as fr

from .list_support import SHELVES, STAMP, Base, EveryKey, Shelf, Volume, volume

KEYS = ["rank", "weight", "score", "title", "flag", "stamp", "kind", "shelf.name", "shelf.id"]

rows = st.lists(
    st.fixed_dictionaries(
        {
            "rank": st.none() | st.integers(0, 2),
            "weight": st.none() | st.sampled_from([Decimal("0.5"), Decimal("1.25")]),
            "score": st.none() | st.sampled_from([0.1, 0.2, 1.5]),
            "title": st.sampled_from(["a", "b", "B"]),
            "flag": st.booleans(),
            "stamp": st.integers(0, 2).map(lambda micro: STAMP + dt.timedelta(microseconds=micro)),
            "shelf_id": st.none() | st.integers(1, 3),
        }
    ),
    max_size=30,
)
orders = st.lists(
    st.tuples(st.sampled_from(KEYS), st.booleans()), max_size=3, unique_by=lambda key: key[0]
).map(lambda keys: ",".join(("-" if down else "") + key for key, down in keys))


@pytest.fixture
def client(db_urls: Any, fr_globals: fr.FRGlobals) -> Iterator[TestClient]:
    fr.configure(database_url=db_urls.sync_url, pgbouncer=db_urls.pgbouncer)
    engine = fr_globals.get_engine()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(Shelf), SHELVES)

    class PropertyView(fr.RestView):
        prefix = "/volumes"
        model = Volume
        schema = EveryKey

    app = FastAPI()
    fr.include_view(app, PropertyView)
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        Base.metadata.drop_all(engine)


def listed(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def pages_from(client: TestClient, response: Any, rel: str) -> list[list[int]]:
    pages = [listed(response)]
    for _ in range(40):  # at most 30 rows, so at most 31 pages
        link = response.links.get(rel)
        if link is None:
            return pages
        response = client.get(link["url"])
        pages.append(listed(response))
    raise AssertionError(f"too many pages following {rel!r}")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=rows, order=orders, size=st.integers(1, 7))
def test_pages_are_the_unpaged_list_cut_in_pieces(
    client: TestClient, fr_globals: fr.FRGlobals, data: list[dict[str, Any]], order: str,
    size: int,
) -> None:  # fmt: skip
    with fr_globals.get_engine().begin() as connection:
        connection.execute(delete(Volume))
        if data:
            connection.execute(
                insert(Volume), [{**volume(i), **row} for i, row in enumerate(data, start=1)]
            )
    params = {"order_by": order} if order else {}
    expected = listed(client.get("/volumes", params=params))
    assert sorted(expected) == list(range(1, len(data) + 1))
    forward = pages_from(client, client.get("/volumes", params={**params, "page_size": size}), "next")
    assert [row for page in forward for row in page] == expected
    assert all(len(page) == size for page in forward[:-1])
    last = client.get("/volumes", params={**params, "page_size": size})
    for _ in range(len(forward) - 1):
        last = client.get(last.links["next"]["url"])
    assert "next" not in last.links
    backward = pages_from(client, last, "prev")
    assert list(reversed(backward)) == forward
