"""The ``restly`` command line (also ``python -m restly``).

- ``restly new NAME [--sqlite|--postgres] [--sync|--async] [--dir PATH]``: write a project;
- ``restly demo [--host] [--port] [--database-url] [--reset]``: serve a sample API.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``restly`` / ``python -m restly``."""
    from . import _new
    from ._demo import add_arguments

    parser = argparse.ArgumentParser(
        prog="restly" if Path(sys.argv[0]).name == "restly" else "python -m restly",
        description="restly command line tools.",
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    new = commands.add_parser(
        "new",
        help="write a new project: app factory, settings, a resource, Alembic, tests",
        description=(
            "Write a runnable project to start from: a package laid out by subject with an "
            "app factory, settings from the environment, a /notes resource whose view has an "
            "authorize rule, Alembic with an initial migration, and tests using "
            "restly.testing.configure_tests. Then: cd NAME && pip install -e \".[test]\" && pytest"
        ),
    )
    _new.add_arguments(new)
    demo = commands.add_parser(
        "demo",
        help="serve a sample API (authors, books, reviews) with Swagger UI at /docs",
        description="Serve a sample bookshop API built with restly views.",
    )
    add_arguments(demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in ``argv``; print the usage when there is none."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "new":
        from ._new import run as new

        return new(args)
    from ._demo import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
