"""Step of `compile_view`: sparse fields and expansion (`?fields=` and `?expand=`).

```python
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book
    expandable = ("author", "reviews", "author.publisher")
    sparse_fields = True

# GET /books?fields=id,title,author.name&expand=reviews
```

A view that opts in gets a `Shapes` (`CompiledView.shapes`): the names a request may select,
each expansion's relationship, target model and read schema (the `response_schema` of the
view serving the target model, declared before this one, or the schema given in the mapping
form `expandable = {"author": AuthorRead}`), and the OpenAPI parameters. A request sending
neither parameter is answered as before; one sending them gets a `Shape`
(`restly.resource._shape`): the loader options of its expansions and how to dump it.
Everything a name may be checked against is built here, once; write-only fields are never
part of it, so they can be neither selected nor named in an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from pydantic import BaseModel, ConfigDict, create_model
from sqlalchemy.orm import RelationshipProperty, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from .._introspect import mapper_of
from ..schemas import response_schema_for
from ._loading import LOAD_CHUNK_SIZE, loader_options
from ._options import uses_default

__all__ = ["EXPAND", "FIELDS", "MAX_EXPAND_DEPTH", "Expansion", "Shapes", "compile_shapes"]

#: The query parameters, reserved on views that opt in.
FIELDS = "fields"
EXPAND = "expand"

MAX_EXPAND_DEPTH = 2
"""How many relationships deep an expansion reaches: ``author.publisher`` is two."""


@dataclass(frozen=True, slots=True)
class Expansion:
    """One expandable relationship: ``path`` (``"author.publisher"``) from the view's model."""

    path: str
    key: str
    parent: str | None
    attribute: Any
    many: bool
    model: type[Any]
    schema: type[BaseModel]
    #: The loader options the target's read schema needs (its own nested relationships).
    nested_options: tuple[LoaderOption, ...]

    def option(self) -> Any:
        return selectinload(self.attribute, chunksize=LOAD_CHUNK_SIZE)


@dataclass(frozen=True, slots=True)
class Shapes:
    """What a view accepts in ``fields`` and ``expand``, compiled once."""

    view: str
    schema: type[BaseModel]
    sparse: bool
    expansions: Mapping[str, Expansion]
    #: Selectable public names -> (expansion path or "" for the item, python field name).
    selectable: Mapping[str, tuple[str, str]]
    #: The response model OpenAPI documents (every expansion; nothing required if sparse).
    documented: type[BaseModel]
    #: The view's base statement (its model with the response's loads) and by-id condition.
    base: Any
    by_id: Any
    #: What each expansion set (closed under parents) loads and dumps, built on first use.
    expanded: dict[frozenset[str], Any] = field(default_factory=dict)
    #: Shapes by the parameters' raw values, bounded by MAX_SHAPES.
    cache: dict[tuple[tuple[str, ...], tuple[str, ...]], Any] = field(default_factory=dict)

    def parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI query parameters ``fields`` and ``expand``."""
        parameters = []
        if self.sparse:
            parameters.append(
                _list_parameter(
                    FIELDS,
                    "Comma-separated fields to answer (dotted for an expanded relation: "
                    "author.name, which expands it); the others are left out.",
                    sorted(self.selectable),
                )
            )
        if self.expansions:
            parameters.append(
                _list_parameter(
                    EXPAND,
                    "Comma-separated relations to answer as objects (their read schema); "
                    "a hidden related row is answered as null, or left out of a list.",
                    sorted(self.expansions),
                )
            )
        return parameters


def _list_parameter(name: str, description: str, allowed: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {
            "items": {"enum": allowed, "type": "string", "x-enum-varnames": _names(allowed)},
            "maxItems": len(allowed),
            "type": "array",
        },
        "style": "form",
        "explode": False,
    }


def _names(allowed: list[str]) -> list[str]:
    """Member names for client generators (without them they write ``VALUE_0``):
    ``author.name`` -> ``AUTHOR_DOT_NAME``, so it does not collide with a field
    ``author_name`` (generators fold repeated underscores); a name still equal to an earlier
    one gets a number."""
    names: list[str] = []
    for value in allowed:
        base = "_DOT_".join(re.sub(r"\W+", "_", part) for part in value.split(".")).upper()
        name, number = base, 1
        while name in names:
            number += 1
            name = f"{base}_{number}"
        names.append(name)
    return names


def compile_shapes(
    cls: Any, read_schema_of: Any, base: Any, by_id: Any
) -> tuple[Shapes | None, list[str]]:
    """The `Shapes` of view `cls`, or None when it accepts neither parameter; and the
    problems of its options. ``read_schema_of(model)`` finds the response schema of the
    view serving a model (or None); ``base`` and ``by_id`` are the view's statement and
    by-id condition, which expanded requests extend."""
    owner = cls.__name__
    declared = getattr(cls, "expandable", ())
    sparse = getattr(cls, "sparse_fields", False)
    problems: list[str] = []
    if not isinstance(sparse, bool):
        problems.append(
            f"{owner}.sparse_fields must be True or False; got {sparse!r}. Use "
            "sparse_fields = True to accept ?fields=."
        )
    if isinstance(declared, str) or not isinstance(declared, (tuple, list, Mapping)):
        problems.append(
            f"{owner}.expandable must be a tuple of relationship names (or a mapping of them "
            f'to read schemas); got {declared!r}. Use expandable = ("author",).'
        )
        return None, problems
    if not declared and sparse is not True:
        return None, problems
    overrides = [
        name
        for name in ("handle_list", "handle_get", "to_response_schema")
        if not uses_default(cls, name)
    ]
    if overrides:
        problems.append(
            f"{owner} overrides {', '.join(overrides)}, so restly cannot decide what "
            "?fields= and ?expand= load and answer; remove expandable and sparse_fields, or "
            "scope rows in build_list_query instead."
        )
    expansions: dict[str, Expansion] = {}
    for path in sorted(declared, key=lambda p: p.count(".") if isinstance(p, str) else 0):
        given = declared[path] if isinstance(declared, Mapping) else None
        expansion, problem = _expansion(cls, path, given, expansions, read_schema_of)
        if problem:
            problems.append(problem)
        elif expansion is not None:
            expansions[path] = expansion
    if problems:
        return None, problems
    schema: type[BaseModel] = cls.response_schema
    selectable = _selectable(schema, expansions)
    shapes = Shapes(
        view=owner,
        schema=schema,
        sparse=sparse,
        expansions=expansions,
        selectable=selectable,
        documented=_documented(schema, expansions, sparse),
        base=base,
        by_id=by_id,
    )
    return shapes, []


def _expansion(
    cls: Any,
    path: Any,
    given: Any,
    known: Mapping[str, Expansion],
    read_schema_of: Any,
) -> tuple[Expansion | None, str | None]:
    """The `Expansion` of one declared ``path``, or the problem with it."""
    owner = cls.__name__
    if not isinstance(path, str) or not path:
        return None, (
            f"{owner}.expandable holds {path!r}; each entry must be a relationship name "
            'such as "author" (or a dotted path such as "author.publisher").'
        )
    parts = path.split(".")
    if len(parts) > MAX_EXPAND_DEPTH:
        return None, (
            f"{owner}.expandable holds {path!r}, {len(parts)} relationships deep; expansions "
            f"reach at most {MAX_EXPAND_DEPTH} (restly.resource.MAX_EXPAND_DEPTH). Shorten it."
        )
    parent = ".".join(parts[:-1]) or None
    if parent is not None and parent not in known:
        return None, (
            f"{owner}.expandable holds {path!r} but not {parent!r}; a dotted path expands "
            f'from an expandable relation. Add "{parent}" to expandable.'
        )
    source = known[parent].model if parent is not None else cls.model
    mapper = mapper_of(source)
    assert mapper is not None  # the view's model is checked before; targets are mapped
    key = parts[-1]
    prop = mapper.attrs.get(key)
    if not isinstance(prop, RelationshipProperty):
        names = ", ".join(sorted(mapper.relationships.keys())) or "none"
        return None, (
            f"{owner}.expandable holds {path!r}, but {source.__name__}.{key} is not a "
            f"relationship (relationships of {source.__name__}: {names})."
        )
    if prop.lazy in ("dynamic", "write_only"):
        return None, (
            f"{owner}.expandable holds {path!r}, but {source.__name__}.{key} is a "
            f'lazy="{prop.lazy}" relationship, which cannot be loaded with the page; declare '
            "a plain relationship() for it to expand."
        )
    target = prop.mapper.class_
    if given is not None:
        if not (isinstance(given, type) and issubclass(given, BaseModel)):
            return None, (
                f"{owner}.expandable[{path!r}] must be a pydantic schema of "
                f"{target.__name__}; got {given!r}."
            )
        schema = response_schema_for(given)
    else:
        schema = read_schema_of(target)
        if schema is None:
            return None, (
                f"{owner}.expandable holds {path!r}, but no view of {target.__name__} is "
                f"declared before {owner} to take its read schema from. Declare that view "
                f'first, or name the schema: expandable = {{"{path}": '
                f"{target.__name__}Read}}."
            )
    return (
        Expansion(
            path=path,
            key=key,
            parent=parent,
            attribute=getattr(source, key),
            many=bool(prop.uselist),
            model=target,
            schema=schema,
            nested_options=loader_options(target, schema),
        ),
        None,
    )


def public_names(schema: type[BaseModel]) -> dict[str, str]:
    """The JSON names of ``schema``'s fields -> their python names."""
    return {(info.serialization_alias or info.alias or name): name for name, info in schema.model_fields.items()}


def _selectable(
    schema: type[BaseModel], expansions: Mapping[str, Expansion]
) -> dict[str, tuple[str, str]]:
    selectable = {public: ("", name) for public, name in public_names(schema).items()}
    for path, expansion in expansions.items():
        parent, _, key = path.rpartition(".")
        selectable.setdefault(path, (parent, key))
        for public, name in public_names(expansion.schema).items():
            selectable[f"{path}.{public}"] = (path, name)
    return selectable


def children(expansions: Mapping[str, Expansion], parent: str | None) -> list[Expansion]:
    """The expansions directly below ``parent`` (None: the item's own)."""
    return [e for e in expansions.values() if e.parent == parent]


def shaped_model(
    schema: type[BaseModel],
    expansions: Mapping[str, Expansion],
    expanded: frozenset[str],
    parent: str | None = None,
    *,
    documenting: bool = False,
    sparse: bool = False,
) -> type[BaseModel]:
    """``schema`` with a field per expansion in ``expanded`` below ``parent`` (the
    target's read schema, itself shaped); documenting: the field keeps the type it had
    when the relation is not expanded, and members that can be left out are not required."""
    fields: dict[str, Any] = {}
    optional: set[str] = set()
    for expansion in children(expansions, parent):
        if expansion.path not in expanded:
            continue
        target = shaped_model(
            expansion.schema, expansions, expanded, expansion.path,
            documenting=documenting, sparse=sparse,
        )
        annotation: Any = list[target] if expansion.many else Optional[target]  # type: ignore[valid-type]
        own = schema.model_fields.get(expansion.key)
        if documenting and own is not None:
            annotation = Union[own.annotation, annotation]
        if own is None:
            optional.add(expansion.key)
        fields[expansion.key] = (annotation, [] if expansion.many else None)
    if documenting and (sparse or optional):
        dropped = None if sparse else frozenset(optional)
        config = ConfigDict(json_schema_extra=_not_required(dropped))
        name = f"{schema.__name__}{'Sparse' if sparse else 'Expandable'}"
        base: type[BaseModel] = type(name, (schema,), {"model_config": config, "__module__": schema.__module__})
        return create_model(name, __base__=base, __module__=schema.__module__, **fields) if fields else base
    if not fields:
        return schema
    return create_model(f"{schema.__name__}Expanded", __base__=schema, __module__=schema.__module__, **fields)


def _not_required(names: frozenset[str] | None) -> Any:
    def drop(schema: dict[str, Any], cls: Any = None) -> None:
        required = schema.get("required")
        if required is None:
            return
        kept = [] if names is None else [name for name in required if name not in names]
        if kept:
            schema["required"] = kept
        else:
            del schema["required"]

    return drop


def _documented(
    schema: type[BaseModel], expansions: Mapping[str, Expansion], sparse: bool
) -> type[BaseModel]:
    return shaped_model(schema, expansions, frozenset(expansions), documenting=True, sparse=sparse)
