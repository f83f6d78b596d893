"""Exception handlers restly installs on an app: database errors become clean JSON answers.

``IntegrityError`` -> 409 with a short message naming the constraint (never SQL text).
Installed by ``fr.configure(app=app)`` or when a view is first mounted on an app; a handler the
user registered for the same exception wins, and ``install_default_exception_handlers=False``
opts out.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from ._integrity import describe_integrity_error

__all__ = ["install_exception_handlers"]


async def _integrity_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, IntegrityError)
    return JSONResponse({"detail": describe_integrity_error(error)}, status_code=409)


_HANDLERS = {IntegrityError: _integrity_error_handler}


def install_exception_handlers(app: FastAPI) -> None:
    """Install restly's handlers on ``app``, leaving handlers the user registered in place."""
    for exception_class, handler in _HANDLERS.items():
        if exception_class not in app.exception_handlers:
            app.add_exception_handler(exception_class, handler)
