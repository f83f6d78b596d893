"""Exception handlers restly installs on an app: database errors become clean JSON answers.

====================================================  ======  =================================
exception                                             status  why
====================================================  ======  =================================
``IntegrityError``                                    409     a constraint was violated
``StaleDataError``                                    409     the row changed or vanished
                                                              under a concurrent request
``StaleDataError`` of a request with ``If-Match`` or  412     the precondition no longer
``If-None-Match``                                             holds: nothing was written
``DBAPIError`` of a serialization failure/deadlock    409     concurrent transactions collided
``DBAPIError`` of a violated constraint               409     MySQL/MariaDB: a failed CHECK, a
                                                              NOT NULL column without default
                                                              left out of an INSERT
``DBAPIError`` the database refused a value           422     e.g. out of range, not storable;
                                                              FastAPI's ``detail`` list shape
``DBAPIError`` unreachable / locked / timed out       503     transient; ``Retry-After: 1``
``DBAPIError`` the connection died mid-request        503     killed between statements or
                                                              at COMMIT; nothing committed
``DBAPIError`` a write on a read-only server          503     a failover in progress (SQLSTATE
                                                              25006, MySQL 1290/1792/1836)
``sqlalchemy.exc.TimeoutError`` (pool exhausted)      503     transient; ``Retry-After: 1``
``ConnectionError``, ``TimeoutError`` (builtins)      503     a driver failed to connect, or a
                                                              session generator did
``OSError`` raised by a driver or SQLAlchemy          503     e.g. asyncpg's "Multiple
                                                              exceptions" connecting
any other ``OSError``                                 500     the application's own I/O
any other ``DBAPIError`` (no such table, syntax...)   500     a bug: not disguised as a 503
``RequestValidationError``                            422     FastAPI's answer, with inputs made
                                                              JSON-safe (no NaN, no surrogates)
====================================================  ======  =================================

Bodies are ``{"detail": "..."}`` and never contain SQL text. ``restly._faults`` reads the
driver's error codes, for the status and the message alike. Installed by
``fr.configure(app=app)`` or when a view is first mounted on an app; a handler the user
registered for the same exception wins, and ``install_default_exception_handlers=False`` opts
out.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from ._faults import classify, describe_integrity_error, from_database_driver
from .exc import PreconditionFailed

__all__ = ["install_exception_handlers"]

RETRY_AFTER_SECONDS = 1

_UNAVAILABLE = "The database is unavailable or busy; retry shortly"
_CONCURRENT = "The object was changed or deleted by a concurrent request; reload and retry"
_INVALID = "The database refused a value of this request"


async def _database_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DBAPIError)
    fault = classify(error)
    if fault == "unavailable":
        return _unavailable()
    if fault == "conflict":
        return JSONResponse({"detail": _CONCURRENT}, status_code=409)
    if fault == "constraint":
        return JSONResponse({"detail": describe_integrity_error(error)}, status_code=409)
    if fault == "invalid":
        # Shaped like FastAPI's validation answer, which is what OpenAPI documents for 422.
        detail: list[dict[str, Any]] = [
            {"type": "value_error", "loc": [], "msg": _INVALID, "input": None}
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    raise error  # a programming error: the server error middleware answers 500


async def _unavailable_handler(request: Request, error: Exception) -> JSONResponse:
    return _unavailable()


async def _os_error_handler(request: Request, error: Exception) -> JSONResponse:
    if from_database_driver(error):
        return _unavailable()
    raise error  # the application's own I/O failed: the server error middleware answers 500


async def _stale_data_handler(request: Request, error: Exception) -> JSONResponse:
    if "if-match" in request.headers or "if-none-match" in request.headers:
        return JSONResponse({"detail": PreconditionFailed.default_detail}, status_code=412)
    return JSONResponse({"detail": _CONCURRENT}, status_code=409)


def _unavailable() -> JSONResponse:
    return JSONResponse(
        {"detail": _UNAVAILABLE},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 answer, with every echoed input made JSON-safe first."""
    assert isinstance(error, RequestValidationError)
    detail = _json_safe(jsonable_encoder(error.errors()))
    return JSONResponse({"detail": detail}, status_code=422)


def _json_safe(value: Any) -> Any:
    """Replace what strict JSON cannot carry: non-finite floats, lone surrogates."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_json_safe(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]

_HANDLERS: dict[type[Exception], Handler] = {
    IntegrityError: _database_error_handler,
    DBAPIError: _database_error_handler,
    StaleDataError: _stale_data_handler,
    PoolTimeoutError: _unavailable_handler,
    ConnectionError: _unavailable_handler,
    TimeoutError: _unavailable_handler,
    OSError: _os_error_handler,
}


def install_exception_handlers(app: FastAPI) -> None:
    """Install restly's handlers on ``app``, leaving handlers the user registered in place."""
    for exception_class, handler in _HANDLERS.items():
        if exception_class not in app.exception_handlers:
            app.add_exception_handler(exception_class, handler)
    # FastAPI registers its own 422 handler on every app; replace only that default one.
    current = app.exception_handlers.get(RequestValidationError)
    if current is None or current is request_validation_exception_handler:
        app.add_exception_handler(RequestValidationError, _validation_error_handler)
