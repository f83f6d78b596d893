"""What the generated REST routes answer: error models, OpenAPI tables, JSON responses.

```python
@route("/{id}", methods=("GET",), **GET)          # response_model, summary, 404/503 documented
async def get(self, id: ItemId) -> Response:
    return json_response(body, 200)
```

`Slot`s here are filled per view class when its routes are compiled, so one method on a base
class documents every subclass's own schemas.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Response
from pydantic import BaseModel

from .._routing import Slot
from ..query import deferred_list_params_openapi

__all__ = [
    "CONFLICT",
    "CREATE",
    "DELETE",
    "GET",
    "LIST",
    "NOT_FOUND",
    "UPDATE",
    "CreationBody",
    "ErrorDetail",
    "ItemId",
    "ListParamsParameter",
    "UpdateBody",
    "ValidationErrors",
    "json_response",
    "summary",
]


class ErrorDetail(BaseModel):
    """The body of an error answer."""

    detail: str


def summary(action: str) -> Slot:
    """The OpenAPI summary of a generated route: `"List Book"`, filled per view class."""
    return Slot("model", lambda model: f"{action} {model.__name__}")


class ValidationErrors(BaseModel):
    """The body of a 422 answer: FastAPI's list of validation errors."""

    detail: list[dict[str, Any]]


NOT_FOUND = {404: {"model": ErrorDetail, "description": "No object with this id"}}
# List parameters are read by restly's own dependency, so FastAPI does not document their 422.
INVALID_QUERY = {422: {"model": ValidationErrors, "description": "Invalid query parameters"}}
CONFLICT = {409: {"model": ErrorDetail, "description": "A database constraint was violated"}}
TOO_LARGE = {413: {"model": ErrorDetail, "description": "The request body is too large"}}
UNAVAILABLE = {
    503: {
        "model": ErrorDetail,
        "description": "The database is unreachable, locked or timed out; retry later",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    }
}

#: Parameters of the generated routes, filled per view class (see `restly._routing.Slot`).
ListParamsParameter = Annotated[Any, Slot("__restly_compiled__.list_params_annotation")]
ItemId = Annotated[Any, Slot("__restly_compiled__.id_annotation"), Path()]
CreationBody = Annotated[Any, Slot("creation_schema"), Body()]
UpdateBody = Annotated[Any, Slot("update_schema"), Body()]

LIST: dict[str, Any] = dict(
    response_model=Slot("list_response_model"),
    summary=summary("List"),
    responses={**INVALID_QUERY, **UNAVAILABLE},
    openapi_extra=Slot("__restly_compiled__.list_params", deferred_list_params_openapi),
)
CREATE: dict[str, Any] = dict(
    status_code=201,
    response_model=Slot("response_schema"),
    summary=summary("Create"),
    responses={**CONFLICT, **TOO_LARGE, **UNAVAILABLE},
)
GET: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=summary("Get"),
    responses={**NOT_FOUND, **UNAVAILABLE},
)
UPDATE: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=summary("Update"),
    responses={**NOT_FOUND, **CONFLICT, **TOO_LARGE, **UNAVAILABLE},
)
DELETE: dict[str, Any] = dict(
    status_code=204,
    response_class=Response,
    summary=summary("Delete"),
    responses={**NOT_FOUND, **CONFLICT, **UNAVAILABLE},
)


def json_response(body: bytes, status_code: int) -> Response:
    """A JSON answer from bytes already serialised."""
    return Response(body, status_code=status_code, media_type="application/json")
