"""Testing utilities: status-checking test clients, SAVEPOINT isolation, a pytest plugin.

With restly installed, pytest loads :mod:`restly.testing.plugin` by itself (entry point
``restly``). Tell it which app to test, and every test runs inside a transaction that is
rolled back at its end — writes committed by your views included::

    # conftest.py
    import pytest
    from myproject.main import app as main_app

    @pytest.fixture
    def app():
        return main_app

    # test_world.py (WorldView is an fr.AsyncRestView)
    def test_create(client):
        created = client.post("/world", json={"message": "hi"}).json()   # asserts 201
        client.get(f"/world/{created['id']}")                             # asserts 200

    @pytest.mark.anyio
    async def test_create_async(async_client, async_session):
        created = (await async_client.post("/world", json={"message": "hi"})).json()
        assert await async_session.get(World, created["id"]) is not None

Async views share their connection with ``async_session``, sync views (``fr.RestView``)
with ``session``; see :mod:`restly.testing.plugin` for every fixture.

Public names: :class:`RestlyTestClient`, :class:`AsyncRestlyTestClient`,
:func:`check_status_code`, :func:`activate_savepoint_only_mode`,
:func:`deactivate_savepoint_only_mode`, :func:`savepoint_connection`,
:func:`async_savepoint_connection`, :class:`SavepointIsolation`, and
:func:`assert_rows_hidden` / :func:`async_assert_rows_hidden` (rows outside a user's row
scopes are invisible on every route; see :mod:`restly.testing._scopes`). Importing this
package needs neither pytest nor an HTTP client; the two clients load ``fastapi.testclient``
(``httpx2``) and ``httpx`` on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._isolation import SavepointIsolation
from ._setup import configure_tests
from ._scopes import ScopeCheck, assert_rows_hidden, async_assert_rows_hidden
from ._savepoint import (
    activate_savepoint_only_mode,
    async_savepoint_connection,
    deactivate_savepoint_only_mode,
    savepoint_connection,
)

if TYPE_CHECKING:
    from ._client import AsyncRestlyTestClient, RestlyTestClient, check_status_code

__all__ = [
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

# Names whose module imports test-only packages (httpx, httpx2): loaded on first access.
_CLIENT_NAMES = frozenset({"AsyncRestlyTestClient", "RestlyTestClient", "check_status_code"})


def __getattr__(name: str) -> Any:
    if name in _CLIENT_NAMES:
        try:
            module = import_module("._client", __name__)
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError(
                f"restly.testing.{name} needs {error.name!r}, which is not installed: "
                'pip install "restly[testing]"',
                name=error.name,
            ) from error
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
