"""Profile one scenario against one contender, in-process, and print the hot spots.

The app is called directly over ASGI (no sockets, no HTTP client), so the profile shows
the contender's own work: routing, validation, SQLAlchemy, serialization::

    python -m benchmarks.profile --contender restly_async --scenario list50
    python -m benchmarks.profile --contender handwritten --scenario get --profiler cprofile

Uses pyinstrument when installed (``pip install pyinstrument``), else cProfile.
Run it as a module: run as a script, this file would shadow the stdlib ``profile``.
"""

from __future__ import annotations

if not __package__:  # pragma: no cover - guard against `python benchmarks/profile.py`
    raise SystemExit("run it as a module: python -m benchmarks.profile --help")

import argparse
import asyncio
import gc
import importlib
import importlib.util
import itertools
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, event

from .contenders import CONTENDERS
from .dataset import BACKENDS, Database
from .scenarios import SCENARIOS, Request

__all__ = ["call_asgi", "main"]


async def call_asgi(app: Any, request: Request, extra: dict[str, str] | None = None) -> int:
    """Send ``request`` (with ``extra`` headers) straight to the ASGI ``app``; return the
    response status."""
    url = urlsplit(request.path)
    body = request.body_bytes()
    headers = [(b"host", b"bench")]
    headers += [(name.lower().encode(), value.encode()) for name, value in (extra or {}).items()]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": request.method, "scheme": "http", "path": url.path,
        "raw_path": url.path.encode(), "query_string": url.query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def drive(app: Any, order: Iterator[Request], total: int, concurrency: int) -> dict[int, int]:
    """Send the next ``total`` requests, ``concurrency`` at a time; count them per status."""
    remaining = itertools.count(total, -1)
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while next(remaining) > 0:
            request = next(order)
            keyed = {"Idempotency-Key": f'"{uuid.uuid4()}"'} if request.keyed else None
            status = await call_asgi(app, request, keyed)
            statuses[status] = statuses.get(status, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def profile_app(
    app: Any, requests: list[Request], total: int, concurrency: int, profiler: Any
) -> tuple[dict[int, int], Counter[str]]:
    """Warm up untimed, then drive ``total`` requests inside ``profiler`` (one event loop:
    the engine's pool belongs to the loop that first used it)."""
    # One cycle through both runs: a write scenario's requests never repeat a change.
    order = itertools.cycle(requests)
    async with app.router.lifespan_context(app):
        await drive(app, order, min(200, total), concurrency)  # compiled SQL, connections
        with _count_sql() as statements, profiler:
            statuses = await drive(app, order, total, concurrency)
    return statuses, statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--contender", choices=list(CONTENDERS), default="handwritten")
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="list50")
    parser.add_argument("--requests", type=int, default=2000, help="requests to profile (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--profiler", choices=("auto", "pyinstrument", "cprofile", "none"), default="auto",
                        help="none: no profiler, print the in-process requests per second")
    parser.add_argument("--top", type=int, default=40, help="cProfile rows to print (default 40)")
    args = parser.parse_args(argv)
    name = args.profiler
    if name == "auto":
        name = "pyinstrument" if importlib.util.find_spec("pyinstrument") else "cprofile"

    with tempfile.TemporaryDirectory(prefix="restly-profile-") as workdir:
        database = Database.create(args.backend, Path(workdir))
        database.seed()
        os.environ.update(database.environ())
        app = importlib.import_module(CONTENDERS[args.contender]).app
        requests = SCENARIOS[args.scenario].requests()
        profiler, report = _profiler(name, args.top)
        statuses, statements = asyncio.run(
            profile_app(app, requests, args.requests, args.concurrency, profiler)
        )
    report()
    expected = SCENARIOS[args.scenario].status
    print(f"{args.contender} × {args.scenario}: {args.requests} requests, statuses {statuses}")
    if isinstance(profiler, _Timer):
        print(f"{args.requests / profiler.seconds:.0f} requests/s in-process")
        print(f"{profiler.cpu_seconds / args.requests * 1e6:.0f} µs of CPU per request")
        per_request = [count / args.requests for count in profiler.collections]
        print(
            "garbage collections per request (generations 0, 1, 2): "
            + ", ".join(f"{count:.2f}" for count in per_request)
            + f"; {profiler.gc_seconds / args.requests * 1e6:.0f} µs of CPU"
        )
    print(f"SQL statements per request: {sum(statements.values()) / args.requests:.2f}")
    for statement, count in statements.most_common():
        print(f"  {count / args.requests:5.2f} × {' '.join(statement.split())[:300]}")
    if set(statuses) != {expected}:
        print(f"FAILED: expected only {expected} answers; the profile is not representative")
        return 1
    return 0


@contextmanager
def _count_sql() -> Iterator[Counter[str]]:
    """Count the SQL statements every engine executes inside the block, by text."""
    statements: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements[statement] += 1

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def _profiler(name: str, top: int) -> tuple[Any, Callable[[], None]]:
    """A profiler usable as a context manager, and the function that prints its report."""
    if name == "none":
        timer = _Timer()
        return timer, lambda: print(f"{timer.seconds:.3f} s in-process (no profiler)")
    if name == "pyinstrument":
        from pyinstrument import Profiler

        sampler = Profiler(async_mode="disabled")
        return sampler, lambda: print(sampler.output_text(unicode=True, color=False))
    import cProfile
    import pstats

    tracer = cProfile.Profile()
    # Own time, not cumulative: cumulative time of coroutines counts their suspensions.
    return tracer, lambda: pstats.Stats(tracer).sort_stats("tottime").print_stats(top)


class _Timer:
    """Wall and CPU time of the block: for quick in-process comparisons (``--profiler
    none``). CPU time (the whole process: the event loop and aiosqlite's thread) varies much
    less than wall time on a machine that other work shares. Also the garbage collector's
    collections per generation and the CPU time they took (``gc.callbacks``)."""

    seconds = 0.0
    cpu_seconds = 0.0

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.gc_seconds = 0.0
        self._gc_start = 0.0

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.process_time()
        else:
            self.collections[info["generation"]] += 1
            self.gc_seconds += time.process_time() - self._gc_start

    def __enter__(self) -> None:
        gc.callbacks.append(self._collected)
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
        self.cpu_seconds = time.process_time() - self._cpu_start
        gc.callbacks.remove(self._collected)


if __name__ == "__main__":
    raise SystemExit(main())
