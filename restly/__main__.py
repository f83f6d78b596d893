"""The ``restly`` command line: ``python -m restly demo [--host] [--port] [--database-url]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m restly``."""
    from ._demo import add_arguments

    parser = argparse.ArgumentParser(
        prog="python -m restly",
        description="restly command line tools.",
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
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
    from ._demo import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
