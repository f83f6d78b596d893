"""Clients generated from restly's OpenAPI document type-check a small usage, as a user's would.

TypeScript: ``openapi-typescript`` writes the types, ``tsc --strict`` checks code using them.
Python: ``openapi-python-client`` writes a client package, ``mypy --strict`` checks code
using it. Each usage relies on what the document must say for good clients: readable
operation ids (``list_authors``), every response field required (``id: number``, not
``id?: number``), sort keys with member names (``NAME_DESC``, not ``VALUE_0``); and, for a view
with ``sparse_fields`` and ``expandable``, members that may be left out typed as optional and
``fields``/``expand`` as enums with member names (``AUTHOR_DOT_NAME``).

The npm packages are installed once into a folder the runs reuse
(``$RESTLY_TEST_NODE_DIR``, default ``~/.cache/restly-tests/node``).
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from tests.conftest import skip_or_fail

NODE_PACKAGES = {
    "openapi-typescript": "^7.4.0",
    "typescript": "^5.6.0",
}


class Base(DeclarativeBase):
    pass


class Genre(enum.Enum):
    novel = "novel"
    poetry = "poetry"


class ClientAuthor(Base):
    __tablename__ = "client_author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    genre: Mapped[Genre] = mapped_column(Enum(Genre), default=Genre.novel)
    nickname: Mapped[str | None] = mapped_column(String(50))


class ClientBook(Base):
    __tablename__ = "client_book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[int] = mapped_column(ForeignKey("client_author.id"))
    author: Mapped[ClientAuthor] = relationship()


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = fr.FRGlobals()

    class AuthorView(fr.AsyncRestView, globals=g):
        prefix = "/authors"
        model = ClientAuthor

    class BookView(fr.AsyncRestView, globals=g):
        prefix = "/books"
        model = ClientBook
        expandable = ("author",)
        sparse_fields = True

    class StatsView(fr.View, globals=g):
        prefix = "/stats"

        @fr.get("/authors")
        async def count_authors(self) -> int:
            return 0

    app = FastAPI(title="Library")
    fr.include_view(app, AuthorView, BookView, StatsView)
    path = tmp_path_factory.mktemp("clients") / "openapi.json"
    path.write_text(json.dumps(app.openapi()))
    return path


def run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def node_tools() -> Iterator[Path]:
    """``node_modules/.bin`` with openapi-typescript and tsc (installed on first use)."""
    npm = shutil.which("npm")
    if npm is None:
        skip_or_fail("npm is not installed (Debian: apt-get install npm)")
        raise AssertionError("unreachable")  # pragma: no cover
    folder = Path(os.environ.get("RESTLY_TEST_NODE_DIR", Path.home() / ".cache/restly-tests/node"))
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "restly-test-clients", "private": True, "devDependencies": NODE_PACKAGES}
    package = folder / "package.json"
    bin_dir = folder / "node_modules" / ".bin"
    if (
        not package.exists()
        or json.loads(package.read_text()) != manifest
        or not (bin_dir / "tsc").exists()
    ):
        package.write_text(json.dumps(manifest))
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            skip_or_fail(f"npm install failed in {folder}: {done.stderr.strip()[-500:]}")
    yield bin_dir


TYPESCRIPT_USAGE = """
import type { components, operations } from "./api";

type Author = components["schemas"]["ClientAuthor"];
type ListQuery = NonNullable<operations["list_client_authors"]["parameters"]["query"]>;

function show(author: Author): string {
  const id: number = author.id;                  // required in answers: not number | undefined
  const genre: "novel" | "poetry" = author.genre;
  const nickname: string | null = author.nickname;
  return `${id} ${author.name} ${genre} ${nickname ?? ""}`;
}

const query: ListQuery = { order_by: ["-name", "id"], page_size: 10 };
type Created = operations["create_client_author"]["responses"][201]["content"]["application/json"];
const created: Created = { id: 1, name: "Ann", genre: "novel", nickname: null };
type Count = operations["stats_count_authors"]["responses"][200]["content"]["application/json"];
const count: Count = 3;
console.log(show(created), query, count);

// Sparse fields: any member may be left out, so each is optional; expansions are typed.
type Book = operations["get_client_book"]["responses"][200]["content"]["application/json"];
type BookQuery = NonNullable<operations["get_client_book"]["parameters"]["query"]>;
function title(book: Book): string {
  const name: string | undefined = book.author?.name;  // nested members may be left out too
  return `${book.title ?? "?"} by ${name ?? "?"}`;
}
const sparse: BookQuery = { fields: ["title", "author.name"], expand: ["author"] };
console.log(title({}), sparse);
"""


def test_a_typescript_client_type_checks(document: Path, node_tools: Path, tmp_path: Path) -> None:
    run([str(node_tools / "openapi-typescript"), str(document), "-o", "api.d.ts"], tmp_path)
    (tmp_path / "usage.ts").write_text(TYPESCRIPT_USAGE)
    run(
        [str(node_tools / "tsc"), "--strict", "--noEmit", "--target", "es2020", "usage.ts"],
        tmp_path,
    )


def test_the_typescript_check_fails_on_a_wrong_type(
    document: Path, node_tools: Path, tmp_path: Path
) -> None:
    # The check above can fail: the same usage with an id typed as a string is refused.
    run([str(node_tools / "openapi-typescript"), str(document), "-o", "api.d.ts"], tmp_path)
    (tmp_path / "usage.ts").write_text(
        TYPESCRIPT_USAGE.replace("const id: number", "const id: string")
    )
    done = subprocess.run(
        [str(node_tools / "tsc"), "--strict", "--noEmit", "--target", "es2020", "usage.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "usage.ts" in done.stdout


PYTHON_USAGE = """
from library_client import Client
from library_client.api.authors import create_client_author, list_client_authors
from library_client.api.books import get_client_book
from library_client.api.stats import stats_count_authors
from library_client.models import (
    ClientAuthor,
    ClientAuthorCreate,
    ClientBookSparse,
    GetClientBookExpandItem,
    GetClientBookFieldsItem,
    ListClientAuthorsOrderByItem,
)
from library_client.types import Unset


def show(author: ClientAuthor) -> str:
    identifier: int = author.id  # required in answers: not int | Unset
    return f"{identifier} {author.name} {author.genre.value}"


def calls(client: Client) -> None:
    authors = list_client_authors.sync(
        client=client, order_by=[ListClientAuthorsOrderByItem.NAME_DESC]
    )
    if isinstance(authors, list):
        print([show(author) for author in authors])
    created = create_client_author.sync(client=client, body=ClientAuthorCreate(name="Ann"))
    if isinstance(created, ClientAuthor):
        print(show(created))
    print(stats_count_authors.sync(client=client))
    book = get_client_book.sync(
        1, client=client, fields=[GetClientBookFieldsItem.AUTHOR_DOT_NAME],
        expand=[GetClientBookExpandItem.AUTHOR],
    )
    if isinstance(book, ClientBookSparse):
        title: str | Unset = book.title  # may be left out: not required
        print(title)
"""


def test_a_python_client_type_checks(document: Path, tmp_path: Path) -> None:
    generator = Path(sys.executable).parent / "openapi-python-client"
    if not generator.exists():
        skip_or_fail("openapi-python-client is not installed (pip install -e '.[test]')")
    run(
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--output-path",
            "library_client",
            "--meta",
            "none",
        ],
        tmp_path,
    )
    (tmp_path / "usage.py").write_text(PYTHON_USAGE)
    done = subprocess.run(
        # The generated package is checked as an import (its own code is the generator's).
        [
            sys.executable, "-m", "mypy", "--strict", "--no-incremental",
            "--follow-imports=silent", "usage.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MYPYPATH": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
