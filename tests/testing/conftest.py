"""Fixtures for the tests of ``restly.testing``: pytester and a small user project.

The user project lives in ``project/``: ``models.py``, ``main.py`` (the app, with an
``fr.AsyncRestView`` and an ``fr.RestView``), ``conftest_inner.py`` (its conftest) and
``tests_inner.py`` (its tests). It is copied into a pytester directory and run in a fresh
interpreter, as a user would run it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

collect_ignore = ["project"]

PROJECT = Path(__file__).parent / "project"

# Project files and the names they take in the pytester directory.
PROJECT_FILES = {
    "models.py": "models.py",
    "main.py": "main.py",
    "conftest_inner.py": "conftest.py",
    "tests_inner.py": "test_isolation.py",
    "runtime.py": "runtime.py",
}


def plugin_is_installed() -> bool:
    """Whether pytest loads restly's plugin by itself (restly installed with its entry point)."""
    return any(
        entry.name == "restly" and entry.value == "restly.testing.plugin"
        for entry in entry_points(group="pytest11")
    )


RunPytest = Callable[..., pytest.RunResult]
RunProject = Callable[..., pytest.RunResult]


@pytest.fixture
def run_pytest(pytester: pytest.Pytester) -> RunPytest:
    """Return ``run(*args)``: pytest in a fresh interpreter in the pytester directory, with
    warnings as errors, strict markers and restly's plugin loaded."""

    def run(*args: str) -> pytest.RunResult:
        pytester.makeini(
            "[pytest]\naddopts = --strict-markers\nxfail_strict = true\nfilterwarnings = error\n"
        )
        # Heavy plugins the user project does not use (hypothesis is imported by
        # schemathesis) would cost seconds per run; blocking an absent one is harmless.
        options = ["-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest"]
        options.append("-v")
        if not plugin_is_installed():
            options += ["-p", "restly.testing.plugin"]
        return pytester.runpytest_subprocess(*options, *args)

    return run


@pytest.fixture
def run_project(pytester: pytest.Pytester, run_pytest: RunPytest) -> RunProject:
    """Return ``run(urls, *, configure="both", own_globals=False, files={}, args=())``
    which writes the user project to the pytester directory and runs pytest on it.

    ``urls`` is a ``db_urls`` value (tests/conftest.py); ``configure`` says which databases
    the project configures (``both``, ``sync``, ``async``, ``sync-engine``,
    ``async-engine``, ``memory``: in-memory SQLite on restly's engines); ``own_globals`` puts the project in an ``FRGlobals`` of its own;
    ``files`` adds files (``{"test_x.py": source}``).
    """

    def run(
        urls: Any,
        *,
        configure: str = "both",
        own_globals: bool = False,
        files: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> pytest.RunResult:
        for source, target in PROJECT_FILES.items():
            (pytester.path / target).write_text((PROJECT / source).read_text())
        (pytester.path / "settings.py").write_text(
            f"SYNC_URL = {urls.sync_url!r}\n"
            f"ASYNC_URL = {urls.async_url!r}\n"
            f"CONFIGURE = {configure!r}\n"
            f"OWN_GLOBALS = {own_globals!r}\n"
            f"SUFFIX = {uuid.uuid4().hex[:10]!r}\n"
        )
        for name, text in (files or {}).items():
            (pytester.path / name).write_text(text)
        return run_pytest(*args)

    return run
