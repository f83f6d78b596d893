"""``python -m benchmarks.soak``: the long soak run of SPEC §12 (the suite runs a short one,
``tests/deploy/test_soak.py``).

One uvicorn worker serving ``tests/deploy/app.py`` (an async view, a sync view, a batch
route) on SQLite and on PostgreSQL; a warm-up, then ``--requests`` mixed requests (create,
keyed create and its retry, get, list, patch, delete, batch) from 16 clients; resident
memory, file descriptors and PostgreSQL connections after the warm-up and after the run,
every status, and the rows checked against the answers::

    python -m benchmarks.soak                                  # 100,000 requests, both backends
    python -m benchmarks.soak --backends sqlite --requests 20000

PostgreSQL: ``RESTLY_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
the deploy tests' tables are dropped and recreated there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from tests.conftest import postgres_urls, sqlite_urls
from tests.deploy.soak import POOL_SIZE, soak

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--samples", type=int, default=10, help="measure resident memory this many times"
    )
    parser.add_argument(
        "--pool-size", type=int, default=POOL_SIZE, help="each engine's pool size in the app"
    )
    args = parser.parse_args(argv)
    failed = False
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as directory:
            urls = sqlite_urls(Path(directory)) if backend == "sqlite" else postgres_urls()
            result = asyncio.run(
                soak(
                    urls, requests=args.requests, warmup=args.warmup, samples=args.samples,
                    pool_size=args.pool_size,
                )  # fmt: skip
            )
        print(result.report(), flush=True)
        failed |= result.surprises > 0 or result.rss_growth >= 0.05
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
