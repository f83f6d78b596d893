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
import importlib
import importlib.util
import itertools
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .contenders import CONTENDERS
from .dataset import BACKENDS, Database
from .scenarios import SCENARIOS, Request

__all__ = ["call_asgi", "main"]


async def call_asgi(app: Any, request: Request) -> int:
    """Send ``request`` straight to the ASGI ``app``; return the response status."""
    url = urlsplit(request.path)
    body = request.body_bytes()
    headers = [(b"host", b"bench")]
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


async def drive(app: Any, requests: list[Request], total: int, concurrency: int) -> dict[int, int]:
    """Send ``total`` requests, ``concurrency`` at a time; return a count per status."""
    order = itertools.cycle(requests)
    remaining = itertools.count(total, -1)
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while next(remaining) > 0:
            status = await call_asgi(app, next(order))
            statuses[status] = statuses.get(status, 0) + 1

    async with app.router.lifespan_context(app):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--contender", choices=list(CONTENDERS), default="handwritten")
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="list50")
    parser.add_argument("--requests", type=int, default=2000, help="requests to profile (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite")
    parser.add_argument("--profiler", choices=("auto", "pyinstrument", "cprofile"), default="auto")
    parser.add_argument("--top", type=int, default=40, help="cProfile rows to print (default 40)")
    args = parser.parse_args(argv)
    profiler = args.profiler
    if profiler == "auto":
        profiler = "pyinstrument" if importlib.util.find_spec("pyinstrument") else "cprofile"

    with tempfile.TemporaryDirectory(prefix="restly-profile-") as workdir:
        database = Database.create(args.backend, Path(workdir))
        database.seed()
        os.environ.update(database.environ())
        app = importlib.import_module(CONTENDERS[args.contender]).app
        requests = SCENARIOS[args.scenario].requests()
        # One untimed pass warms caches (compiled SQL, schemas, connections).
        asyncio.run(drive(app, requests, min(200, args.requests), args.concurrency))
        run = lambda: asyncio.run(drive(app, requests, args.requests, args.concurrency))  # noqa: E731
        statuses = _profiled(run, profiler, args.top)
    expected = SCENARIOS[args.scenario].status
    print(f"{args.contender} × {args.scenario}: {args.requests} requests, statuses {statuses}")
    if set(statuses) != {expected}:
        print(f"FAILED: expected only {expected} answers; the profile is not representative")
        return 1
    return 0


def _profiled(run: Any, profiler: str, top: int) -> dict[int, int]:
    if profiler == "pyinstrument":
        from pyinstrument import Profiler

        with Profiler(async_mode="disabled") as profile:
            statuses = run()
        print(profile.output_text(unicode=True, color=False))
        return statuses
    import cProfile
    import pstats

    with cProfile.Profile() as profile:
        statuses = run()
    # Own time, not cumulative: cumulative time of coroutines counts their suspensions.
    pstats.Stats(profile).sort_stats("tottime").print_stats(top)
    return statuses


if __name__ == "__main__":
    raise SystemExit(main())
