"""Exceptions raised by restly.

The hierarchy:

```python
RestlyError                       base of everything restly raises itself
├── RestlyConfigurationError      a view class is misconfigured (also a TypeError),
│                                 raised when the class statement runs
├── IdempotencyKeyReused          422, an Idempotency-Key sent again with another
│                                 request (also FastAPI's RequestValidationError)
└── RestlyHTTPError               an error meant for the client (also an HTTPException)
    ├── Forbidden                 403, raised by `authorize` to refuse an action
    ├── NotFound                  404 {"detail": "Not Found"}
    ├── Conflict                  409, e.g. a unique constraint was violated
    │   └── IdempotencyKeyInFlight  409, a request with this Idempotency-Key still runs
    ├── BadRequest                400, e.g. a malformed react-admin parameter
    ├── PayloadTooLarge           413, the request body exceeds the configured limit
    ├── PreconditionFailed        412, If-Match / If-None-Match did not hold
    ├── PreconditionRequired      428, the view requires If-Match on writes
    ├── ServiceUnavailable        503, the database cannot be reached in time
    └── CommitOutcomeUnknown      500, the connection died after COMMIT was sent: the
                                  write may or may not have been applied
```

Example:

```python
from restly.exc import NotFound

async def handle_get(self, id):
    if not allowed(id):
        raise NotFound()
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError

__all__ = [
    "BadRequest",
    "CommitOutcomeUnknown",
    "Conflict",
    "Forbidden",
    "IdempotencyKeyInFlight",
    "IdempotencyKeyReused",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "PreconditionRequired",
    "RestlyConfigurationError",
    "RestlyError",
    "RestlyHTTPError",
    "ServiceUnavailable",
    "StillReferenced",
]


#: The members RFC 9457 defines for a problem; an extension can never take their place.
STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})
# RFC 9457 §3.2/§4: extension names start with a letter, then letters, digits or "_",
# three characters at least, so that they are usable in any language.
_EXTENSION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{2,}")


def is_extension_name(name: object) -> bool:
    """Whether ``name`` can be a problem's extension member: well formed, not standard."""
    return (
        isinstance(name, str)
        and name not in STANDARD_MEMBERS
        and _EXTENSION_NAME.fullmatch(name) is not None
    )


class RestlyError(Exception):
    """Base class of every exception restly raises itself."""


class RestlyConfigurationError(RestlyError, TypeError):
    """A view class (or a call such as `configure`) is misconfigured.

    Raised while the `class` statement runs, never at request time. The message names the
    class, the attribute, what was given and how to fix it; several problems found in one class
    are reported together.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)

    @classmethod
    def for_class(cls, owner: type, problems: Sequence[str]) -> RestlyConfigurationError:
        """Build one error listing every problem found in `owner`."""
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{owner.__name__} is misconfigured ({count} {noun}):"]
        lines.extend(f"  - {problem}" for problem in problems)
        return cls("\n".join(lines), problems)


class RestlyHTTPError(RestlyError, HTTPException):
    """An error answered to the client with `status_code` and a JSON `detail`.

    With problem details on (`fr.configure(app, problem_details=True)`), the answer is an
    RFC 9457 problem whose `type` is the class's `problem_type` (one of
    `restly._problems.PROBLEM_TYPES`, or `about:blank` when None), and `extensions` are
    added as extension members: `Conflict("Invoice paid", extensions={"invoice": 7})`.
    Extensions are not shown in the plain `{"detail": ...}` answers.
    """

    # An instance attribute of HTTPException (set by its __init__); the class value is the
    # default each subclass declares.
    status_code: int = 500
    default_detail: ClassVar[str] = "Internal Server Error"
    #: The slug of the problem type answered with problem details; None: `about:blank`.
    problem_type: ClassVar[str | None] = None

    def __init__(
        self,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        HTTPException.__init__(
            self,
            status_code=type(self).status_code,
            detail=self.default_detail if detail is None else detail,
            headers=dict(headers) if headers else None,
        )
        self.extensions: dict[str, Any] = dict(extensions or {})
        for name in self.extensions:
            if not is_extension_name(name):
                raise ValueError(
                    f"{type(self).__name__}(extensions=...): {name!r} cannot be an extension "
                    "member; use a name of 3+ letters, digits or '_' starting with a letter, "
                    "other than type, title, status, detail and instance."
                )


class Forbidden(RestlyHTTPError):
    """403: the client may not do this (raised by ``authorize``)."""

    status_code = 403
    default_detail = "Forbidden"


class NotFound(RestlyHTTPError):
    """404: the addressed object does not exist (or is hidden from this client)."""

    status_code = 404
    default_detail = "Not Found"
    problem_type = "not-found"


class Conflict(RestlyHTTPError):
    """409: the request conflicts with stored data, e.g. a unique constraint."""

    status_code = 409
    default_detail = "Conflict"


class StillReferenced(Conflict):
    """409: a ``DELETE`` of a row that rows of other tables still reference; the detail
    names those tables (``"Cannot delete: rows of book still reference it"``)."""

    problem_type = "constraint-violation"


class IdempotencyKeyInFlight(Conflict):
    """409: a request with the same ``Idempotency-Key`` is still being processed; the
    client retries after ``Retry-After`` seconds and then gets its answer replayed."""

    problem_type = "idempotency-key-in-flight"
    default_detail = (
        "A request with this Idempotency-Key is still being processed; retry after "
        "Retry-After seconds"
    )

    def __init__(
        self,
        detail: Any = None,
        retry_after: int = 1,
        *,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, extensions=extensions)


class IdempotencyKeyReused(RequestValidationError, RestlyError):
    """422: the ``Idempotency-Key`` was already used for another request (another body,
    method or URL). Answered like every validation error: FastAPI's ``{"detail": [...]}``
    with the error at ``["header", "Idempotency-Key"]``, or with problem details a 422
    problem of type ``/problems/idempotency-key-reuse``."""

    #: The slug of the problem type answered with problem details.
    problem_type: ClassVar[str] = "idempotency-key-reuse"
    default_detail: ClassVar[str] = (
        "This Idempotency-Key was already used for another request (another body, method "
        "or URL); send a new key for a new request"
    )

    def __init__(self) -> None:
        RequestValidationError.__init__(
            self,
            [
                {
                    "type": "idempotency_key_reused",
                    "loc": ("header", "Idempotency-Key"),
                    "msg": self.default_detail,
                    "input": None,
                }
            ],
        )


class BadRequest(RestlyHTTPError):
    """400: the request is malformed in a way validation did not catch."""

    status_code = 400
    default_detail = "Bad Request"


class PayloadTooLarge(RestlyHTTPError):
    """413: the request body is larger than the configured limit."""

    status_code = 413
    default_detail = "Request body too large"
    problem_type = "content-too-large"


class PreconditionFailed(RestlyHTTPError):
    """412: a precondition of the request (``If-Match``, ``If-None-Match``) did not hold, e.g.
    the object changed since the client read it; nothing was written."""

    status_code = 412
    problem_type = "precondition-failed"
    default_detail = (
        "The object has changed since you read it (If-Match does not match its current "
        "ETag); GET it again and resend your change with the new ETag"
    )


class PreconditionRequired(RestlyHTTPError):
    """428: the view requires a conditional write (``require_if_match = True``)."""

    status_code = 428
    problem_type = "precondition-required"
    default_detail = (
        "This write must be conditional: GET the object, then resend the request with "
        "If-Match: <its ETag> (or If-Match: * to write whatever its current state)"
    )


class ServiceUnavailable(RestlyHTTPError):
    """503: the database is unreachable, locked or timed out; the client may retry."""

    status_code = 503
    default_detail = "Service temporarily unavailable"
    problem_type = "service-unavailable"

    def __init__(
        self,
        detail: Any = None,
        retry_after: int = 1,
        *,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, extensions=extensions)


class CommitOutcomeUnknown(RestlyHTTPError):
    """500: the connection to the database died after COMMIT was sent and before its answer
    came back, so nobody can tell whether the write was applied.

    Raised by restly's commit (views, ``SessionDep``, ``fr.session()``) from the driver's
    error, in place of the 503 an outage gets: a 503 says "retry", and retrying a write that
    did commit applies it twice. No ``Retry-After``. A client that sent an
    ``Idempotency-Key`` retries with the same key: the stored answer is replayed if the
    write was applied, and the write runs once if it was not.
    """

    status_code = 500
    problem_type = "commit-outcome-unknown"
    default_detail = (
        "The connection to the database was lost after the write was sent to be committed: "
        "it may have been applied. Check before writing again, or retry only with the same "
        "Idempotency-Key"
    )
