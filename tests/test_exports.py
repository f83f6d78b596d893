"""The public API: names exported at the top level, sorted, each with a home module."""

from __future__ import annotations

import restly as fr

SUBPACKAGES = ("db", "exc", "idempotency", "models", "query", "schemas", "testing", "views")


def test_all_is_sorted_and_every_name_exists() -> None:
    assert fr.__all__ == sorted(fr.__all__)
    for name in fr.__all__:
        assert hasattr(fr, name), name


def test_subpackages_are_attributes_of_the_package() -> None:
    for name in SUBPACKAGES:
        assert getattr(fr, name).__name__ == f"restly.{name}"


def test_every_public_object_has_a_home_module_that_exports_it() -> None:
    for name in fr.__all__:
        obj = getattr(fr, name)
        if name in SUBPACKAGES or not hasattr(obj, "__module__"):
            continue
        homes = [getattr(fr, package) for package in SUBPACKAGES]
        homes += [__import__(f"restly.{module}", fromlist=["_"]) for module in ("mount", "resource", "registry")]
        assert any(name in getattr(home, "__all__", ()) for home in homes), name


def test_the_seed_page_names_are_public() -> None:
    from restly.db import FRGlobals, use_fr_globals

    assert FRGlobals is fr.FRGlobals and use_fr_globals is fr.use_fr_globals
    for name in ("configure", "async_session", "include_view", "AsyncRestView", "RestView"):
        assert callable(getattr(fr, name))
