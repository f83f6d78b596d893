"""Startup cost: import + declare N models and their resources + mount + first ``openapi()``.

Each measurement runs in a fresh interpreter, so imports are really paid::

    python -m benchmarks.startup handwritten 200     # prints one JSON line of phase timings

The parent side, ``measure_startup``, runs those subprocesses and keeps medians. Heavy
imports happen inside the builders, after the clock starts.

Every contender's code loads from compiled bytecode, as an installed package's does:
FastAPI, pydantic and SQLAlchemy come precompiled from site-packages, but restly (installed
in editable mode from the checkout) and the handwritten app are compiled from source in
every process when ``PYTHONDONTWRITEBYTECODE`` is set, which alone adds ~35 ms to restly's
import. So the probes share a private bytecode cache (``PYTHONPYCACHEPREFIX``, a temporary
directory) that one untimed run per contender fills first.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["BUILDERS", "measure_startup", "startup_failures"]

SIZES = (10, 50, 200)
PHASES = ("import_s", "declare_s", "mount_s", "openapi_s", "total_s")


def declare_models(count: int) -> list[type]:
    """``count`` mapped classes shaped like ``Book``, as a user would write them one by one."""
    from datetime import datetime

    from sqlalchemy import String, Text
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    def model(index: int) -> type:
        namespace = {
            "__module__": __name__,
            "__tablename__": f"resource_{index}",
            "__annotations__": {
                "id": Mapped[int], "title": Mapped[str], "pages": Mapped[int],
                "price": Mapped[float], "in_stock": Mapped[bool],
                "published_at": Mapped[datetime], "summary": Mapped[str | None],
                "status": Mapped[str],
            },  # fmt: skip
            "id": mapped_column(primary_key=True, autoincrement=True),
            "title": mapped_column(String(200)),
            "summary": mapped_column(Text),
            "status": mapped_column(String(20), index=True),
        }
        return type(f"Resource{index}", (Base,), namespace)

    return [model(index) for index in range(count)]


def build_handwritten(count: int, clock: Callable[[str], None]) -> Any:
    """The baseline: four Pydantic schemas and a five-route router per model."""
    from datetime import datetime

    from fastapi import FastAPI
    from pydantic import ConfigDict, Field, create_model
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from .contenders.crud import ListParams, crud_router, session_dependency

    clock("import_s")
    fields: dict[str, Any] = {
        "title": (str, Field(max_length=200)), "pages": (int, ...), "price": (float, ...),
        "in_stock": (bool, ...), "published_at": (datetime, ...),
        "summary": (str | None, None), "status": (str, Field(max_length=20)),
    }  # fmt: skip
    optional = {name: (kind | None, None) for name, (kind, _default) in fields.items()}
    resources = []
    for model in declare_models(count):
        name = model.__name__
        create = create_model(f"{name}Create", **fields)
        read = create_model(
            f"{name}Read", __config__=ConfigDict(from_attributes=True), id=(int, ...), **fields
        )
        update = create_model(f"{name}Update", **optional)
        # One shared query model: FastAPI 0.165 caches query-model fields in an
        # lru_cache(maxsize=128), so more than 128 distinct query models make
        # app.openapi() fail with a KeyError. A user with many resources shares one.
        resources.append((model, read, create, update, ListParams))
    clock("declare_s")
    get_session = session_dependency(async_sessionmaker(create_async_engine("sqlite+aiosqlite://")))
    app = FastAPI()
    for model, *schemas in resources:
        router = crud_router(model, *schemas, get_session)
        app.include_router(router, prefix=f"/{model.__tablename__}")
    clock("mount_s")
    return app


def build_restly(count: int, clock: Callable[[str], None], *, sync: bool, etag: bool = False) -> Any:
    """restly: one view class per model, mounted with ``include_view``."""
    from fastapi import FastAPI

    import restly as fr

    clock("import_s")
    if sync:
        fr.configure(database_url="sqlite://")
    else:
        fr.configure(async_database_url="sqlite+aiosqlite://")
    base = fr.RestView if sync else fr.AsyncRestView
    views = [
        type(
            f"{model.__name__}View",
            (base,),
            {"prefix": f"/{model.__tablename__}", "model": model, "include_pagination_metadata": True, "etag": etag},
        )
        for model in declare_models(count)
    ]
    clock("declare_s")
    app = FastAPI()
    fr.include_view(app, *views)
    clock("mount_s")
    return app


BUILDERS: dict[str, Callable[[int, Callable[[str], None]], Any]] = {
    "handwritten": build_handwritten,
    "restly_async": lambda count, clock: build_restly(count, clock, sync=False),
    "restly_sync": lambda count, clock: build_restly(count, clock, sync=True),
    "restly_etag": lambda count, clock: build_restly(count, clock, sync=False, etag=True),
}


def run_once(contender: str, count: int) -> dict[str, float]:
    """Build the app in this process and return the phase durations in seconds."""
    start = last = time.perf_counter()
    timings: dict[str, float] = {}

    def clock(phase: str) -> None:
        nonlocal last
        now = time.perf_counter()
        timings[phase] = now - last
        last = now

    app = BUILDERS[contender](count, clock)
    schema = app.openapi()
    clock("openapi_s")
    timings["total_s"] = time.perf_counter() - start
    expected_paths = 2 * count  # "/prefix" and "/prefix/{id}" per resource
    if len(schema["paths"]) != expected_paths:
        raise RuntimeError(f"{contender}: {len(schema['paths'])} OpenAPI paths, expected {expected_paths}")
    # ru_maxrss is in KiB on Linux.
    timings["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return timings


def measure_startup(
    contenders: Sequence[str], sizes: Sequence[int], repeats: int, cwd: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{contender: {size: {phase: median seconds}}}``, each run in a fresh interpreter.

    A build that fails becomes ``{"error": <last line of its traceback>}`` for that cell,
    so one broken size does not hide the others; the runner then exits with status 1.
    """
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="restly-bench-pyc-") as cache:
        env = bytecode_cached_env(cache)
        for contender in contenders:
            _probe(contender, min(sizes), cwd, env)  # untimed: fills the bytecode cache
        for contender in contenders:
            results[contender] = {}
            for size in sizes:
                results[contender][str(size)] = _median_of_runs(contender, size, repeats, cwd, env)
    return results


def bytecode_cached_env(cache_dir: str) -> dict[str, str]:
    """This process's environment, with Python writing and reading bytecode in ``cache_dir``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def _probe(
    contender: str, size: int, cwd: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.startup", contender, str(size)],
        cwd=cwd, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _median_of_runs(
    contender: str, size: int, repeats: int, cwd: str, env: dict[str, str]
) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        completed = _probe(contender, size, cwd, env)
        if completed.returncode != 0:
            lines = completed.stderr.strip().splitlines() or [f"exit status {completed.returncode}"]
            return {"error": lines[-1]}
        run = json.loads(completed.stdout.strip().splitlines()[-1])
        run["wall_s"] = time.perf_counter() - started
        runs.append(run)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def startup_failures(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """One line per failed cell of ``measure_startup``'s result."""
    return [
        f"startup of {contender} with {size} resources failed: {row['error']}"
        for contender, by_size in results.items()
        for size, row in by_size.items()
        if "error" in row
    ]


if __name__ == "__main__":
    print(json.dumps(run_once(sys.argv[1], int(sys.argv[2]))))
