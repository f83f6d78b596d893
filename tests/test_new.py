"""``restly new``, run as a user runs it: the console script writes a project; the project is
installed in a fresh virtualenv, migrated with Alembic's command line, its own test suite run
with pytest, and its app served by uvicorn over real HTTP. Each of the four variants
(``--sqlite``/``--postgres`` x ``--async``/``--sync``), each step in its own process.

PostgreSQL variants work in a database created for these tests and dropped after them.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
import tomllib
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from sqlalchemy import create_engine, inspect

from restly import _new
from restly.__main__ import main
from tests.conftest import DEFAULT_POSTGRES_URL, postgres_unavailable_reason, skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
RESTLY = Path(sys.executable).with_name("restly")  # the console script pip installed
TIMEOUT = 120
VARIANTS = [
    pytest.param("sqlite", "async", id="sqlite-async"),
    pytest.param("sqlite", "sync", id="sqlite-sync"),
    pytest.param("postgres", "async", id="postgres-async", marks=pytest.mark.postgres),
    pytest.param("postgres", "sync", id="postgres-sync", marks=pytest.mark.postgres),
]
# `python -P`: the current folder is not put on sys.path, so `import NAME` in the project's
# tests, its env.py and uvicorn finds the installed project, not the folder we stand in.
PYTHON_FLAGS = ["-P"] if sys.version_info >= (3, 11) else []
# The pytest plugins of this environment that the project's own does not have (schemathesis,
# hypothesis: seconds of start-up each run); restly's and anyio's (restly[testing]) stay.
FOREIGN_PLUGINS = ["-p", "no:cacheprovider"] + [
    argument
    for entry in importlib.metadata.entry_points(group="pytest11")
    if entry.name not in {"restly", "anyio"}
    for argument in ("-p", f"no:{entry.name}")
]


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def restly_new(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RESTLY), "new", *map(str, args)], cwd=cwd, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )  # fmt: skip


def project_env(**values: str) -> dict[str, str]:
    """The environment of the project's commands: ours without what would leak into it."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DATABASE_URL", "TEST_DATABASE_URL"}}
    env.pop("PYTEST_ADDOPTS", None)
    return {**env, **values}


def fresh_venv(path: Path) -> Path:
    """A new virtualenv that also sees this test run's installed packages; its python.

    Installing the generated project with its dependencies from the index would take
    minutes per variant. So the new environment reuses the packages of the one running these
    tests (a ``.pth`` file adds our site-packages: ``venv --system-site-packages`` would add
    the *base* interpreter's, not this virtualenv's), and the project goes in with
    ``pip install --no-deps --no-build-isolation -e .``. This still tests what "installs and
    runs" means: pip builds the project with the build backend its pyproject names, the
    package is imported from the install (never from the current folder, see ``-P``), and
    :func:`assert_dependencies_satisfied` checks that every dependency the pyproject declares
    is a real distribution, installed here at a version it accepts.
    """
    run(sys.executable, "-m", "venv", "--without-pip", path, cwd=path.parent)
    purelib = sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)})
    ours = sysconfig.get_path("purelib")
    Path(purelib, "_restly_test_parent.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def assert_dependencies_satisfied(pyproject: Path) -> list[str]:
    """Every requirement of the project (its ``test`` extra included), and recursively the
    extras it asks of them, names a distribution installed at a version it allows."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    checked: list[str] = []
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{pyproject}: {requirement} names no installed distribution")
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)
        checked.append(str(requirement))
        for extra in requirement.extras:
            for text in importlib.metadata.requires(requirement.name) or []:
                needed = Requirement(text)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    needed.marker = None
                    todo.append(needed)
    return checked


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database created for this module's tests, dropped after them (one for
    both PostgreSQL variants: each leaves it empty, and dropping a database waits for a
    checkpoint, seconds on a busy server)."""
    reason = postgres_unavailable_reason()
    if reason is not None:
        skip_or_fail(reason)
    import psycopg

    server = os.environ.get("RESTLY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    name = f"test_new_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for a variant: the module's PostgreSQL database (emptied again
    after the test), or a new SQLite file."""
    if request.node.callspec.params["database"] != "postgres":
        yield f"sqlite:///{tmp_path / 'app.sqlite3'}"
        return
    url: str = request.getfixturevalue("postgres_database")
    yield url
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:  # what a failed test left
        connection.exec_driver_sql("DROP TABLE IF EXISTS note, alembic_version")
    engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_and_call(python: Path, name: str, folder: Path, env: dict[str, str]) -> None:
    """``uvicorn --factory NAME.app:create_app`` answers the README's calls over HTTP."""
    port = free_port()
    command = [str(python), *PYTHON_FLAGS, "-m", "uvicorn", "--factory", f"{name}.app:create_app",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log = folder.parent / "uvicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=folder, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, f"uvicorn exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, "uvicorn did not answer within 30 s"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/ready").json()["status"] == "ok"
            created = client.post("/notes", json={"title": "Groceries"}, headers={"X-User": "ann"})
            assert created.status_code == 201, created.text
            note = created.json()
            assert (note["owner"], note["title"]) == ("ann", "Groceries")
            refused = client.patch(f"/notes/{note['id']}", json={"title": "x"}, headers={"X-User": "bob"})
            assert (refused.status_code, refused.json()) == (403, {"detail": "only ann may update this note"})
            assert client.get("/notes", headers={"X-User": "bob"}).json() == [note]
            assert client.get("/notes").status_code == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            server.kill()
            server.wait()


@pytest.mark.parametrize(("database", "style"), VARIANTS)
def test_a_new_project_installs_migrates_passes_its_tests_and_serves(
    database: str, style: str, tmp_path: Path, database_url: str
) -> None:
    name = f"notes_{database}_{style}"
    folder = tmp_path / name
    made = restly_new(name, f"--{database}", f"--{style}", "--dir", folder, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert 'pip install -e ".[test]" && pytest' in made.stdout
    readme = (folder / "README.md").read_text()
    assert '```bash\npip install -e ".[test]" && pytest\n```' in readme  # restly's two commands

    checked = assert_dependencies_satisfied(folder / "pyproject.toml")
    names = {Requirement(text).name for text in checked}
    assert ("psycopg" in names) == (database == "postgres")  # Alembic's driver, sync views'
    assert ("asyncpg" in names) == (database == "postgres" and style == "async")

    python = fresh_venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", folder, cwd=tmp_path)
    where = run(python, *PYTHON_FLAGS, "-c", f"import {name}; print({name}.__file__)", cwd=tmp_path)
    assert Path(where.strip()) == folder / name / "__init__.py"
    with pytest.raises(ModuleNotFoundError):
        __import__(name)  # installed in the new virtualenv only

    env = project_env(DATABASE_URL=database_url)  # a plain URL: the settings add drivers
    migrated = run(python, *PYTHON_FLAGS, "-m", "alembic", "upgrade", "head", cwd=folder, env=env)
    assert "Running upgrade  -> 0001, create note" in migrated
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        columns = {column["name"] for column in inspect(engine).get_columns("note")}
    finally:
        engine.dispose()
    assert columns == {"id", "title", "body", "owner", "created_at", "updated_at"}
    # The migration the project ships is the one Alembic would write from its models.
    assert "No new upgrade operations detected" in run(
        python, *PYTHON_FLAGS, "-m", "alembic", "check", cwd=folder, env=env
    )

    # The project's tests: on SQLite their own default file; on PostgreSQL the fresh
    # database (TEST_DATABASE_URL), which they leave as they found it (every test rolled back).
    test_env = project_env(**({"TEST_DATABASE_URL": database_url} if database == "postgres" else {}))
    tested = run(python, *PYTHON_FLAGS, "-m", "pytest", *FOREIGN_PLUGINS, cwd=folder, env=test_env)
    counts = re.search(r"^=+ (\d+) passed in [\d.]+s =+$", tested, flags=re.MULTILINE)
    assert counts is not None and int(counts.group(1)) == 8, tested
    if database == "sqlite":
        assert (folder / "test.sqlite3").exists()  # the tests' default database, not the app's

    serve_and_call(python, name, folder, env)

    run(python, *PYTHON_FLAGS, "-m", "alembic", "downgrade", "base", cwd=folder, env=env)
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        assert inspect(engine).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()


def test_the_console_script_documents_new(tmp_path: Path) -> None:
    overview = subprocess.run([str(RESTLY), "--help"], capture_output=True, text=True, check=False)
    assert overview.returncode == 0 and "usage: restly" in overview.stdout
    assert re.search(r"^\s+new\s+write a new project", overview.stdout, flags=re.MULTILINE)
    assert re.search(r"^\s+demo\s+serve a sample API", overview.stdout, flags=re.MULTILINE)
    helped = subprocess.run([str(RESTLY), "new", "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0
    for option in ("--sqlite", "--postgres", "--async", "--sync", "--dir DIR", "name"):
        assert option in helped.stdout, option
    both = restly_new("shop", "--sqlite", "--postgres", cwd=tmp_path)
    assert both.returncode == 2 and "not allowed with argument --sqlite" in both.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("My-Shop", "'My-Shop' is not a valid package name: use lowercase letters, digits and underscores, not starting with a digit, e.g. my_shop."),
        ("2shop", "'2shop' is not a valid package name: use lowercase letters, digits and underscores, not starting with a digit, e.g. _2shop."),
        ("class", "'class' is not a valid package name: use lowercase letters, digits and underscores, not starting with a digit."),
        ("json", "'json' would shadow the module of the same name that the project imports or runs; choose another name, e.g. json_api."),
        ("restly", "'restly' would shadow the module of the same name that the project imports or runs; choose another name, e.g. restly_api."),
    ],
)  # fmt: skip
def test_a_name_that_cannot_be_a_package_is_refused(
    name: str, message: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", name]) == 2
    assert capsys.readouterr() == (("", f"restly new: {message}\n"))
    assert list(in_tmp.iterdir()) == []  # nothing written


def test_a_folder_with_files_is_refused_an_empty_one_is_used(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_tmp / "shop").mkdir()
    (in_tmp / "shop" / "notes.txt").write_text("mine")
    assert main(["new", "shop"]) == 2
    assert capsys.readouterr().err == (
        "restly new: 'shop' already exists and is not an empty folder; restly new writes only "
        "into a new or empty folder. Choose another --dir.\n"
    )
    assert [p.name for p in (in_tmp / "shop").iterdir()] == ["notes.txt"]
    (in_tmp / "file").write_text("")
    assert main(["new", "shop", "--dir", "file"]) == 2
    assert "'file' already exists and is not an empty folder" in capsys.readouterr().err

    (in_tmp / "empty").mkdir()
    assert main(["new", "shop", "--dir", "empty"]) == 0
    assert (in_tmp / "empty" / "shop" / "app.py").is_file()
    assert main(["new", "pet_clinic"]) == 0  # default folder: ./NAME
    assert (in_tmp / "pet_clinic" / "pet_clinic" / "notes" / "views.py").is_file()
    assert "wrote 21 files to pet_clinic/ (SQLite, async views)" in capsys.readouterr().out


@pytest.mark.parametrize(("database", "style"), [p.values for p in VARIANTS])
def test_every_template_is_filled_in_and_every_python_file_compiles(database: str, style: str) -> None:
    files = _new.render("shop", _new.Variant(database=database, style=style))  # type: ignore[arg-type]
    assert {"pyproject.toml", "README.md", "alembic.ini", "migrations/env.py", "shop/app.py",
            "shop/notes/views.py", "tests/conftest.py", "tests/test_notes.py", ".gitignore"} <= set(files)  # fmt: skip
    for path, text in files.items():
        assert "{{" not in text and "__package__" not in path, path
        if path.endswith(".py"):
            compile(text, path, "exec")
    views = files["shop/notes/views.py"]
    assert (f"class NoteView(fr.{'AsyncRestView' if style == 'async' else 'RestView'}):" in views)
    assert ("async def authorize" in views) == (style == "async")


def test_the_docs_show_the_view_restly_new_writes() -> None:
    page = (ROOT / "docs" / "new-project.md").read_text()
    shown = re.search(r"```python\n(class NoteView.*?)```", page, flags=re.DOTALL)
    assert shown is not None
    assert shown.group(1) in _new.render("shop", _new.Variant())["shop/notes/views.py"]


def test_the_wheel_ships_the_templates(tmp_path: Path) -> None:
    """The templates are package data: a restly wheel has every one of them."""
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path, ROOT, cwd=tmp_path)
    (wheel,) = tmp_path.glob("restly-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    templates = ROOT / "restly" / "_new" / "templates"
    expected = {path.relative_to(ROOT).as_posix() for path in templates.rglob("*.tmpl")}
    assert len(expected) > 20 and expected <= shipped, sorted(expected - shipped)


def test_the_generated_packages_pass_mypy_strict(tmp_path: Path) -> None:
    """mypy --strict (the generated pyproject's own setting) on the async and the sync
    package, with the async project's tests and migrations/env.py, in one run."""
    for style in ("async", "sync"):
        _new.write(tmp_path / style, f"notes_{style}", _new.Variant(style=style))  # type: ignore[arg-type]
    command = [
        sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy_cache"),
        "async/notes_async", "sync/notes_sync", "async/tests", "async/migrations/env.py",
    ]  # fmt: skip
    env = project_env(MYPYPATH=os.pathsep.join([str(tmp_path / "async"), str(tmp_path / "sync")]))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
