"""``restly.testing`` as a package: its names, its import cost, its pytest entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import restly
import restly.testing

ROOT = Path(__file__).parents[2]


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the repository root; return its output."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip()


def test_exported_names() -> None:
    assert restly.testing.__all__ == [
        "AsyncRestlyTestClient",
        "RestlyTestClient",
        "SavepointIsolation",
        "ScopeCheck",
        "activate_savepoint_only_mode",
        "assert_rows_hidden",
        "async_assert_rows_hidden",
        "async_savepoint_connection",
        "check_status_code",
        "configure_tests",
        "deactivate_savepoint_only_mode",
        "savepoint_connection",
    ]
    for name in restly.testing.__all__:
        assert getattr(restly.testing, name).__name__ == name
    assert set(restly.testing.__all__) <= set(dir(restly.testing))


def test_reachable_as_an_attribute_of_restly() -> None:
    assert restly.testing is sys.modules["restly.testing"]
    assert "testing" in restly.__all__


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'restly.testing' has no attribute 'nope'"):
        restly.testing.nope  # noqa: B018


def test_importing_restly_needs_neither_pytest_nor_an_http_client() -> None:
    code = (
        "import sys, restly, restly.testing\n"
        "loaded = {'pytest', 'httpx', 'httpx2', 'starlette.testclient'} & set(sys.modules)\n"
        "print(sorted(loaded))\n"
    )
    assert run_python(code) == "[]"


def test_pytest_entry_point_is_declared() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"restly": "restly.testing.plugin"}


def test_plugin_loads_without_http_clients() -> None:
    # Projects that only use the session fixtures need not install httpx / httpx2.
    code = (
        "import sys\n"
        "sys.modules['httpx'] = sys.modules['httpx2'] = None  # make them unimportable\n"
        "import restly.testing.plugin\n"
        "print('loaded')\n"
    )
    assert run_python(code) == "loaded"
