"""react-admin in a real browser: a small admin app (``tests/react_admin/browser/``: authors,
and books referencing an author) built with Vite, served with a live restly server, and
used in headless Chromium through ``playwright-core`` as a person would: list, sort, search,
filter by author, edit, create, delete, bulk delete, and the messages shown for 404, 409 and
422 (a 422 also marks the inputs it names). What the page shows is compared with what the
test expects, and the database is checked afterwards.

Two set-ups, each a scripted session of one browser:

- ``cross-origin``: the built admin on a second server (another origin) calls the API, which
  carries the CORS middleware of the react-admin guide's recipe (``docs/examples/
  react_admin.py``) with that origin allowed; async views.
- ``same-origin``: the built admin mounted with ``StaticFiles`` beside the views, no CORS;
  sync views.

The npm packages (pinned in ``tests/react_admin/browser/package.json`` and its lock file) are
installed once into a folder named by a hash of both, under ``$RESTLY_TEST_NODE_DIR``
(default ``~/.cache/restly-tests/node``), which later runs reuse; the app is built once per
run. Without node, npm or Chromium (``$RESTLY_TEST_CHROMIUM``, default ``/usr/bin/chromium``)
the tests skip, or fail under ``RESTLY_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import Field
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.staticfiles import StaticFiles

import restly as fr
from tests.conftest import (
    DatabaseURLs,
    mysql_urls,
    postgres_urls,
    skip_or_fail,
    sqlite_urls,
)
from tests.live_server import serve_in_thread

APP = Path(__file__).parent / "react_admin" / "browser"
RECIPE = Path(__file__).parent.parent / "docs" / "examples" / "react_admin.py"
APP_FILES = ("index.html", "vite.config.js", "src", "drive.mjs")


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "rab_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Book(Base):
    __tablename__ = "rab_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    pages: Mapped[int]
    author_id: Mapped[int] = mapped_column(ForeignKey("rab_author.id"))


class BookSchema(fr.IDSchema):
    title: str = Field(max_length=100)
    pages: int = Field(ge=1)
    author_id: int


AUTHORS = ["Ursula K. Le Guin", "Iain M. Banks", "Octavia E. Butler"]
# (title, pages, author id); ids 1..8 in this order
BOOKS = [
    ("The Dispossessed", 387, 1),
    ("A Wizard of Earthsea", 183, 1),
    ("The Left Hand of Darkness", 304, 1),
    ("Consider Phlebas", 471, 2),
    ("The Player of Games", 309, 2),
    ("Use of Weapons", 411, 2),
    ("Kindred", 264, 3),
    ("Parable of the Sower", 345, 3),
]


# -- tools: node, npm, Chromium, the npm packages, the built app --------------------------------


def chromium_path() -> str:
    path = os.environ.get("RESTLY_TEST_CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        skip_or_fail(f"Chromium is not at {path} (Debian: apt-get install chromium)")
    return path


def node_modules() -> Path:
    """The app's npm packages, installed into a cache folder named by the package files' hash."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        skip_or_fail("node (20.19 or later) and npm are needed to build and drive the admin")
    manifests = [APP / "package.json", APP / "package-lock.json"]
    key = hashlib.sha256(b"".join(path.read_bytes() for path in manifests)).hexdigest()[:16]
    root = Path(os.environ.get("RESTLY_TEST_NODE_DIR", Path.home() / ".cache/restly-tests/node"))
    folder = root / f"react-admin-browser-{key}"
    done_marker = folder / "installed"
    if not done_marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for path in manifests:
            shutil.copy(path, folder / path.name)
        install = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if install.returncode != 0:
            skip_or_fail(f"npm ci failed in {folder}: {install.stderr.strip()[-500:]}")
        done_marker.write_text("npm ci done\n")
    return folder / "node_modules"


@pytest.fixture(scope="module")
def admin_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """``(app folder, built admin, chromium)``: the sources beside the cached packages, built."""
    chromium = chromium_path()
    packages = node_modules()
    folder = tmp_path_factory.mktemp("react-admin-app")
    for name in APP_FILES:
        source = APP / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copy(source, folder / name)
    (folder / "node_modules").symlink_to(packages, target_is_directory=True)
    build = subprocess.run(
        [str(packages / ".bin" / "vite"), "build", "--outDir", "dist", "--logLevel", "error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return folder, folder / "dist", chromium


# -- the servers -------------------------------------------------------------------------------


def recipe_cors_options() -> dict[str, Any]:
    """The CORSMiddleware options of the guide's recipe (its example app, loaded in isolation)."""
    spec = importlib.util.spec_from_file_location("react_admin_recipe", RECIPE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with fr.use_fr_globals(fr.FRGlobals()):
        spec.loader.exec_module(module)  # configures, never connects: no file is written
    (cors,) = [m for m in module.app.user_middleware if m.cls is CORSMiddleware]
    return dict(cors.kwargs)


def api_app(g: fr.FRGlobals, *, asynchronous: bool) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await g.dispose()  # in the server's own event loop

    app = FastAPI(lifespan=lifespan)
    base = fr.AsyncReactAdminView if asynchronous else fr.ReactAdminView
    books = {"prefix": "/books", "model": Book, "schema": BookSchema}
    authors = {"prefix": "/authors", "model": Author}
    for name, namespace in (("BookView", books), ("AuthorView", authors)):
        fr.include_view(app, type(name, (base,), namespace, globals=g))
    return app


# The react-admin dialect runs on every backend in tests/views/test_react_admin.py. In the
# browser, each backend serves one session, to keep the whole near a minute: cross-origin
# (the set-up users hit trouble with) with async views on SQLite and PostgreSQL, same-origin
# with sync views on MariaDB.
SESSIONS = [
    ("cross-origin", "sqlite"),
    pytest.param("cross-origin", "postgresql", marks=pytest.mark.postgres),
    pytest.param("same-origin", "mariadb", marks=pytest.mark.mariadb),
]


def backend_urls(backend: str, tmp_path: Path) -> DatabaseURLs:
    if backend == "postgresql":
        return postgres_urls()
    if backend == "mariadb":
        return mysql_urls()
    return sqlite_urls(tmp_path)


@contextmanager
def library(db_urls: DatabaseURLs) -> Iterator[fr.FRGlobals]:
    """restly configured for ``db_urls``, with the authors and books seeded (dropped after)."""
    g = fr.FRGlobals()
    with fr.use_fr_globals(g):
        fr.configure(database_url=db_urls.sync_url, async_database_url=db_urls.async_url)
    engine = g.get_engine()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with fr.session(g) as session:
        session.add_all(Author(name=name) for name in AUTHORS)
        session.flush()
        session.add_all(Book(title=t, pages=p, author_id=a) for t, p, a in BOOKS)
    try:
        yield g
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


@contextmanager
def admin_served(
    setup: str, g: fr.FRGlobals, dist: Path, allow_headers: list[str] | None = None
) -> Iterator[tuple[str, str]]:
    """``(the admin's page URL, the API's base URL)`` while the servers run; cross-origin, the
    API allows the recipe's headers, or ``allow_headers``."""
    if setup == "same-origin":
        app = api_app(g, asynchronous=False)
        app.mount("/admin", StaticFiles(directory=dist, html=True))
        with serve_in_thread(app) as (host, port):
            api = f"http://{host}:{port}"
            yield f"{api}/admin/", api
        return
    static = FastAPI()
    static.mount("/", StaticFiles(directory=dist, html=True))
    with serve_in_thread(static) as (host, static_port):
        admin_origin = f"http://{host}:{static_port}"
        app = api_app(g, asynchronous=True)
        options = {**recipe_cors_options(), "allow_origins": [admin_origin]}
        if allow_headers is not None:
            options["allow_headers"] = allow_headers
        app.add_middleware(CORSMiddleware, **options)
        with serve_in_thread(app) as (host, port):
            api = f"http://{host}:{port}"
            yield f"{admin_origin}/?api={api}", api


# -- the session -------------------------------------------------------------------------------

NEW_BOOK = ("The Word for World Is Forest", 189, 1)  # created in the session: id 9
RENAMED = "The Dispossessed: An Ambiguous Utopia"  # book 1, edited in the session
TOO_LONG = "title: String should have at most 100 characters"
TOO_FEW = "pages: Input should be greater than or equal to 1"
SAVE, DELETE = 'role=button[name="Save"]', 'role=button[name="Delete"]'
CONFIRM = 'role=dialog >> role=button[name="Confirm"]'
TITLE, PAGES, NAME = 'input[name="title"]', 'input[name="pages"]', 'input[name="name"]'
SEARCH = 'input[name="q"]'
DISMISS = {"dismiss": True}  # close the notification before the next action


def rows(*ids: int, renamed: bool = False) -> list[list[str]]:
    """The list rows of these books as shown: id, title, pages, author's name."""
    shelf = {**dict(enumerate(BOOKS, start=1)), 9: NEW_BOOK}
    if renamed:
        shelf[1] = (RENAMED, *shelf[1][1:])
    return [[str(id), shelf[id][0], str(shelf[id][1]), AUTHORS[shelf[id][2] - 1]] for id in ids]


def step(name: str, *actions: dict[str, Any], **see: Any) -> dict[str, Any]:
    return {"name": name, "do": list(actions), "see": see}


def goto(route: str) -> dict[str, Any]:
    return {"goto": route}


def click(selector: str) -> dict[str, Any]:
    return {"click": selector}


def fill(selector: str, value: str) -> dict[str, Any]:
    return {"fill": selector, "value": value}


def choose(selector: str, option: str) -> dict[str, Any]:
    return {"choose": selector, "option": option}


def steps(conflicts: dict[str, str]) -> list[dict[str, Any]]:
    """The scripted session: what the user does, and what the page shows after each step."""
    return [
        step("list", goto("#/books"), rows=rows(1, 2, 3, 4, 5, 6, 7, 8), total="1-8 of 8"),
        step("sort_by_title", click("th.column-title >> text=Title"),
             rows=rows(2, 4, 7, 8, 1, 3, 5, 6)),
        step("sort_by_title_desc", click("th.column-title >> text=Title"),
             rows=rows(6, 5, 3, 1, 8, 7, 4, 2)),
        # q: each word appears in a text field, ignoring case
        step("search", fill(SEARCH, "OF the"), rows=rows(5, 3, 8), total="1-3 of 3"),
        step("filter_by_author",
             choose(".RaFilterForm-filterFormInput [role=combobox]", AUTHORS[0]), rows=rows(3)),
        step("search_cleared", fill(SEARCH, ""), rows=rows(3, 1, 2)),
        step("open_edit", click('td.column-title >> text="The Dispossessed"'),
             route="#/books/1", values={"title": "The Dispossessed", "pages": "387"}),
        step("edit", fill(TITLE, RENAMED), click(SAVE),
             notification="Element updated", rows=rows(3, 1, 2, renamed=True)),
        # the server's 422: the notification, and the message under each input it names
        step("create_invalid", DISMISS, goto("#/books/create"), fill(TITLE, "x" * 101),
             fill(PAGES, "0"), choose(".ra-input-author_id [role=combobox]", AUTHORS[0]),
             click(SAVE),
             notification=f"{TOO_LONG}; {TOO_FEW}", invalid=["title", "pages"],
             helpers={"title": TOO_LONG.split(": ")[1], "pages": TOO_FEW.split(": ")[1]}),
        step("create", DISMISS, fill(TITLE, NEW_BOOK[0]), fill(PAGES, str(NEW_BOOK[1])),
             click(SAVE), notification="Element created", route="#/books/9"),
        # another user deletes the book while it is open: saving it answers 404
        step("open_book_7", DISMISS, goto("#/books/7"),
             values={"title": "Kindred", "pages": "264"}),
        step("edit_deleted", fill(PAGES, "265"), {"api": "DELETE", "path": "/books/7"},
             click(SAVE), notification="Not Found", route="#/books/7"),
        step("open_missing", DISMISS, goto("#/books/999"), notification="Element does not exist"),
        step("delete", DISMISS, goto("#/books/2"), click(DELETE), click(CONFIRM),
             notification="Element deleted", route="#/books"),
        step("bulk_delete", DISMISS, goto("#/books?filter=%7B%7D&sort=id&order=ASC"),
             {"check": "Consider Phlebas"}, {"check": "The Player of Games"},
             click(DELETE), click(CONFIRM),
             notification="2 elements deleted", rows=rows(1, 3, 6, 8, 9, renamed=True),
             total="1-5 of 5"),
        step("create_duplicate_author", DISMISS, goto("#/authors/create"),
             fill(NAME, AUTHORS[1]), click(SAVE), notification=conflicts["duplicate"]),
        step("delete_referenced_author", DISMISS, goto("#/authors/2"), click(DELETE),
             click(CONFIRM), notification=conflicts["referenced"], route="#/authors/2"),
    ]  # fmt: skip


def conflict_messages(api: str) -> dict[str, str]:
    """The ``message`` of the API's 409 to the two refused writes of the session (refused, they
    change nothing): the user must read restly's words for them, not "Conflict"."""
    refused = {
        "duplicate": httpx.post(f"{api}/authors", json={"name": AUTHORS[1]}, timeout=10),
        "referenced": httpx.delete(f"{api}/authors/2", timeout=10),  # books 4-6 refer to it
    }
    for answer in refused.values():
        assert answer.status_code == 409, answer.text
        assert answer.json()["message"] not in ("", "Conflict"), answer.text
    return {name: answer.json()["message"] for name, answer in refused.items()}


def drive(
    admin_app: tuple[Path, Path, str],
    page_url: str,
    api: str,
    session_steps: list[dict[str, Any]],
    tmp_path: Path,
) -> dict[str, Any]:
    """Run the scripted session in Chromium; assert that each step's page was as expected."""
    folder, _, chromium = admin_app
    scenario = {"url": page_url, "api": api, "chromium": chromium, "shots": str(tmp_path),
                "steps": session_steps}  # fmt: skip
    (tmp_path / "scenario.json").write_text(json.dumps(scenario))
    done = subprocess.run(
        ["node", "drive.mjs", str(tmp_path / "scenario.json")],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    (tmp_path / "seen.json").write_text(json.dumps(result, indent=1))
    for expected, seen in zip(session_steps, result["seen"], strict=False):
        assert seen["see"] == expected["see"], (
            f"step {expected['name']!r}: the page showed {seen['see']}\n(screenshot and seen.json in "
            f"{tmp_path}; browser errors: {result['errors']})"
        )
    assert result["failed"] is None and len(result["seen"]) == len(session_steps)
    return result


@pytest.mark.parametrize(("setup", "backend"), SESSIONS)
def test_react_admin_in_a_browser(
    admin_app: tuple[Path, Path, str], setup: str, backend: str, tmp_path: Path
) -> None:
    with (
        library(backend_urls(backend, tmp_path)) as g,
        admin_served(setup, g, admin_app[1]) as (page_url, api),
    ):
        drive(admin_app, page_url, api, steps(conflict_messages(api)), tmp_path)
        with fr.session(g) as session:
            books = session.execute(select(Book.id, Book.title, Book.pages, Book.author_id)).all()
            authors = session.execute(select(Author.id, Author.name)).all()
    assert sorted(books) == [
        (1, RENAMED, 387, 1),
        (3, "The Left Hand of Darkness", 304, 1),
        (6, "Use of Weapons", 411, 2),
        (8, "Parable of the Sower", 345, 3),
        (9, "The Word for World Is Forest", 189, 1),
    ]
    assert sorted(authors) == list(enumerate(AUTHORS, start=1))


def test_without_range_in_allow_headers_lists_are_empty(
    admin_app: tuple[Path, Path, str], tmp_path: Path
) -> None:
    # The recipe as it was (issue 18): ra-data-simple-rest's Range header is refused by the
    # CORS preflight, and the user sees an empty list and a notification, while the API works.
    # The notification comes once react-query has retried (three times, about 7 s).
    headers = [h for h in recipe_cors_options()["allow_headers"] if h.lower() != "range"]
    empty_list = step("list", goto("#/books"), rows=[], empty="No Books found",
                      notification="Failed to fetch")  # fmt: skip
    empty_list["timeout"] = 20_000
    with (
        library(sqlite_urls(tmp_path)) as g,
        admin_served("cross-origin", g, admin_app[1], allow_headers=headers) as (page_url, api),
    ):
        drive(admin_app, page_url, api, [empty_list], tmp_path)
        assert len(httpx.get(f"{api}/books", timeout=10).json()) == len(BOOKS)
