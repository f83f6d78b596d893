"""Test clients that check the status code of every call by default.

::

    from restly.testing import RestlyTestClient

    client = RestlyTestClient(app)
    created = client.post("/world", json={"message": "hi"}).json()   # asserts 201
    client.get(f"/world/{created['id']}")                            # asserts 200
    client.get("/world/999", assert_status_code=404)                  # expect another
    client.delete("/world/1", assert_status_code=None)                # no check

Expected by default: ``GET``, ``PUT`` and ``PATCH`` 200, ``POST`` 201, ``DELETE`` 204 — the
statuses restly's generated routes answer with. A mismatch raises ``AssertionError`` naming
the method, the URL, both statuses and the response body. Other methods (``request``,
``head``, ``options``) are not checked. :class:`AsyncRestlyTestClient` is the same over
``httpx.AsyncClient`` for async tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx
from fastapi.testclient import TestClient

if TYPE_CHECKING:
    import httpx2
    from starlette.types import ASGIApp

__all__ = [
    "AsyncRestlyTestClient",
    "RestlyTestClient",
    "check_status_code",
]

#: Longest response body quoted in a failed status check.
MAX_BODY_SHOWN = 2000


class _Response(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def request(self) -> Any: ...


R = TypeVar("R", bound=_Response)


def check_status_code(response: R, expected: int | None) -> R:
    """Return ``response``; raise ``AssertionError`` unless its status is ``expected``.

    ``expected=None`` skips the check. The message names the method, the URL, the
    expected and the actual status, and quotes the body (cut at ``MAX_BODY_SHOWN``).
    """
    __tracebackhide__ = True  # pytest shows the test's line, not this one
    if expected is None or response.status_code == expected:
        return response
    request = response.request
    body = response.text
    if len(body) > MAX_BODY_SHOWN:
        body = body[:MAX_BODY_SHOWN] + f"... ({len(response.text)} characters)"
    raise AssertionError(
        f"{request.method} {request.url} returned {response.status_code}, expected "
        f"{expected}. Response body:\n{body or '<empty>'}"
    )


class RestlyTestClient(TestClient):
    """FastAPI's ``TestClient`` whose ``get``/``post``/``put``/``patch``/``delete`` check
    the status code (200, 201, 200, 200, 204 by default).

    Pass ``assert_status_code=<int>`` to expect another status and ``None`` to skip the
    check. Every other argument is ``TestClient``'s.
    """

    __test__ = False

    def get(
        self, url: Any, *, assert_status_code: int | None = 200, **kwargs: Any
    ) -> httpx2.Response:
        """``GET url``; assert ``assert_status_code`` (default 200)."""
        return check_status_code(super().get(url, **kwargs), assert_status_code)

    def post(
        self, url: Any, *, assert_status_code: int | None = 201, **kwargs: Any
    ) -> httpx2.Response:
        """``POST url``; assert ``assert_status_code`` (default 201)."""
        return check_status_code(super().post(url, **kwargs), assert_status_code)

    def put(
        self, url: Any, *, assert_status_code: int | None = 200, **kwargs: Any
    ) -> httpx2.Response:
        """``PUT url``; assert ``assert_status_code`` (default 200)."""
        return check_status_code(super().put(url, **kwargs), assert_status_code)

    def patch(
        self, url: Any, *, assert_status_code: int | None = 200, **kwargs: Any
    ) -> httpx2.Response:
        """``PATCH url``; assert ``assert_status_code`` (default 200)."""
        return check_status_code(super().patch(url, **kwargs), assert_status_code)

    def delete(
        self, url: Any, *, assert_status_code: int | None = 204, **kwargs: Any
    ) -> httpx2.Response:
        """``DELETE url``; assert ``assert_status_code`` (default 204)."""
        return check_status_code(super().delete(url, **kwargs), assert_status_code)


class AsyncRestlyTestClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that calls ``app`` in-process (``httpx.ASGITransport``) and
    checks status codes like :class:`RestlyTestClient`.

    Use it as ``async with AsyncRestlyTestClient(app) as client:``. The app's lifespan is
    not run (``ASGITransport`` does not send lifespan events). Extra keyword arguments go to
    ``httpx.AsyncClient``.
    """

    __test__ = False

    def __init__(
        self,
        app: ASGIApp,
        base_url: str = "http://testserver",
        *,
        raise_app_exceptions: bool = True,
        **kwargs: Any,
    ) -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        super().__init__(transport=transport, base_url=base_url, **kwargs)
        #: The ASGI app under test.
        self.app = app

    async def get(
        self, url: Any, *, assert_status_code: int | None = 200, **kwargs: Any
    ) -> httpx.Response:
        """``GET url``; assert ``assert_status_code`` (default 200)."""
        return check_status_code(await super().get(url, **kwargs), assert_status_code)

    async def post(
        self, url: Any, *, assert_status_code: int | None = 201, **kwargs: Any
    ) -> httpx.Response:
        """``POST url``; assert ``assert_status_code`` (default 201)."""
        return check_status_code(await super().post(url, **kwargs), assert_status_code)

    async def put(
        self, url: Any, *, assert_status_code: int | None = 200, **kwargs: Any
    ) -> httpx.Response:
        """``PUT url``; assert ``assert_status_code`` (default 200)."""
        return check_status_code(await super().put(url, **kwargs), assert_status_code)

    async def patch(
        self, url: Any, *, assert_status_code: int | None = 200, **kwargs: Any
    ) -> httpx.Response:
        """``PATCH url``; assert ``assert_status_code`` (default 200)."""
        return check_status_code(await super().patch(url, **kwargs), assert_status_code)

    async def delete(
        self, url: Any, *, assert_status_code: int | None = 204, **kwargs: Any
    ) -> httpx.Response:
        """``DELETE url``; assert ``assert_status_code`` (default 204)."""
        return check_status_code(await super().delete(url, **kwargs), assert_status_code)
