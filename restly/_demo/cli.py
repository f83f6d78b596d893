"""The ``demo`` command: check the drivers, print where to look, serve with uvicorn."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["DEFAULT_DATABASE_PATH", "add_arguments", "data_directory", "run"]


def data_directory() -> Path:
    """Where the demo keeps its database: the user's own data folder (``$XDG_DATA_HOME``,
    ``~/.local/share`` or ``%LOCALAPPDATA%``), never a temporary folder other users share."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif os.environ.get("XDG_DATA_HOME"):
        base = Path(os.environ["XDG_DATA_HOME"])
    else:
        base = Path.home() / ".local" / "share"
    return base / "restly"


DEFAULT_DATABASE_PATH = data_directory() / "demo.sqlite3"

_DRIVER_MODULES = {"aiosqlite": "aiosqlite", "asyncpg": "asyncpg", "psycopg": "psycopg"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options to ``parser``."""
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="start from the sample data again: drop the demo's tables first",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help=(
            "SQLite or PostgreSQL URL, e.g. postgresql://user@localhost/demo; the async and "
            f"sync drivers are chosen for you (default: sqlite:///{DEFAULT_DATABASE_PATH})"
        ),
    )


def run(args: argparse.Namespace) -> int:
    """Serve the demo until interrupted; return the process exit status."""
    try:
        import uvicorn
    except ImportError:
        print(
            "The demo needs uvicorn to serve HTTP. Install it with:\n\n"
            '    pip install -e ".[demo]"\n',
            file=sys.stderr,
        )
        return 2
    from .app import async_url, create_app, sync_url

    if args.database_url is None:
        DEFAULT_DATABASE_PATH.parent.mkdir(parents=True, exist_ok=True)
        args.database_url = f"sqlite:///{DEFAULT_DATABASE_PATH}"
    try:
        urls = (async_url(args.database_url), sync_url(args.database_url))
    except Exception as error:  # noqa: BLE001 - any bad URL is a usage error
        print(f"restly demo: {error}", file=sys.stderr)
        return 2
    missing = _missing_drivers(url.get_driver_name() for url in urls)
    if missing:
        print(
            f"restly demo: this database needs the driver(s) {', '.join(missing)}; install "
            f"with: pip install {' '.join(missing)}",
            file=sys.stderr,
        )
        return 2
    app = create_app(args.database_url, reset=args.reset)
    _print_banner(args)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _missing_drivers(drivers: Iterable[str]) -> list[str]:
    """The driver packages among ``drivers`` that cannot be imported (pysqlite is stdlib)."""
    missing = set()
    for driver in drivers:
        module = _DRIVER_MODULES.get(driver)
        if module is None:
            continue
        try:
            importlib.import_module(module)
        except ImportError:
            missing.add(module)
    return sorted(missing)


def _print_banner(args: argparse.Namespace) -> None:
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    root = f"http://{host}:{args.port}"
    database = make_url(args.database_url).render_as_string(hide_password=True)
    print(
        f"restly demo: authors, books and reviews on {database}"
        f"{' (reset to the sample data)' if args.reset else ''}\n"
        "  (kept between runs; start afresh with --reset)\n"
        f"  API root    {root}/\n"
        f"  Swagger UI  {root}/docs\n"
        f"  Try         curl '{root}/books?author_id=1&order_by=-year'\n"
        f"              curl -X POST {root}/authors -H 'content-type: application/json' "
        f"-d '{{\"name\": \"Stanisław Lem\", \"born\": 1921}}'\n"
        "Press Ctrl+C to stop.",
        flush=True,
    )
