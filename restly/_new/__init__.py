"""``restly new NAME``: write a project to start from.

::

    restly new shop                       # SQLite, async views, in ./shop
    restly new shop --postgres --sync --dir ~/src/shop

The project is laid out by subject (``NAME/notes/``), has an app factory, settings read from
the environment, one resource whose view has an ``authorize`` hook, Alembic wired to the
models with an initial migration, and tests using ``restly.testing.configure_tests``. Its
README starts with the same two commands as restly's: ``pip install -e ".[test]" && pytest``.

The files are the templates in ``templates/`` (shipped in the wheel), rendered by replacing
each ``{{key}}`` with a value of :func:`template_values`: no template engine.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .. import __version__

__all__ = ["Variant", "add_arguments", "check_name", "render", "run", "template_values", "write"]

Database = Literal["sqlite", "postgres"]
Style = Literal["async", "sync"]

_TEMPLATE_SUFFIX = ".tmpl"
_PACKAGE_DIR = "__package__"  # a template folder standing for the project's package
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
# Names a project's package must not take: they would shadow what it imports or runs.
_TAKEN = frozenset(
    {"restly", "fastapi", "sqlalchemy", "pydantic", "starlette", "alembic", "uvicorn",
     "pytest", "httpx", "anyio", "asyncpg", "psycopg", "aiosqlite", "tests", "test",
     "migrations"}
)  # fmt: skip


# The options choosing a variant: destination -> (flag and value, help), the default first.
_CHOICES = {
    "database": (
        ("sqlite", "SQLite, a file next to the project (default)"),
        ("postgres", "PostgreSQL (psycopg for Alembic and sync views, asyncpg for async views)"),
    ),
    "style": (
        ("async", "fr.AsyncRestView and async sessions (default)"),
        ("sync", "fr.RestView, run in FastAPI's threadpool, and sync sessions"),
    ),
}


@dataclass(frozen=True)
class Variant:
    """Which database and which kind of views a new project uses."""

    database: Database = "sqlite"
    style: Style = "async"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``restly new`` to ``parser``."""
    parser.add_argument(
        "name", help="the project's Python package name, e.g. shop or pet_clinic"
    )
    for dest, choices in _CHOICES.items():
        group = parser.add_mutually_exclusive_group()
        for const, help_text in choices:
            group.add_argument(
                f"--{const}", dest=dest, action="store_const", const=const, help=help_text
            )
    parser.add_argument(
        "--dir", type=Path, default=None,
        help="folder to write the project into; must not exist or be empty (default: ./NAME)",
    )  # fmt: skip
    parser.set_defaults(database="sqlite", style="async")


def check_name(name: str) -> str | None:
    """Why ``name`` cannot be a project's package name, or ``None`` when it can."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        suggestion = re.sub(r"[^a-z0-9_]", "_", name.lower())
        if suggestion and suggestion[0].isdigit():
            suggestion = f"_{suggestion}"
        hint = f", e.g. {suggestion}" if _NAME.match(suggestion) and not keyword.iskeyword(suggestion) else ""
        return (
            f"{name!r} is not a valid package name: use lowercase letters, digits and "
            f"underscores, not starting with a digit{hint}."
        )
    if name in _TAKEN or name in sys.stdlib_module_names:
        return (
            f"{name!r} would shadow the module of the same name that the project imports "
            f"or runs; choose another name, e.g. {name}_api."
        )
    return None


def template_values(name: str, variant: Variant) -> dict[str, str]:
    """The value of each ``{{key}}`` of the templates, for project ``name``."""
    postgres = variant.database == "postgres"
    is_async = variant.style == "async"
    drivers = ['"psycopg[binary]>=3.1"'] if postgres else []
    if postgres and is_async:
        drivers.append('"asyncpg>=0.29"')
    return {
        "name": name,
        "distribution": name.replace("_", "-"),
        "title": name.replace("_", " ").title(),
        "restly_version": __version__,
        "driver_dependencies": "".join(f"\n    {driver}," for driver in drivers),
        "database": "PostgreSQL" if postgres else "SQLite",
        "style": variant.style,
        "default_database_url": (
            f"postgresql://postgres@localhost/{name}" if postgres else f"sqlite:///{name}.sqlite3"
        ),
        "default_test_database_url": (
            f'"postgresql://postgres@localhost/{name}_test"'
            if postgres
            else "f\"sqlite:///{ROOT / 'test.sqlite3'}\""
        ),
        "test_database": (
            f"the PostgreSQL database `{name}_test` on localhost (create it first: "
            f"`createdb -h localhost -U postgres {name}_test`)"
            if postgres
            else "the SQLite file `test.sqlite3`, created on the first run"
        ),
        "database_setup": (
            f"`createdb -h localhost -U postgres {name}` creates the database the default URL names.\n"
            if postgres
            else ""
        ),
        "view_base": "AsyncRestView" if is_async else "RestView",
        "def": "async def" if is_async else "def",
        "await": "await " if is_async else "",
        "url_option": "async_database_url" if is_async else "database_url",
        "views_run": (
            "async views (`fr.AsyncRestView`, an `AsyncSession` per request)"
            if is_async
            else "sync views (`fr.RestView`, run in FastAPI's threadpool, a `Session` per request)"
        ),
    }


def render(name: str, variant: Variant) -> dict[str, str]:
    """The project's files: relative path -> text."""
    values = template_values(name, variant)
    root = Path(__file__).parent / "templates"
    rendered: dict[str, str] = {}
    for folder in ("common", variant.style):
        for path, template in _templates(root / folder, ""):
            target = path.replace(_PACKAGE_DIR, name)
            rendered[target] = _substitute(template, values, f"{folder}/{path}")
    return dict(sorted(rendered.items()))


def _templates(folder: Path, prefix: str) -> list[tuple[str, str]]:
    """``(relative path without .tmpl, text)`` of every template under ``folder``."""
    found: list[tuple[str, str]] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            found += _templates(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(_TEMPLATE_SUFFIX):
            name = entry.name.removesuffix(_TEMPLATE_SUFFIX)
            name = "." + name.removeprefix("dot-") if name.startswith("dot-") else name
            found.append((prefix + name, entry.read_text(encoding="utf-8")))
    return found


def _substitute(template: str, values: Mapping[str, str], where: str) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {where} uses {{{{{key}}}}}, which restly new does not define")
        return values[key]

    return _PLACEHOLDER.sub(value, template)


def write(target: Path, name: str, variant: Variant) -> list[Path]:
    """Write the project into ``target`` (created if missing); return the files written."""
    written = []
    for relative, text in render(name, variant).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def run(args: argparse.Namespace) -> int:
    """``restly new``: check the name and the folder, write the project, say what is next."""
    problem = check_name(args.name)
    target: Path = args.dir if args.dir is not None else Path(args.name)
    if problem is None and target.exists() and (not target.is_dir() or any(target.iterdir())):
        problem = (
            f"{str(target)!r} already exists and is not an empty folder; restly new writes "
            "only into a new or empty folder. Choose another --dir."
        )
    if problem is not None:
        print(f"restly new: {problem}", file=sys.stderr)
        return 2
    variant = Variant(database=args.database, style=args.style)
    written = write(target, args.name, variant)
    where = str(target)
    print(
        f"restly new: wrote {len(written)} files to {where}/ "
        f"({values_summary(variant)}). Next:\n\n"
        f"    cd {where}\n"
        '    pip install -e ".[test]" && pytest\n'
        "    alembic upgrade head\n"
        f"    uvicorn --factory {args.name}.app:create_app --reload\n\n"
        "README.md says more."
    )
    return 0


def values_summary(variant: Variant) -> str:
    """``"SQLite, async views"`` and the like."""
    return f"{'PostgreSQL' if variant.database == 'postgres' else 'SQLite'}, {variant.style} views"
