"""``python -m restly demo``, run as a user runs it: a subprocess serving HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    DEFAULT_POSTGRES_URL,
    postgres_unavailable_reason,
    skip_or_fail,
    worker_database_name,
)

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

SEEDED_AUTHORS = ["Ursula K. Le Guin", "Italo Calvino", "Octavia E. Butler"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _restly(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "restly", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Demo:
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_demo(
    tmp_path: Path, database_url: str | None, *options: str, env: dict[str, str] | None = None
) -> Iterator[Demo]:
    """Start the demo on a free port, wait until it answers, always stop it."""
    port = _free_port()
    log = tmp_path / f"demo-{port}.log"
    database = ["--database-url", database_url] if database_url is not None else []
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "restly", "demo", "--port", str(port), *database, *options],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env or _env(),
            cwd=tmp_path,
        )
    demo = Demo(f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_serving(process, demo)
        yield demo
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def _wait_until_serving(process: subprocess.Popen[bytes], demo: Demo) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo exited with {process.returncode}:\n{demo.output()}")
        try:
            if httpx.get(f"{demo.url}/openapi.json", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the demo did not answer within {START_TIMEOUT}s:\n{demo.output()}")


def _get(demo: Demo, path: str) -> Any:
    response = httpx.get(f"{demo.url}{path}", timeout=10.0)
    assert response.status_code == 200, response.text
    return response.json()


def _assert_seeded_api(demo: Demo) -> None:
    paths = _get(demo, "/openapi.json")["paths"]
    expected = {"/authors", "/authors/{id}", "/books", "/books/{id}/reviews", "/reviews", "/stats"}
    assert expected <= set(paths)
    assert [a["name"] for a in _get(demo, "/authors")] == SEEDED_AUTHORS
    le_guin = _get(demo, "/books?author_id=1&order_by=year")
    assert [b["title"] for b in le_guin] == [
        "A Wizard of Earthsea",
        "The Left Hand of Darkness",
        "The Dispossessed",
    ]
    reviews = _get(demo, "/reviews")
    assert reviews["total"] == 7 and len(reviews["items"]) == 7
    assert _get(demo, "/stats") == {"authors": 3, "books": 7, "reviews": 7}


def test_no_command_prints_usage() -> None:
    result = _restly()
    assert result.returncode == 2
    assert "usage: python -m restly" in result.stderr
    assert "demo" in result.stderr


def test_unknown_command_prints_usage() -> None:
    result = _restly("serve")
    assert result.returncode == 2
    assert "usage: python -m restly" in result.stderr
    assert "invalid choice: 'serve'" in result.stderr


def test_demo_needs_uvicorn() -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from restly.__main__ import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=30
    )
    assert result.returncode == 2
    assert 'pip install -e ".[demo]"' in result.stderr


def test_demo_rejects_other_databases() -> None:
    result = _restly("demo", "--database-url", "mysql://root@localhost/demo")
    assert result.returncode == 2
    assert "the demo runs on SQLite or PostgreSQL; got a 'mysql' URL" in result.stderr


def test_demo_serves_seeded_sqlite(tmp_path: Path) -> None:
    with running_demo(tmp_path, f"sqlite:///{tmp_path / 'demo.sqlite3'}") as demo:
        _assert_seeded_api(demo)
        assert httpx.get(f"{demo.url}/docs", timeout=10.0).status_code == 200
        assert _get(demo, "/")["docs"] == "/docs"
        banner = demo.output()
    assert f"{demo.url}/docs" in banner
    assert f"curl '{demo.url}/books?author_id=1&order_by=-year'" in banner


def test_demo_writes_and_seeds_only_an_empty_database(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    with running_demo(tmp_path, database_url) as demo:
        created = httpx.post(
            f"{demo.url}/authors", json={"name": "Stanisław Lem", "born": 1921}, timeout=10.0
        )
        assert created.status_code == 201, created.text
        assert httpx.delete(f"{demo.url}/authors/1", timeout=10.0).status_code == 409
    with running_demo(tmp_path, database_url) as demo:
        names = [a["name"] for a in _get(demo, "/authors")]
    assert names == [*SEEDED_AUTHORS, "Stanisław Lem"]


def test_demo_reset_starts_from_the_sample_data(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    with running_demo(tmp_path, database_url) as demo:
        created = httpx.post(f"{demo.url}/authors", json={"name": "Lem", "born": 1921}, timeout=10.0)
        assert created.status_code == 201
    with running_demo(tmp_path, database_url, "--reset") as demo:
        assert [a["name"] for a in _get(demo, "/authors")] == SEEDED_AUTHORS
        assert "(reset to the sample data)" in demo.output()


def test_demo_keeps_its_database_in_the_users_data_folder(tmp_path: Path) -> None:
    """Without --database-url, under $XDG_DATA_HOME (a per-user folder), created if missing."""
    env = {**_env(), "XDG_DATA_HOME": str(tmp_path / "data")}
    with running_demo(tmp_path, None, env=env) as demo:
        assert [a["name"] for a in _get(demo, "/authors")] == SEEDED_AUTHORS
        banner = demo.output()
    database = tmp_path / "data" / "restly" / "demo.sqlite3"
    assert database.is_file()
    assert f"sqlite:///{database}" in banner and "start afresh with --reset" in banner


def _demo_postgres_url() -> str:
    """The server of the PostgreSQL tests, database ``restly_docs`` (created when missing);
    skipped when unreachable, failed instead where servers are required (CI)."""
    reason = postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    server = os.environ.get("RESTLY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    own = worker_database_name("restly_docs")
    url = os.environ.get("RESTLY_TEST_DEMO_POSTGRES_URL", server.rsplit("/", 1)[0] + f"/{own}")
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError:
        # The server answers (checked above): the database may just not exist yet.
        name = url.rsplit("/", 1)[1]
        try:
            with psycopg.connect(server, connect_timeout=3, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            psycopg.connect(url, connect_timeout=3).close()
        except psycopg.Error as error:
            skip_or_fail(
                f"PostgreSQL database for the demo unreachable at {url} "
                f"({type(error).__name__}); set RESTLY_TEST_DEMO_POSTGRES_URL"
            )
    return url


@pytest.mark.postgres
def test_demo_on_postgresql(tmp_path: Path) -> None:
    database_url = _demo_postgres_url()
    from sqlalchemy import create_engine

    from restly._demo.models import DemoBase

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        DemoBase.metadata.drop_all(engine)
        with running_demo(tmp_path, database_url) as demo:
            _assert_seeded_api(demo)
    finally:
        DemoBase.metadata.drop_all(engine)
        engine.dispose()
