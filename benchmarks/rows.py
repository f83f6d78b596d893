"""Rows to bytes, in process: restly's two row encoders against the ``fastest`` contender's.

``python -m benchmarks.rows`` reads pages of the benchmark's ``book`` table (1,000 and 50
rows, nine columns, from an in-memory SQLite database) and measures, in CPU µs per call
(``time.process_time``, the least of several repeats, each round printed):

- ``pydantic``: ``RowSerializer`` with its msgspec route switched off (a dict per row, one
  pydantic-core serializer call);
- ``msgspec``: ``RowSerializer`` as views use it (the type check per column, structs, one
  msgspec call);
- ``orjson``: what ``benchmarks/contenders/fastest.py`` does (a dict per row, one
  ``orjson.dumps``), which has no type check.

It checks first that the three give the same bytes for the page.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import timeit
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

import restly as fr
from restly.resource._rows import RowSerializer

from .models import Author, Base, Book

__all__ = ["main"]


def _rows(count: int) -> list[Any]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.execute(insert(Author), [{"id": 1, "name": "a", "email": "e", "born": 1900}])
        start = datetime(2020, 1, 1)
        session.execute(
            insert(Book),
            [
                {"title": f"Title {i} “x”", "pages": i, "price": i * 1.5, "in_stock": i % 2 == 0,
                 "published_at": start + timedelta(seconds=i * 3601.123457),
                 "summary": None if i % 3 else "sum\nmary", "status": "draft", "author_id": 1}
                for i in range(count)
            ],
        )  # fmt: skip
        return list(session.execute(select(*Book.__table__.c)).all())


def _cpu_us(call: Callable[[], object], number: int) -> float:
    timer = timeit.Timer(call, timer=time.process_time)
    return min(timer.repeat(number=number, repeat=7)) / number * 1e6


def main() -> None:
    """Print the CPU µs per call of each encoder, for each page size, over ``--rounds``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    schema = fr.create_schema_from_model(Book)
    names = tuple(schema.model_fields)
    rows = RowSerializer.for_schema(schema, names)
    assert rows is not None and rows.structs is not None
    pydantic_only = dataclasses.replace(rows, structs=None)
    page = _rows(1000)
    for size, number in ((1000, 100), (50, 2000), (1, 20000)):
        part = page[:size]
        encoders: dict[str, Callable[[], bytes]] = {
            "pydantic": lambda: pydantic_only.dump_many(part),
            "msgspec": lambda: rows.dump_many(part),
            "orjson": lambda: orjson.dumps([dict(zip(names, row)) for row in part]),
        }
        if size == 1:
            encoders = {
                "pydantic": lambda: pydantic_only.dump_one(part[0]),
                "msgspec": lambda: rows.dump_one(part[0]),
                "orjson": lambda: orjson.dumps(dict(zip(names, part[0]))),
            }
        outputs = {encode() for encode in encoders.values()}
        assert len(outputs) == 1, "the encoders disagree"
        label = "dump_one" if size == 1 else f"dump_many({size})"
        for round_ in range(1, args.rounds + 1):
            figures = {name: _cpu_us(encode, number) for name, encode in encoders.items()}
            print(
                f"{label:16s} round {round_}: "
                + ", ".join(f"{name} {us:.1f} µs" for name, us in figures.items())
                + f"; msgspec / pydantic {figures['msgspec'] / figures['pydantic']:.2f}"
            )


if __name__ == "__main__":
    main()
