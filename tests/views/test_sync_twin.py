"""The sync views are the async ones minus ``async``: generated, and checked to stay so."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

import restly as fr
from restly.views import _unasync

PAIRS = [(fr.AsyncRestView, fr.RestView), (fr.AsyncReactAdminView, fr.ReactAdminView)]


@pytest.mark.parametrize("source", list(_unasync.PAIRS), ids=lambda path: path.name)
def test_the_sync_rest_view_is_generated_from_the_async_one(source: Path) -> None:
    target, _ = _unasync.PAIRS[source]
    assert target.read_text() == _unasync.generate(source), (
        f"restly/views/{target.name} is stale: run python restly/views/_unasync.py"
    )


def _methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for klass in cls.__mro__
        if klass.__module__.startswith("restly.views")
        for name, member in vars(klass).items()
        if inspect.isfunction(member) and name not in ("__restly_prepare__",)
    }


def _is_async(method: Any) -> bool:
    """A coroutine, or an async context manager (``write_action``)."""
    wrapped = getattr(method, "__wrapped__", None)
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(wrapped)


def _sync_signature(method: Any) -> inspect.Signature:
    """The signature the sync twin of ``method`` has: an ``AsyncIterator`` is an ``Iterator``."""
    signature = inspect.signature(method)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("AsyncIterator["):
        return signature.replace(return_annotation=returns.removeprefix("Async"))
    return signature


@pytest.mark.parametrize(("async_view", "sync_view"), PAIRS, ids=lambda c: c.__name__)
def test_sync_and_async_views_have_the_same_seams_and_signatures(
    async_view: type, sync_view: type
) -> None:
    async_methods = _methods(async_view)
    sync_methods = _methods(sync_view)
    assert sorted(async_methods) == sorted(sync_methods)
    for name, async_method in async_methods.items():
        sync_method = getattr(sync_view, name)
        async_method = getattr(async_view, name)
        assert _sync_signature(async_method) == inspect.signature(sync_method), name
        if _is_async(async_method):
            assert not _is_async(sync_method), name
        else:  # shared by both: the same function
            assert async_method is sync_method, name


@pytest.mark.parametrize(("async_view", "sync_view"), PAIRS, ids=lambda c: c.__name__)
def test_every_seam_is_async_on_async_views(async_view: type, sync_view: type) -> None:
    seams = (
        "handle_list", "handle_get", "handle_create", "handle_update", "handle_delete",
        "count_index", "make_new_object", "update_object", "save_object", "delete_object",
    )
    for name in seams:
        assert inspect.iscoroutinefunction(getattr(async_view, name)), name
        assert not inspect.iscoroutinefunction(getattr(sync_view, name)), name
    for name in ("to_response_schema", "build_list_query"):
        assert getattr(async_view, name) is getattr(sync_view, name)
