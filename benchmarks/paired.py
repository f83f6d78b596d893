"""Ratios of one run, steadier than over HTTP on a busy machine: ``restly_etag`` against
``restly_async`` on ``get`` and ``patch``, and ``create_keyed`` against ``create`` (``--set
etag``, the default), or restly's views against the ``fastest`` contender on the five
scenarios (``--set fastest``).

```bash
python -m benchmarks.paired                          # SQLite, 6 rounds of 300 requests each
python -m benchmarks.paired --backend postgresql --rounds 4
python -m benchmarks.paired --set fastest --backend postgresql
```

Both apps are imported into one process and driven over ASGI (no sockets; the driver of
``benchmarks.profile``) at ``--concurrency`` requests at a time. Each measurement is a block
of ``--requests`` requests; the blocks of every pair of a ratio follow each other, the order
reversed every other round, so the machine's drift hits both sides of a ratio alike. Prints
each measurement's median req/s and each ratio's median and min–max over the rounds. With
no HTTP layer around the requests, ratios come out lower than over HTTP (the fixed cost of
uvicorn and wrk weighs on both sides there).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import itertools
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .contenders import CONTENDERS
from .dataset import BACKENDS, Database
from .profile import call_asgi
from .scenarios import SCENARIOS

__all__ = ["RATIOS", "RATIO_SETS", "main"]

#: (name, numerator, denominator): each a (contender, scenario).
RATIOS = (
    ("etag ÷ plain, get", ("restly_etag", "get"), ("restly_async", "get")),
    ("etag ÷ plain, patch", ("restly_etag", "patch"), ("restly_async", "patch")),
    ("create_keyed ÷ create, plain view", ("restly_async", "create_keyed"), ("restly_async", "create")),
    ("create_keyed ÷ create, etag view", ("restly_etag", "create_keyed"), ("restly_etag", "create")),
)
#: restly's views against the practical limit of the stack (issue 17's targets).
FASTEST = tuple(
    (f"{contender} ÷ fastest, {scenario}", (contender, scenario), ("fastest", scenario))
    for scenario in ("list50", "get", "create", "patch", "list1000")
    for contender in ("restly_async", "restly_sync")
)
RATIO_SETS = {"etag": RATIOS, "fastest": FASTEST}


async def _rate(app: Any, order: Any, total: int, concurrency: int) -> float:
    """Requests per second of the next ``total`` requests; fails on any non-2xx answer."""
    remaining = itertools.count(total, -1)
    failed: list[int] = []

    async def worker() -> None:
        while next(remaining) > 0:
            request = next(order)
            keyed = {"Idempotency-Key": f'"{uuid.uuid4()}"'} if request.keyed else None
            status = await call_asgi(app, request, keyed)
            if status >= 300:
                failed.append(status)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    if failed:
        raise RuntimeError(f"{len(failed)} answers were not 2xx: {sorted(set(failed))}")
    return total / seconds


async def measure(
    apps: dict[str, Any],
    ratios: Any,
    rounds: int,
    requests: int,
    concurrency: int,
    reset: Callable[[], None] | None = None,
) -> dict[Any, list[float]]:
    """Req/s of every measurement of ``ratios``, per round; ``reset`` (the database back to
    its seeded state) runs after each measurement of a writing scenario, as in the runner."""
    pairs = list(dict.fromkeys(side for _, *sides in ratios for side in sides))
    orders = {scenario: itertools.cycle(SCENARIOS[scenario].requests()) for _, scenario in pairs}
    rates: dict[Any, list[float]] = {pair: [] for pair in pairs}
    first = next(iter(apps.values()))
    async with first.router.lifespan_context(first):
        for contender, scenario in pairs:  # compiled SQL, connections
            await _rate(apps[contender], orders[scenario], min(100, requests), concurrency)
            if reset is not None and SCENARIOS[scenario].writes:
                reset()
        for round_ in range(rounds):
            for pair in pairs if round_ % 2 == 0 else pairs[::-1]:
                contender, scenario = pair
                rates[pair].append(await _rate(apps[contender], orders[scenario], requests, concurrency))
                if reset is not None and SCENARIOS[scenario].writes:
                    reset()
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.paired", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--set", choices=list(RATIO_SETS), default="etag", help="which ratios")
    args = parser.parse_args(argv)
    ratios = RATIO_SETS[args.set]
    with tempfile.TemporaryDirectory(prefix="restly-paired-") as workdir:
        database = Database.create(args.backend, Path(workdir))
        database.seed()
        os.environ.update(database.environ())
        names = dict.fromkeys(side[0] for _, *sides in ratios for side in sides)
        apps = {name: importlib.import_module(CONTENDERS[name]).app for name in names}
        rates = asyncio.run(
            measure(apps, ratios, args.rounds, args.requests, args.concurrency, database.reset)
        )
    for (contender, scenario), values in rates.items():
        print(f"{contender:13} {scenario:13} {statistics.median(values):7.0f} req/s  {[round(v) for v in values]}")
    for name, top, bottom in ratios:
        values = [a / b for a, b in zip(rates[top], rates[bottom])]
        print(f"{name:36} {statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
