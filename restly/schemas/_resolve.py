"""Resolving references on write: one query per referenced model, then 404 or the values.

::

    values = resolve_references(session, Book, BookCreate, {"title": "T", "author": 1,
                                                          "editor_id": 2, "tags": [1, 3]})
    # one SELECT ... FROM author WHERE id IN (1, 2), one SELECT ... FROM tag WHERE id IN (1, 3)
    # -> {"title": "T", "author": <Author 1>, "editor_id": 2, "tags": [<Tag 1>, <Tag 3>]}

Every id a body sends to one model (``IDRef`` and ``list[IDRef]`` fields, relationship or
column, and ``fr.MustExist`` fields) is looked up by one ORM ``select`` on the request's
session (in chunks of :data:`MAX_IDS_PER_QUERY`), so whatever the session applies to the
referenced model's queries (``with_loader_criteria`` row scopes in a ``do_orm_execute``
listener) applies to the check: a hidden row answers like a missing one. Objects are loaded
only for the models some relationship field needs; for the others only the keys are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ..exc import NotFound
from ._ref_fields import Reference, references_in
from ._refs import pk_key

__all__ = ["MAX_IDS_PER_QUERY", "resolve_references"]

MAX_IDS_PER_QUERY = 1000
"""Most ids one ``IN`` query carries; longer reference lists are fetched in several chunks,
so a huge list never exceeds a driver's bound-parameter limit."""


def resolve_references(
    session: Session | AsyncSession,
    model: type[Any],
    schema: type[BaseModel],
    values: dict[str, Any],
) -> dict[str, Any]:
    """Return ``values`` with each reference of ``schema`` replaced by what ``model`` stores.

    Relationship references become the loaded ORM object(s), column references (``IDRef``
    on a column, ``fr.MustExist``) stay ids once checked. One query per referenced model,
    whatever the number of fields and ids naming it. Raises ``NotFound`` (404) naming the
    missing ids of the first field that has some, and ``RequestValidationError`` (422)
    when a relationship and its foreign-key column are both sent and disagree. Async code
    runs it through ``AsyncSession.run_sync``.
    """
    references = references_in(schema, model)
    if not references:
        return values
    if not isinstance(session, Session):
        raise TypeError(
            "resolve_references() needs a sync Session; with an AsyncSession use "
            "await session.run_sync(resolve_references, model, schema, values)."
        )
    _check_consistency(references, values)
    sent = [
        (reference, _ids(reference, values[reference.name]))
        for reference in references
        if values.get(reference.name) is not None
    ]
    if not sent:
        return values
    found = _fetch(session, sent)
    resolved = dict(values)
    for reference, ids in sent:
        rows = found[reference.target.model]
        missing = [ident for ident in ids if ident not in rows]
        if missing:
            noun = "Id" if len(missing) == 1 else "Ids"
            listed = ", ".join(str(ident) for ident in missing)
            raise NotFound(f"{noun} not found for {reference.label}: {listed}")
        if reference.relationship:
            objects = [rows[ident] for ident in ids]
            resolved[reference.name] = objects if reference.many else objects[0]
        else:
            resolved[reference.name] = ids if reference.many else ids[0]
    return resolved


def _ids(reference: Reference, raw: Any) -> list[Any]:
    """The ids a field's value names, once each, in the order sent."""
    if reference.many:
        return list(dict.fromkeys(_id_of(item) for item in raw))
    return [_id_of(raw)]


def _id_of(value: Any) -> Any:
    return value["id"] if isinstance(value, dict) else value


def _check_consistency(references: Iterable[Reference], values: dict[str, Any]) -> None:
    errors = []
    for reference in references:
        partner = reference.partner
        if partner is None or reference.name not in values or partner not in values:
            continue
        ident, column_value = _id_of(values[reference.name]), _id_of(values[partner])
        if ident != column_value:
            errors.append(
                {
                    "type": "value_error",
                    "loc": ("body", reference.label),
                    "msg": (
                        f"Value error, {reference.label} ({ident}) and {partner} "
                        f"({column_value}) disagree; send one of them"
                    ),
                    "input": values[reference.name],
                }
            )
    if errors:
        raise RequestValidationError(errors)


def _fetch(
    session: Session, sent: list[tuple[Reference, list[Any]]]
) -> dict[type[Any], dict[Any, Any]]:
    """``{model: {id: object, or the id itself}}`` for the sent ids that exist: one query
    per model (per chunk of ids), loading objects only where a relationship needs them."""
    wanted: dict[type[Any], tuple[dict[Any, None], bool]] = {}
    for reference, ids in sent:
        ids_of_model, objects = wanted.get(reference.target.model, ({}, False))
        ids_of_model.update(dict.fromkeys(ids))
        wanted[reference.target.model] = (ids_of_model, objects or reference.relationship)
    found: dict[type[Any], dict[Any, Any]] = {}
    for target, (ids_of_model, objects) in wanted.items():
        key = pk_key(target)
        column = getattr(target, key)
        rows: dict[Any, Any] = {}
        for chunk in _chunks(list(ids_of_model), MAX_IDS_PER_QUERY):
            if objects:
                for obj in session.scalars(select(target).where(column.in_(chunk))):
                    rows[getattr(obj, key)] = obj
            else:
                rows.update(dict.fromkeys(session.scalars(select(column).where(column.in_(chunk)))))
        found[target] = rows
    return found


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
