"""RFC 9457 problem details: the vocabulary of restly's error answers.

With ``fr.configure(app, problem_details=True)`` every error answer is
``application/problem+json``::

    {"type": "/problems/not-found", "title": "Not Found", "status": 404,
     "detail": "Id not found for owner: 7"}
    {"type": "about:blank", "title": "Method Not Allowed", "status": 405,
     "detail": "Method Not Allowed"}
    {"type": "/problems/validation", "title": "Invalid Request", "status": 422,
     "detail": "title: Field required", "errors": [
         {"detail": "Field required", "pointer": "#/title", "code": "missing"}]}

restly's own kinds of error have a stable ``type`` (:data:`PROBLEM_TYPES`, the one table
every feature takes its types from); any other error is ``about:blank`` with the status's
reason phrase as its ``title``. Type URIs are relative references (``/problems/<slug>``):
they resolve against the API's own origin, where an application may publish their
documentation. Extension members never replace the five standard ones.

A 422 carries one ``errors`` list: each item has the ``detail`` and where it is, an RFC 6901
``pointer`` into the submitted body (in URI fragment form), a ``parameter`` (query, path and
cookie parameters) or a ``header``. No item quotes the value that was sent.
"""

from __future__ import annotations

import http
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.responses import JSONResponse

from .exc import STANDARD_MEMBERS, is_extension_name

__all__ = [
    "NO_BODY",
    "PROBLEM_MEDIA_TYPE",
    "PROBLEM_TYPES",
    "STANDARD_MEMBERS",
    "document_problems",
    "ProblemResponse",
    "ProblemType",
    "is_extension_name",
    "json_pointer",
    "json_safe",
    "problem",
    "reason_phrase",
    "validation_errors",
    "validation_summary",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemResponse(JSONResponse):
    """A problem object answered as ``application/problem+json``."""

    media_type = PROBLEM_MEDIA_TYPE



@dataclass(frozen=True, slots=True)
class ProblemType:
    """A kind of error restly answers: its type URI, constant title and usual status."""

    uri: str
    title: str
    status: int


#: restly's own problem types, by slug. Every feature that answers one of these takes its
#: type from here (``problem(412, kind="precondition-failed", ...)``).
PROBLEM_TYPES: dict[str, ProblemType] = {
    slug: ProblemType(f"/problems/{slug}", title, status)
    for slug, title, status in (
        ("validation", "Invalid Request", 422),
        ("invalid-value", "Value Refused by the Database", 422),
        ("not-found", "Not Found", 404),
        ("constraint-violation", "Constraint Violation", 409),
        ("concurrent-update", "Concurrent Update", 409),
        ("content-too-large", "Content Too Large", 413),
        ("service-unavailable", "Service Unavailable", 503),
        ("precondition-failed", "Precondition Failed", 412),
        ("precondition-required", "Precondition Required", 428),
        ("idempotency-key-reuse", "Idempotency Key Reused", 422),
        ("idempotency-key-in-flight", "Idempotency Key In Use", 409),
        ("commit-outcome-unknown", "Commit Outcome Unknown", 500),
    )
}


def reason_phrase(status: int) -> str:
    """The reason phrase of ``status`` (``"Not Found"``), ``"Error"`` for an unknown one."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(
    status: int,
    *,
    kind: str | None = None,
    detail: str | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The problem object of one error: the standard members, then the extensions whose
    names are valid (a standard member in ``extensions`` is left out, never used)."""
    if kind is None:
        uri, title = "about:blank", reason_phrase(status)
    else:
        problem_type = PROBLEM_TYPES[kind]
        uri, title = problem_type.uri, problem_type.title
    body: dict[str, Any] = {
        "type": uri,
        "title": title,
        "status": status,
        "detail": detail if detail else title,
    }
    for name, value in (extensions or {}).items():
        if is_extension_name(name):
            body[name] = value
    return body


# --- 422: where each error is ---------------------------------------------------------------

_PARAMETER_LOCATIONS = frozenset({"query", "path", "cookie"})
# RFC 3986 fragment characters that need no percent-encoding (besides letters, digits, "-._~").
_FRAGMENT_SAFE = "!$&'()*+,;=:@/?"
#: `validation_errors(errors, body=NO_BODY)`: the submitted body is not known.
NO_BODY: Any = object()


def json_pointer(tokens: Iterable[object]) -> str:
    """The RFC 6901 pointer to ``tokens``, in URI fragment form: ``#/tags/0/a~1b``."""
    escaped = (str(token).replace("~", "~0").replace("/", "~1") for token in tokens)
    return "#" + "".join("/" + quote(token, safe=_FRAGMENT_SAFE) for token in escaped)


def _tokens_in_body(path: Sequence[object], body: Any) -> list[object]:
    """The part of a pydantic ``loc`` (after ``"body"``) that is a path into ``body``.

    pydantic's locations also name union members and validators (``"int"``,
    ``"function-after[...]"``); those name no place in the document and are left out. A
    last key that is not in its object stays: it is where a missing member belongs.
    """
    tokens: list[object] = []
    node = body
    for index, part in enumerate(path):
        if isinstance(node, dict) and isinstance(part, str):
            if part in node:
                tokens.append(part)
                node = node[part]
            elif index == len(path) - 1:
                tokens.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            tokens.append(part)
            node = node[part]
    return tokens


def validation_errors(
    errors: Iterable[Mapping[str, Any]], body: Any = NO_BODY
) -> list[dict[str, str]]:
    """The ``errors`` member of a 422 problem from pydantic/FastAPI errors.

    ``body`` is the parsed request body, when known: pointers then leave out the parts of a
    location that are not in the document. Values sent (``input``, ``ctx``) are never copied.
    """
    items = []
    for error in errors:
        item = {"detail": str(error.get("msg") or "Invalid value")}
        loc = tuple(error.get("loc") or ())
        where, path = (loc[0], loc[1:]) if loc else (None, ())
        if where == "body":
            if error.get("type") == "json_invalid":
                path = ()  # a position in text the parser could not read: the whole body
                reason = (error.get("ctx") or {}).get("error")
                if isinstance(reason, str):  # the parser's reason, e.g. "... at position 12"
                    item["detail"] = f"{item['detail']}: {reason}"
            elif body is not NO_BODY:
                path = tuple(_tokens_in_body(path, body))
            item["pointer"] = json_pointer(path)
        elif where in _PARAMETER_LOCATIONS and path:
            item["parameter"] = str(path[0])
        elif where == "header" and path:
            item["header"] = str(path[0])
        if error.get("type"):
            item["code"] = str(error["type"])
        items.append(item)
    return items


def validation_summary(errors: Sequence[Mapping[str, str]]) -> str:
    """The ``detail`` of a 422 problem: each error's place and message, ``;``-separated."""
    parts = []
    for item in errors:
        where = item.get("parameter") or item.get("header")
        if where is None and item.get("pointer", "#") != "#":
            where = item["pointer"][2:]
        parts.append(f"{where}: {item['detail']}" if where else item["detail"])
    return "; ".join(parts) or PROBLEM_TYPES["validation"].title


def json_safe(value: Any) -> Any:
    """``value`` with what strict JSON cannot carry replaced: non-finite floats, lone
    surrogates."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


# --- OpenAPI --------------------------------------------------------------------------------

_SCHEMAS = "#/components/schemas/"
#: The error bodies restly and FastAPI document when problem details are off.
_REPLACED_SCHEMAS = frozenset(
    {"HTTPValidationError", "ValidationError", "ErrorDetail", "ValidationErrors"}
)
_OPERATIONS = frozenset(
    {"get", "put", "post", "delete", "options", "head", "patch", "trace", "query"}
)

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": (
        "An error, as RFC 9457 problem details. Clients ignore members they do not know."
    ),
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "format": "uri-reference",
            "description": "The problem type: about:blank, or one of restly's /problems/... types",
        },
        "title": {"type": "string", "description": "A short summary of the problem type"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong with this request"},
        "instance": {"type": "string", "format": "uri-reference"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
PROBLEM_ERROR_SCHEMA: dict[str, Any] = {
    "title": "ProblemError",
    "description": "One invalid part of a request, and where it is.",
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "pointer": {
            "type": "string",
            "description": "RFC 6901 JSON pointer into the request body (URI fragment form)",
        },
        "parameter": {"type": "string", "description": "The query, path or cookie parameter"},
        "header": {"type": "string", "description": "The request header"},
        "code": {"type": "string", "description": "The kind of error, e.g. missing"},
    },
    "required": ["detail"],
}


def _validation_problem_schema(problem: str, error: str) -> dict[str, Any]:
    return {
        "title": "ValidationProblem",
        "description": "A 422 problem: every invalid part of the request.",
        "allOf": [
            {"$ref": _SCHEMAS + problem},
            {
                "type": "object",
                "properties": {
                    "errors": {"type": "array", "items": {"$ref": _SCHEMAS + error}}
                },
                "required": ["errors"],
            },
        ],
    }


def _free_name(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> str:
    """``name``, or ``Restly<name>`` when the application documents a schema of its own
    under ``name``."""
    taken = schemas.get(name)
    return name if taken is None or taken == schema else f"Restly{name}"


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Make every error response of ``document`` (an OpenAPI dict, changed in place)
    ``application/problem+json``: 422s with `ValidationProblem`, others with `Problem`.

    The error schemas of the JSON answers (FastAPI's ``HTTPValidationError``, restly's
    ``ErrorDetail``) are replaced; other schemas a route documents for an error are kept
    beside the problem, since such a route may answer them itself.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = _free_name(schemas, "Problem", PROBLEM_SCHEMA)
    error = _free_name(schemas, "ProblemError", PROBLEM_ERROR_SCHEMA)
    validation_schema = _validation_problem_schema(problem, error)
    validation = _free_name(schemas, "ValidationProblem", validation_schema)
    schemas.update(
        {problem: PROBLEM_SCHEMA, error: PROBLEM_ERROR_SCHEMA, validation: validation_schema}
    )
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _OPERATIONS:
                continue
            for code, response in operation.get("responses", {}).items():
                if _is_error(code):
                    name = validation if str(code) == "422" else problem
                    _document_problem(response, name)
    components = document["components"]
    outside = {key: value for key, value in document.items() if key != "components"}
    used = _references(outside) | _references(
        {key: value for key, value in components.items() if key != "schemas"}
    )
    for name in _REPLACED_SCHEMAS - _references_closure(schemas, used):
        schemas.pop(name, None)  # documented nowhere any more
    return document


def _is_error(code: object) -> bool:
    text = str(code)
    return text[:1] in ("4", "5") and (text[1:].isdigit() or text[1:].upper() == "XX")


def _document_problem(response: dict[str, Any], name: str) -> None:
    kept = {
        media_type: content
        for media_type, content in (response.get("content") or {}).items()
        if media_type != PROBLEM_MEDIA_TYPE and not _is_replaced(content)
    }
    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _SCHEMAS + name}}, **kept}


def _is_replaced(content: Any) -> bool:
    schema = content.get("schema") if isinstance(content, dict) else None
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    return isinstance(ref, str) and ref.removeprefix(_SCHEMAS) in _REPLACED_SCHEMAS


def _references(value: Any) -> set[str]:
    """The component schema names ``value`` refers to (not following them)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SCHEMAS):
                found.add(ref.removeprefix(_SCHEMAS))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _references_closure(schemas: dict[str, Any], names: set[str]) -> set[str]:
    """``names`` and every schema they refer to, transitively."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_references(schemas.get(name)) - seen)
    return seen
