"""The benchmark runner: ``python -m benchmarks [options]``.

Seeds a fresh database, serves each contender under uvicorn, measures every scenario over
interleaved rounds, measures startup cost in fresh processes, then prints the markdown
table and writes ``results/<timestamp>.json`` and ``results/latest.md``::

    python -m benchmarks --quick                            # smoke run, ~1 minute
    python -m benchmarks --contenders handwritten,restly_async --rounds 5

Exits with status 1, writing nothing, if any contender answers a non-2xx status, drops a
connection, or does different work than the others. A startup build that fails is
recorded as FAILED in the results (the other cells stay) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.db.pgbouncer_server import PgBouncerError, run_pgbouncer

from .contenders import BASELINE, CONTENDERS, FASTEST
from .db import POOL_SIZE
from .dataset import BACKENDS, POSTGRES_URL_ENV, Database
from .report import render_markdown, summarize, write
from .scenarios import SCENARIOS
from .server import REPO_ROOT, ServerError, connections_per_contender, split_cpus
from .startup import BUILDERS, SIZES, measure_startup, startup_failures
from .throughput import BenchmarkError, Settings, run_throughput
from .wrk import wrk_available

__all__ = ["main"]

STARTUP = "startup"
DEFAULT_CONTENDERS = (BASELINE, "restly_async", FASTEST)
RESULTS_DIR = Path(__file__).with_name("results")
# Above this 1-minute load average other work was running: the report says so.
BUSY_LOAD_AVERAGE = 0.5


def _names(choices: list[str]) -> Any:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or 'empty list'}; choose from {', '.join(choices)}"
            )
        return names

    return parse


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 s, startup once")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per measurement (default 5; quick 1)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up before each (default 2; quick 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    parser.add_argument("--backend", choices=BACKENDS, default="sqlite",
                        help=f"database (postgresql reads {POSTGRES_URL_ENV})")  # fmt: skip
    parser.add_argument("--scenarios", type=_names([*SCENARIOS, STARTUP]),
                        default=[*SCENARIOS, STARTUP], help="comma-separated (default: all)")  # fmt: skip
    parser.add_argument("--contenders", type=_names(list(CONTENDERS)), default=list(DEFAULT_CONTENDERS),
                        help=f"comma-separated from {', '.join(CONTENDERS)} (default: handwritten,restly_async)")  # fmt: skip
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator (auto: wrk when installed)")  # fmt: skip
    parser.add_argument("--startup-sizes", type=lambda text: [int(n) for n in text.split(",")],
                        default=list(SIZES), help="resource counts (default 10,50,200)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes per contender (default 1; more: nothing pinned)")  # fmt: skip
    parser.add_argument("--pgbouncer", action="store_true",
                        help="postgresql only: contenders connect through a PgBouncer (transaction pooling)")  # fmt: skip
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (1 if quick else 3)
    args.duration = args.duration or (1.0 if quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.startup_repeats = 1 if quick else 3
    if args.loadgen == "auto":
        args.loadgen = "wrk" if wrk_available() else "python"
    elif args.loadgen == "wrk" and not wrk_available():
        parser.error("wrk is not installed (see benchmarks/README.md) — or use --loadgen python")
    if min(args.rounds, args.concurrency, args.workers) < 1 or args.duration <= 0:
        parser.error("--rounds, --concurrency, --workers and --duration must be positive")
    if args.pgbouncer and args.backend != "postgresql":
        parser.error("--pgbouncer needs --backend postgresql")
    return args


def describe_environment(args: argparse.Namespace) -> dict[str, Any]:
    server_cpus, load_cpus = split_cpus() if args.workers == 1 else (None, None)
    versions = {}
    for package in ("fastapi", "starlette", "pydantic", "sqlalchemy", "uvicorn", "aiosqlite", "asyncpg", "restly"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "timestamp": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "git_commit": commit or None,
        "backend": args.backend,
        "rounds": args.rounds,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "concurrency": args.concurrency,
        "loadgen": args.loadgen,
        "workers": args.workers,
        "pgbouncer": args.pgbouncer,
        "server_cpus": sorted(server_cpus) if server_cpus else "unpinned",
        "loadgen_cpus": sorted(load_cpus) if load_cpus else "unpinned",
        "uvicorn_loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "uvicorn_http": "httptools" if importlib.util.find_spec("httptools") else "h11",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": _load_average(),
        "versions": versions,
    }


def check_connections(database: Database, args: argparse.Namespace) -> None:
    """Fail before any server starts when the contenders' pools cannot all connect.

    Every contender's server is up for the whole run, each with its own pool; PostgreSQL
    refuses connections past ``max_connections``, which would surface mid-run as 500s.
    Through PgBouncer only its server pool reaches PostgreSQL.
    """
    free = database.free_connections()
    if free is None:
        return
    per_contender = connections_per_contender(args.workers)
    wanted = POOL_SIZE if args.pgbouncer else len(args.contenders) * per_contender
    wanted += 1  # the runner's own connection (reset between write measurements)
    if wanted > free:
        raise BenchmarkError(
            f"PostgreSQL accepts {free} more connections (max_connections minus those open "
            f"now), but {len(args.contenders)} contenders × {per_contender} pooled connections "
            f"+ 1 for the runner need {wanted}. Run fewer contenders at once (--contenders), "
            "connect through --pgbouncer, close other clients, or raise max_connections."
        )


def _load_average() -> float | None:
    """The 1-minute load average: how busy the machine was before the benchmark began."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "meta": describe_environment(args),
        "contenders": args.contenders,
        "throughput": {},
        "server_peak_rss_mb": {},
        "startup": {},
        "failures": [],
        "warnings": [],
    }
    scenarios = [SCENARIOS[name] for name in args.scenarios if name != STARTUP]
    settings = Settings(
        args.rounds, args.duration, args.warmup, args.concurrency, args.loadgen, args.workers
    )
    try:
        if scenarios:
            with ExitStack() as stack:
                workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="restly-bench-"))
                database = Database.create(args.backend, Path(workdir))
                check_connections(database, args)
                if args.pgbouncer:
                    direct = database.sync_url.split("://", 1)[1]
                    through = stack.enter_context(run_pgbouncer(direct, server_pool=POOL_SIZE))
                    database = dataclasses.replace(database, pgbouncer=through)
                print(f"seeding {args.backend} …", flush=True)
                database.seed()
                print(f"throughput: {', '.join(args.contenders)} × {', '.join(s.name for s in scenarios)}")
                samples, rss, warnings = run_throughput(
                    database, args.contenders, scenarios, settings,
                    log=lambda line: print(line, flush=True),
                )  # fmt: skip
            results["throughput"] = summarize(samples)
            results["server_peak_rss_mb"] = rss
            results["warnings"] = warnings
        # `fastest` is a limit for requests, not a way to declare resources: no startup run.
        starting = [name for name in args.contenders if name in BUILDERS]
        if STARTUP in args.scenarios and starting:
            print(f"startup: {', '.join(starting)} × {args.startup_sizes} resources", flush=True)
            results["startup"] = measure_startup(
                starting, args.startup_sizes, args.startup_repeats, str(REPO_ROOT)
            )
            results["failures"] = startup_failures(results["startup"])
    except (BenchmarkError, ServerError, PgBouncerError, RuntimeError, OSError) as error:
        print(f"\nBENCHMARK FAILED — no results written.\n{error}", file=sys.stderr)
        return 1
    results["meta"]["load_average_at_end"] = _load_average()
    busy = results["meta"]["load_average_at_start"] or 0.0
    if busy > BUSY_LOAD_AVERAGE:
        results["warnings"].append(
            f"the machine was busy before the run (1-min load average {busy:.1f}): other "
            "processes competed for the CPUs; absolute numbers are low and noisy, ratios less so"
        )
    json_path, markdown_path = write(results, args.results_dir)
    print("\n" + render_markdown(results))
    print(f"wrote {json_path} and {markdown_path}")
    if results["failures"]:
        print("\nBENCHMARK FAILED — see Failures above.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
