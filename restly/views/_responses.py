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

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Body, Path, Response
from pydantic import BaseModel

from .._routing import Slot
from .._spliced import generated
from ..idempotency import HEADER, REPLAYED_HEADER_DOC, REUSED_DOC, key_parameter_doc
from ..query import deferred_list_params_openapi
from ..schemas import find_reference

__all__ = [
    "BAD_REQUEST",
    "CONFLICT",
    "COUNT_HEADERS",
    "CREATE",
    "DELETE",
    "GET",
    "LINK_HEADER",
    "LIST",
    "NOT_FOUND",
    "NOT_JSON",
    "PREFER_COUNT",
    "TOO_LARGE",
    "UNAVAILABLE",
    "UPDATE",
    "CreationBody",
    "ErrorDetail",
    "ItemId",
    "ListParamsParameter",
    "UpdateBody",
    "ValidationErrors",
    "json_response",
    "list_openapi",
    "list_responses",
    "summary",
    "write_docs",
    "write_parameters",
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


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No object with this id"}
}
# An IDRef of the body names an object that does not exist (or is hidden).
MISSING_REFERENCE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "A referenced object does not exist"}
}
# List parameters are read by restly's own dependency, so FastAPI does not document their 422.
INVALID_QUERY: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrors, "description": "Invalid query parameters"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorDetail, "description": "A database constraint was violated"}
}
TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorDetail, "description": "The request body is too large"}
}
NOT_JSON: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorDetail, "description": "The request body is not JSON"}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
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

# -- ETags, preconditions, Location and Prefer (RFC 9110 §8.8.3, §13; RFC 6585 §3; RFC 7240) --

_STRING = {"type": "string"}
_ETAG = {"ETag": {"description": "The object's entity tag (strong)", "schema": _STRING}}
_PREFER = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "return=minimal: answer without a body (201, or 204 for an update); "
    "return=representation: with the object (the default). Other preferences are ignored.",
    "schema": _STRING,
}
_APPLIED = {
    "Preference-Applied": {
        "description": "The return= preference honoured, if one was sent",
        "schema": _STRING,
    }
}
_LOCATION = {"Location": {"description": "The path of the created object", "schema": _STRING}}
_BAD_HEADER = {400: {"model": ErrorDetail, "description": "A malformed If-Match / If-None-Match"}}
_PRECONDITION_FAILED = {
    412: {"model": ErrorDetail, "description": "If-Match (or If-None-Match) does not hold"}
}
_PRECONDITION_REQUIRED = {
    428: {"model": ErrorDetail, "description": "The view requires If-Match on writes"}
}


def _tag_header(name: str, required: bool, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": _STRING,
    }


_IF_NONE_MATCH_READ = _tag_header(
    "If-None-Match", False, "ETags (or *): answer 304 Not Modified when one is current"
)
_IF_NONE_MATCH_WRITE = _tag_header(
    "If-None-Match", False, "ETags (or *): refuse the write (412) when one is current"
)


def _if_match(required: bool, write: bool) -> dict[str, Any]:
    action = "write only if" if write else "answer only if"
    return _tag_header("If-Match", required, f"ETags (or *): {action} one is current, else 412")


def _read_docs(conditional: Any) -> dict[Any, Any]:
    """The responses of `GET /{id}`: with ETags, the tag, 304, 400 and 412."""
    responses: dict[Any, Any] = {**NOT_FOUND, **UNAVAILABLE}
    if conditional is not None:
        responses = {
            200: {"headers": _ETAG},
            304: {
                "description": "Not Modified: If-None-Match names the current ETag",
                "headers": _ETAG,
            },
            **_BAD_HEADER,
            **responses,
            **_PRECONDITION_FAILED,
        }
    return responses


def _read_parameters(compiled: Any) -> dict[str, Any] | None:
    """The parameters of `GET /{id}`: precondition headers with ETags, `fields` and
    `expand` where the view accepts them."""
    parameters = []
    if compiled.conditional is not None:
        parameters += [_IF_NONE_MATCH_READ, _if_match(False, write=False)]
    if compiled.shapes is not None:
        parameters += compiled.shapes.parameters()
    return {"parameters": parameters} if parameters else None


def _read_model(view: Any) -> Any:
    """The response model of `GET /{id}`: with `expandable`/`sparse_fields`, the schema
    that documents them."""
    shapes = view.__restly_compiled__.shapes
    return view.response_schema if shapes is None else shapes.documented


def write_docs(
    status: int,
    base: dict[Any, Any] | Slot,
    *,
    preconditions: bool,
    minimal: bool,
    idempotent: bool = False,
) -> Slot:
    """The responses of a write answering `status`, per view: `Location` (201),
    `Preference-Applied` and the bodiless 204 of an update (`minimal`), and for a view with
    ETags the new tag, and 400/412 (and 428 when required) where `preconditions` are read;
    `Idempotent-Replayed`, 400 and 409 where `idempotent` routes honour `Idempotency-Key`."""

    def document(view: Any) -> dict[Any, Any]:
        conditional = view.__restly_compiled__.conditional
        keyed = _idempotency_mode(view, idempotent)
        headers: dict[str, Any] = {**(_LOCATION if status == 201 else {})}
        if minimal:
            headers.update(_APPLIED)
        if conditional is not None and status != 204:
            headers.update(_ETAG)
        if keyed:
            headers.update(_REPLAYED)
        responses: dict[Any, Any] = {status: {"headers": headers}} if headers else {}
        if minimal and status == 200:
            responses[204] = {
                "description": "Updated; no body (Prefer: return=minimal)",
                "headers": {
                    **_APPLIED,
                    **(_ETAG if conditional is not None else {}),
                    **(_REPLAYED if keyed else {}),
                },
            }
        responses.update(base.resolve(view) if isinstance(base, Slot) else base)
        if conditional is not None and preconditions:
            responses.update({**_BAD_HEADER, **_PRECONDITION_FAILED})
            if conditional.require_if_match:
                responses.update(_PRECONDITION_REQUIRED)
        if keyed:
            _add_causes(responses, _key_errors(keyed))
        return responses

    return Slot("", document)


def write_parameters(*, preconditions: bool, minimal: bool, idempotent: bool = False) -> Slot:
    """The header parameters of a write, per view: `Prefer`, `If-Match`, `If-None-Match`,
    and `Idempotency-Key` where `idempotent` routes honour it (with what its 422 means:
    FastAPI's own 422 answer and schema are kept)."""

    def document(view: Any) -> dict[str, Any] | None:
        conditional = view.__restly_compiled__.conditional
        keyed = _idempotency_mode(view, idempotent)
        parameters = [_PREFER] if minimal else []
        if conditional is not None and preconditions:
            parameters += [
                _if_match(conditional.require_if_match, write=True),
                _IF_NONE_MATCH_WRITE,
            ]
        extra: dict[str, Any] = {}
        if keyed:
            parameters.append(key_parameter_doc(keyed, view.__restly_globals__.idempotency_ttl))
            extra["responses"] = {"422": {"description": REUSED_DOC}}
        if parameters:
            extra["parameters"] = parameters
        return extra or None

    return Slot("", document)


# -- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) ----------------------------

_REPLAYED = REPLAYED_HEADER_DOC


def _idempotency_mode(view: Any, idempotent: bool) -> bool | str:
    return getattr(view, "idempotency", False) if idempotent else False


def _key_errors(mode: bool | str) -> dict[int, dict[str, Any]]:
    missing = " or none sent" if mode == "required" else ""
    return {
        400: {"model": ErrorDetail, "description": f"Malformed {HEADER}{missing}"},
        409: {
            "model": ErrorDetail,
            "description": f"A request with this {HEADER} is still being processed (retry "
            "after Retry-After seconds)",
            "headers": {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
            },
        },
    }


def _add_causes(responses: dict[Any, Any], causes: dict[int, dict[str, Any]]) -> None:
    """Add the error answers `causes` to `responses`: a status already documented keeps its
    model and gets the other cause in its description (`"A; or b"`) and headers."""
    for status, cause in causes.items():
        known = responses.get(status)
        if known is None:
            responses[status] = cause
            continue
        description = known.get("description")
        merged = {**cause, **known}
        if description:
            other = cause["description"]
            merged["description"] = f"{description}; or {other[:1].lower()}{other[1:]}"
        merged["headers"] = {**cause.get("headers", {}), **known.get("headers", {})}
        responses[status] = merged


BAD_REQUEST: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorDetail, "description": "A cursor that is not valid here"}
}
#: Documentation of the `Prefer` request header and the list answer's headers.
PREFER_COUNT = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": (
        "How to count the total (RFC 7240): count=exact, count=planned (the database "
        "planner's estimate), count=estimated (exact for small totals, planned above), "
        "count=none (no count: has_more). Answered in Preference-Applied."
    ),
    "schema": {"type": "string", "examples": ["count=exact", "count=planned", "count=none"]},
}
LINK_HEADER = {
    "Link": {
        "description": 'RFC 8288 links to the next and previous pages: <...>; rel="next"',
        "schema": {"type": "string"},
    }
}
COUNT_HEADERS = {
    "Preference-Applied": {
        "description": "The count applied, when Prefer asked for one: count=exact, ...",
        "schema": {"type": "string"},
    },
    "Vary": {"description": "Prefer: the total depends on it", "schema": {"type": "string"}},
}


def list_openapi(compiled: Any) -> dict[str, Any]:
    """The list route's `openapi_extra`: its query parameters, and `Prefer` where the
    answer reports a total."""
    extra = deferred_list_params_openapi(compiled.list_params)
    if compiled.counts:
        extra = {**extra, "parameters": [*extra["parameters"], dict(PREFER_COUNT)]}
    if compiled.shapes is not None:
        extra = {**extra, "parameters": [*extra["parameters"], *compiled.shapes.parameters()]}
    return generated(extra)


def list_responses(counts: bool) -> dict[int | str, dict[str, Any]]:
    """The list route's documented answers: 200 with its headers, 400, 422, 503."""
    headers = {**LINK_HEADER, **(COUNT_HEADERS if counts else {})}
    return {200: {"headers": headers}, **BAD_REQUEST, **INVALID_QUERY, **UNAVAILABLE}


LIST: dict[str, Any] = dict(
    response_model=Slot("list_response_model"),
    summary=summary("List"),
    responses=Slot("include_pagination_metadata", list_responses),
    openapi_extra=Slot("__restly_compiled__", list_openapi),
)


def _create_responses(creation_schema: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The error answers of a create: a 404 only when the body has references (`IDRef`,
    `IDSchema`, `MustExist`)."""
    fields = creation_schema.model_fields.values()
    references = any(find_reference(field) is not None for field in fields)
    return {
        **(MISSING_REFERENCE if references else {}),
        **CONFLICT,
        **TOO_LARGE,
        **NOT_JSON,
        **UNAVAILABLE,
    }


CREATE: dict[str, Any] = dict(
    status_code=201,
    response_model=Slot("response_schema"),
    summary=summary("Create"),
    responses=write_docs(
        201,
        Slot("creation_schema", _create_responses),
        preconditions=False,
        minimal=True,
        idempotent=True,
    ),
    openapi_extra=write_parameters(preconditions=False, minimal=True, idempotent=True),
)
GET: dict[str, Any] = dict(
    response_model=Slot("", _read_model),
    summary=summary("Get"),
    responses=Slot("__restly_compiled__.conditional", _read_docs),
    openapi_extra=Slot("__restly_compiled__", _read_parameters),
)
UPDATE: dict[str, Any] = dict(
    response_model=Slot("response_schema"),
    summary=summary("Update"),
    responses=write_docs(
        200,
        {**NOT_FOUND, **CONFLICT, **TOO_LARGE, **NOT_JSON, **UNAVAILABLE},
        preconditions=True,
        minimal=True,
        idempotent=True,
    ),
    openapi_extra=write_parameters(preconditions=True, minimal=True, idempotent=True),
)
DELETE: dict[str, Any] = dict(
    status_code=204,
    response_class=Response,
    summary=summary("Delete"),
    responses=write_docs(
        204, {**NOT_FOUND, **CONFLICT, **UNAVAILABLE}, preconditions=True, minimal=False
    ),
    openapi_extra=write_parameters(preconditions=True, minimal=False),
)


def json_response(
    body: bytes, status_code: int, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer from bytes already serialised."""
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")
