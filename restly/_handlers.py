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
``DBAPIError`` of a protocol violation (08P01)        500     a configuration error (e.g.
                                                              prepared statements crossed
                                                              behind PgBouncer)
any other ``DBAPIError`` (no such table, syntax...)   500     a bug: not disguised as a 503;
                                                              JSON, logged on ``restly``
``CommitOutcomeUnknown`` (connection lost after       500     the write may have been
COMMIT was sent)                                              applied: no ``Retry-After``
``RequestValidationError``                            422     FastAPI's answer, with inputs made
                                                              JSON-safe (no NaN, no surrogates)
====================================================  ======  =================================

Bodies are ``{"detail": "..."}`` and never contain SQL text. A database error answered 500
is logged (with its traceback) on the ``restly`` logger and answered here, as JSON, rather
than left to the server error middleware: that would answer plain text, and re-raise to the
server, which then closes the client's keep-alive connection. ``restly._faults`` reads the
driver's error codes, for the status and the message alike. Installed by
``fr.configure(app=app)`` or when a view is first mounted on an app; a handler the user
registered for the same exception wins, and ``install_default_exception_handlers=False`` opts
out.

With ``fr.configure(app, problem_details=True)`` the same errors, every ``HTTPException``
(Starlette's routing 404 and 405 included) and any unhandled exception (500) are answered as
RFC 9457 problems instead (see ``restly._problems``); a ``HEAD`` request gets the status and
headers without the body. The app keeps its choice: views mounted later install the same
set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.utils import is_body_allowed_for_status_code
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ._faults import classify, describe_integrity_error, from_database_driver
from ._problems import (
    NO_BODY,
    ProblemResponse,
    document_problems,
    json_safe,
    problem,
    validation_errors,
    validation_summary,
)
from .exc import PreconditionFailed, RestlyHTTPError

__all__ = ["install_exception_handlers", "uses_problem_details"]

RETRY_AFTER_SECONDS = 1
logger = logging.getLogger("restly")

_UNAVAILABLE = "The database is unavailable or busy; retry shortly"
_CONCURRENT = "The object was changed or deleted by a concurrent request; reload and retry"
_INVALID = "The database refused a value of this request"
_SERVER_ERROR = "The server could not answer this request"
_RETRY = {"Retry-After": str(RETRY_AFTER_SECONDS)}

# --- {"detail": ...} answers ------------------------------------------------------------------


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
    _log_server_error(request, error)  # a programming error: a 500, noticed and fixed
    return JSONResponse({"detail": _SERVER_ERROR}, status_code=500)


def _log_server_error(request: Request, error: BaseException) -> None:
    logger.error(
        "Database error answered 500: %s %s", request.method, request.url.path, exc_info=error
    )


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
    return JSONResponse({"detail": _UNAVAILABLE}, status_code=503, headers=_RETRY)


async def _validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 answer, with every echoed input made JSON-safe first."""
    assert isinstance(error, RequestValidationError)
    detail = json_safe(jsonable_encoder(error.errors()))
    return JSONResponse({"detail": detail}, status_code=422)


# --- problem details --------------------------------------------------------------------------


def _problem_response(
    request: Request, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> Response:
    response = ProblemResponse(
        json_safe(jsonable_encoder(body)), status_code=body["status"], headers=headers
    )
    if request.method == "HEAD":
        response.body = b""  # the headers of the answer a GET would get, Content-Length too
    return response


async def _database_problem_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, DBAPIError)
    fault = classify(error)
    if fault == "unavailable":
        return _unavailable_problem(request)
    if fault == "conflict":
        return _concurrent_problem(request)
    if fault == "constraint":
        detail = describe_integrity_error(error)
        return _problem_response(request, problem(409, kind="constraint-violation", detail=detail))
    if fault == "invalid":
        errors = [{"detail": _INVALID, "code": "value_refused"}]
        body = problem(422, kind="invalid-value", detail=_INVALID, extensions={"errors": errors})
        return _problem_response(request, body)
    _log_server_error(request, error)  # a programming error: a 500, noticed and fixed
    return _problem_response(request, problem(500, detail=_SERVER_ERROR))


async def _unavailable_problem_handler(request: Request, error: Exception) -> Response:
    return _unavailable_problem(request)


async def _os_error_problem_handler(request: Request, error: Exception) -> Response:
    if from_database_driver(error):
        return _unavailable_problem(request)
    raise error


async def _stale_data_problem_handler(request: Request, error: Exception) -> Response:
    if "if-match" in request.headers or "if-none-match" in request.headers:
        body = problem(412, kind="precondition-failed", detail=PreconditionFailed.default_detail)
        return _problem_response(request, body)
    return _concurrent_problem(request)


def _concurrent_problem(request: Request) -> Response:
    return _problem_response(request, problem(409, kind="concurrent-update", detail=_CONCURRENT))


def _unavailable_problem(request: Request) -> Response:
    body = problem(503, kind="service-unavailable", detail=_UNAVAILABLE)
    return _problem_response(request, body, _RETRY)


async def _validation_problem_handler(request: Request, error: Exception) -> Response:
    """One 422 problem listing every error, with pointers into the body that was sent."""
    assert isinstance(error, RequestValidationError)
    errors = validation_errors(error.errors(), _submitted_json(request))
    # restly's own kinds of 422 (a reused Idempotency-Key) name their type
    kind = getattr(error, "problem_type", None) or "validation"
    body = problem(
        422, kind=kind, detail=validation_summary(errors), extensions={"errors": errors}
    )
    return _problem_response(request, body)


def _submitted_json(request: Request) -> Any:
    """The JSON body this request sent, if it was read (restly's routes parse it first)."""
    parsed = getattr(request, "_json", NO_BODY)  # Starlette's cache of `request.json()`
    if parsed is not NO_BODY:
        return parsed
    raw = getattr(request, "_body", None)
    if not raw:
        return NO_BODY
    try:
        return json.loads(raw)
    except ValueError:
        return NO_BODY


async def _http_problem_handler(request: Request, error: Exception) -> Response:
    """An `HTTPException` (routing's 404/405, restly's errors, the application's own)."""
    assert isinstance(error, HTTPException)
    status, headers = error.status_code, error.headers
    if not is_body_allowed_for_status_code(status):
        return Response(status_code=status, headers=headers)
    detail, extensions = _detail_and_extensions(error.detail)
    kind = None
    if isinstance(error, RestlyHTTPError):
        kind = error.problem_type
        extensions.update(error.extensions)
    body = problem(status, kind=kind, detail=detail, extensions=extensions)
    return _problem_response(request, body, headers)


def _detail_and_extensions(detail: Any) -> tuple[str | None, dict[str, Any]]:
    """An `HTTPException.detail` as a problem's `detail` and extension members: a mapping
    gives its `detail` (when a string) and its other keys; other values go under `data`."""
    if isinstance(detail, str):
        return detail, {}
    if isinstance(detail, Mapping):
        text = detail.get("detail")
        extensions = {key: value for key, value in detail.items() if key != "detail"}
        return (text if isinstance(text, str) else None), extensions
    return None, {"data": detail}


async def _server_error_problem_handler(request: Request, error: Exception) -> Response:
    """500 without internals; the server error middleware still logs the exception."""
    return _problem_response(request, problem(500, detail=_SERVER_ERROR))


# --- installation -----------------------------------------------------------------------------

Handler = Callable[[Request, Exception], Awaitable[Response]]

_HANDLERS: dict[Any, Handler] = {
    IntegrityError: _database_error_handler,
    DBAPIError: _database_error_handler,
    StaleDataError: _stale_data_handler,
    PoolTimeoutError: _unavailable_handler,
    ConnectionError: _unavailable_handler,
    TimeoutError: _unavailable_handler,
    OSError: _os_error_handler,
    RequestValidationError: _validation_error_handler,
}
_PROBLEM_HANDLERS: dict[Any, Handler] = {
    IntegrityError: _database_problem_handler,
    DBAPIError: _database_problem_handler,
    StaleDataError: _stale_data_problem_handler,
    PoolTimeoutError: _unavailable_problem_handler,
    ConnectionError: _unavailable_problem_handler,
    TimeoutError: _unavailable_problem_handler,
    OSError: _os_error_problem_handler,
    RequestValidationError: _validation_problem_handler,
    HTTPException: _http_problem_handler,
    Exception: _server_error_problem_handler,
}
# Handlers that are not the user's: restly may replace them. FastAPI's own are restored
# when problem details are switched off again.
_FASTAPI_DEFAULTS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    RequestValidationError: request_validation_exception_handler,
}
_NOT_USERS = frozenset(
    {*_HANDLERS.values(), *_PROBLEM_HANDLERS.values(), *_FASTAPI_DEFAULTS.values()}
)


def uses_problem_details(app: FastAPI) -> bool:
    """Whether `app` answers errors as problem details (`configure(app, problem_details=)`)."""
    return bool(getattr(app.state, "restly_problem_details", False))


def install_exception_handlers(app: FastAPI, *, problem_details: bool | None = None) -> None:
    """Install restly's handlers on `app`, leaving handlers the user registered in place.

    `problem_details` switches the app between `{"detail": ...}` answers and problem
    details; None keeps its current choice (what mounting a view does).
    """
    if problem_details is None:
        problem_details = uses_problem_details(app)
    else:
        app.state.restly_problem_details = problem_details
        app.openapi_schema = None  # the error responses it documents change
        if problem_details:
            _document_problem_details(app)
    chosen = _PROBLEM_HANDLERS if problem_details else _HANDLERS
    handlers = app.exception_handlers
    for exception_class in _PROBLEM_HANDLERS.keys() | _HANDLERS.keys():
        current = handlers.get(exception_class)
        if exception_class is Exception and 500 in handlers:
            continue  # the user's own 500 handler
        if current is not None and current not in _NOT_USERS:
            continue
        handler = chosen.get(exception_class, _FASTAPI_DEFAULTS.get(exception_class))
        if handler is not None:
            app.add_exception_handler(exception_class, handler)
        elif current is not None:
            del handlers[exception_class]


def _document_problem_details(app: FastAPI) -> None:
    """Make `app.openapi` document problems on every error response (wrapped once; the
    wrapper reads the app's current choice whenever the document is built)."""
    build = app.openapi
    if getattr(build, "__restly_problems__", False):
        return

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:  # FastAPI's own cache: nothing is generated
            return app.openapi_schema
        document = build()
        return document_problems(document) if uses_problem_details(app) else document

    openapi.__restly_problems__ = True  # type: ignore[attr-defined]
    # restly's other wrapper (`restly.mount`) must still see that it is in place
    openapi.__restly_references__ = getattr(build, "__restly_references__", False)  # type: ignore[attr-defined]
    app.openapi = openapi  # type: ignore[method-assign]
