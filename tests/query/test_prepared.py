"""List statements are prepared once per request shape and reused with new values.

One app answers a sequence of requests that share shapes but not values, on every backend;
each answer is checked against the same filter computed in Python over the stored rows, so
a value leaking from one request into the next, or a list parameter bound with the wrong
length, would show.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import DateTime, String, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.query import _prepared

pytestmark = pytest.mark.anyio


class Base(DeclarativeBase):
    pass


class Gadget(Base):
    __tablename__ = "pl_gadget"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(40))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


KINDS = ("lamp", "desk", "chair")
ROWS = [
    {
        "id": index,
        "name": f"{KINDS[index % 3]} number {index}" + (" deluxe" if index % 4 == 0 else ""),
        "kind": KINDS[index % 3],
        "size": (index * 7) % 11,
        "note": None if index % 5 == 0 else f"note {index % 2}",
        "made_at": datetime(2024, 1, 1 + index % 28, tzinfo=timezone.utc),
    }
    for index in range(1, 41)
]


@pytest.fixture(params=["async", "sync"])
def view_base(request: pytest.FixtureRequest) -> type:
    return fr.AsyncRestView if request.param == "async" else fr.RestView


@pytest.fixture
async def gadgets(database: Any, fr_globals: fr.FRGlobals, view_base: type, client_for: Any) -> Any:
    with fr_globals.get_engine().begin() as connection:
        connection.execute(insert(Gadget), ROWS)
    app = FastAPI()
    view = type(
        "GadgetView",
        (view_base,),
        {"prefix": "/gadgets", "model": Gadget, "include_pagination_metadata": True},
    )
    fr.include_view(app, view)
    return view, client_for(app)


def expected(keep: Any, *, key: Any = None, page: int = 1, size: int = 1000) -> tuple[list[int], int]:
    rows = sorted((row for row in ROWS if keep(row)), key=key or (lambda row: row["id"]))
    ids = [row["id"] for row in rows]
    return ids[(page - 1) * size : page * size], len(ids)


# Each shape appears several times with other values, in an interleaved order.
REQUESTS: list[tuple[dict[str, Any], Any]] = []
for kind in (*KINDS, "lamp"):
    REQUESTS.append(({"kind": kind}, lambda row, kind=kind: row["kind"] == kind))
for kinds in (("lamp", "desk"), ("chair",), ("chair", "desk", "lamp"), ("desk", "chair")):
    REQUESTS.append(
        ({"kind": ",".join(kinds)}, lambda row, kinds=kinds: row["kind"] in kinds)
    )
    REQUESTS.append(
        ({"kind__ne": ",".join(kinds)}, lambda row, kinds=kinds: row["kind"] not in kinds)
    )
for low, high in ((2, 5), (0, 10), (7, 8), (3, 3)):
    REQUESTS.append(
        (
            {"size__gte": low, "size__lt": high},
            lambda row, low=low, high=high: low <= row["size"] < high,
        )
    )
for words in ("deluxe", "DESK number", "number 1", "chair deluxe", "zzz"):
    REQUESTS.append(
        (
            {"name__contains": words},
            lambda row, words=words: all(w.lower() in row["name"] for w in words.split()),
        )
    )
for null in ("true", "false", "true"):
    REQUESTS.append(
        ({"note__isnull": null}, lambda row, null=null: (row["note"] is None) == (null == "true"))
    )
for day in (3, 10, 27):
    REQUESTS.append(
        (
            {"made_at__gt": f"2024-01-{day:02d}T00:00:00Z", "kind": "desk"},
            lambda row, day=day: row["made_at"] > datetime(2024, 1, day, tzinfo=timezone.utc)
            and row["kind"] == "desk",
        )
    )


async def test_same_shapes_with_new_values_answer_right(gadgets: Any) -> None:
    view, client = gadgets
    for params, keep in REQUESTS * 2:
        response = await client.get("/gadgets", params=params)
        assert response.status_code == 200, (params, response.text)
        body = response.json()
        ids, total = expected(keep)
        assert ([item["id"] for item in body["items"]], body["total"]) == (ids, total), params
    # 9 shapes: kind one value, kind list, kind__ne list, size range, contains with one,
    # two words, isnull true, isnull false, datetime + kind (each shape cached once)
    assert len(view.__restly_compiled__.list_statements) == 9


async def test_pages_sorts_and_totals_per_request(gadgets: Any) -> None:
    _, client = gadgets
    by_size = lambda row: (-row["size"], -row["id"])
    for page in (1, 3, 2, 9):
        params = {"order_by": "-size", "page": page, "page_size": 4, "kind": "lamp,chair"}
        body = (await client.get("/gadgets", params=params)).json()
        ids, total = expected(lambda row: row["kind"] != "desk", key=by_size, page=page, size=4)
        assert ([item["id"] for item in body["items"]], body["total"]) == (ids, total)
        assert body["total_pages"] == -(-total // 4)
    # unpaginated: LIMIT max_page_size, no OFFSET
    body = (await client.get("/gadgets", params={"order_by": "name"})).json()
    assert [item["id"] for item in body["items"]] == expected(
        lambda row: True, key=lambda row: (row["name"], row["id"])
    )[0]


async def test_cache_is_bounded_and_later_shapes_still_answer(
    gadgets: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    view, client = gadgets
    monkeypatch.setattr(_prepared, "MAX_SHAPES", 2)
    for params, keep in REQUESTS:
        body = (await client.get("/gadgets", params=params)).json()
        assert [item["id"] for item in body["items"]] == expected(keep)[0], params
    assert len(view.__restly_compiled__.list_statements) == 2
