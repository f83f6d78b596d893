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
}


def plugin_is_installed() -> bool:
    """Whether pytest loads restly's plugin by itself (restly installed with its entry point)."""
    return any(
        entry.name == "restly" and entry.value == "restly.testing.plugin"
        for entry in entry_points(group="pytest11")
    )


RunProject = Callable[..., pytest.RunResult]


@pytest.fixture
def run_project(pytester: pytest.Pytester) -> RunProject:
    """Return ``run(urls, *, configure="both", files={}, args=())`` which writes the user
    project to a pytester directory and runs pytest on it in a fresh interpreter.

    ``urls`` is a ``db_urls`` value (tests/conftest.py); ``configure`` says which databases
    the project configures (``both``, ``sync``, ``async``, ``sync-engine``,
    ``async-engine``); ``files`` adds or replaces files (``{"test_x.py": source}``).
    """

    def run(
        urls: Any,
        *,
        configure: str = "both",
        files: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> pytest.RunResult:
        for source, target in PROJECT_FILES.items():
            (pytester.path / target).write_text((PROJECT / source).read_text())
        (pytester.path / "settings.py").write_text(
            f"SYNC_URL = {urls.sync_url!r}\n"
            f"ASYNC_URL = {urls.async_url!r}\n"
            f"CONFIGURE = {configure!r}\n"
            f"SUFFIX = {uuid.uuid4().hex[:10]!r}\n"
        )
        for name, text in (files or {}).items():
            (pytester.path / name).write_text(text)
        pytester.makeini(
            "[pytest]\naddopts = --strict-markers\nxfail_strict = true\nfilterwarnings = error\n"
        )
        options = ["-p", "no:cacheprovider", "-v"]
        if not plugin_is_installed():
            options += ["-p", "restly.testing.plugin"]
        return pytester.runpytest_subprocess(*options, *args)

    return run
