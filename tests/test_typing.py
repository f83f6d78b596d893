"""restly ships ``py.typed``: mypy, configured in pyproject.toml, passes on the package.

mypy runs as a user runs it, in a subprocess from the repository root, with a cache of its
own so that the result never depends on an earlier run (cold, it takes about 15-20 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300.0


def test_mypy_passes_on_the_package(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(tmp_path / "mypy_cache"),
        "restly",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mypy found problems (exit {result.returncode}):\n{output}"
    assert "Success: no issues found" in result.stdout, output


USER_CODE = ROOT / "tests" / "typing_user" / "user_code.py"


def test_user_code_passes_mypy_strict(tmp_path: Path) -> None:
    """A newcomer's models, schemas and view (``fr.IDRef[Author]`` reads as an ``int``,
    ``fr.IDSchema[Author]`` is an annotation, ``__tablename__`` on an ``fr.IDBase`` model)."""
    command = [
        sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy_cache"),
        "--no-incremental", str(USER_CODE),
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_code_passes_pyright(tmp_path: Path) -> None:
    """The same file under pyright (the PyPI wrapper fetches pyright from the npm registry
    into its cache on first use)."""
    command = [sys.executable, "-m", "pyright", "--pythonpath", sys.executable, str(USER_CODE)]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=TIMEOUT, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "0 errors" in output, output


def test_user_code_runs_as_it_is_typed() -> None:
    """What the type checkers were told holds at runtime: the module imports, the view is
    created, and a wrong key type in ``IDRef[Model, type]`` is refused."""
    import pytest

    import restly as fr
    from tests.typing_user import user_code

    assert user_code.Tag.__tablename__ == "tag" and user_code.Author.__tablename__ == "typed_authors"
    assert user_code.BookView.creation_schema.model_validate({"title": "t", "author": {"id": 3}}).author == 3
    with pytest.raises(TypeError, match=r"fr.IDRef\[Token, uuid.UUID\]|primary key, UUID"):
        fr.IDRef[user_code.Token, int]
