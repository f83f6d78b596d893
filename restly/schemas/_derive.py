"""Derive input and output schemas from a view's ``schema``.

From one schema a view gets three more, built once when the view class is created:

- ``creation_schema``: the schema without ``ReadOnly`` fields (what ``POST`` accepts);
- ``update_schema``: the creation schema with every field optional (what ``PATCH`` accepts;
  only the fields a client sends are applied);
- ``response_schema``: the schema without ``WriteOnly`` fields, nested schemas included
  (what every response is serialised with).

Derived schemas keep the source's configuration, aliases, constraints and validators.
Given the view's ``model``, the input schemas also get the storage limits of the columns the
fields are written to (``String(100)`` -> ``max_length=100``; the stricter limit wins, see
``restly.schemas._storage``).

Unknown fields in a body are refused (422 ``extra_forbidden``), so a typo such as
``{"nmae": "Ann"}`` surfaces instead of silently doing nothing: the derived input schemas get
``extra="forbid"`` unless the source schema's configuration sets ``extra`` itself (then that
choice is kept). Read-only fields sent anyway are ignored, not refused, so a client may send
back an object it read (react-admin's ``PUT`` does). A source schema that sets ``extra`` and
has no fields to drop is reused as it is, as is one without write-only fields for responses.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Hashable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, ForwardRef, Union
from uuid import UUID

from pydantic import (
    BaseModel,
    PydanticInvalidForJsonSchema,
    PydanticSchemaGenerationError,
    TypeAdapter,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from .._caches import class_cache
from .._introspect import mapper_of
from ._markers import is_read_only, is_write_only
from ._storage import column_limits, with_storage_limits

__all__ = ["creation_schema_for", "response_schema_for", "update_schema_for"]

class _DerivedSchemas:
    """(source schema, kind) -> derived schema, kept on the source schema (so both go
    together); kinds: "Read", ("Create"/"Update" + extra read-only names, model)."""

    def __contains__(self, key: tuple[type[BaseModel], Hashable]) -> bool:
        return ("derived", key[1]) in key[0].__dict__.get("__restly_cache__", ())

    def __getitem__(self, key: tuple[type[BaseModel], Hashable]) -> type[BaseModel]:
        return class_cache(key[0])[("derived", key[1])]  # type: ignore[no-any-return]

    def __setitem__(self, key: tuple[type[BaseModel], Hashable], value: type[BaseModel]) -> None:
        class_cache(key[0])[("derived", key[1])] = value

    def setdefault(self, key: tuple[type[BaseModel], Hashable], value: type[BaseModel]) -> None:
        class_cache(key[0]).setdefault(("derived", key[1]), value)


_derived = _DerivedSchemas()


def creation_schema_for(
    schema: type[BaseModel],
    *,
    read_only: frozenset[str] = frozenset(),
    model: type[Any] | None = None,
) -> type[BaseModel]:
    """Return ``schema`` without its read-only fields (and those named in ``read_only``);
    with ``model``, its fields carry the storage limits of ``model``'s columns."""
    return _derive(schema, "Create", optional=False, read_only=read_only, model=model)


def update_schema_for(
    schema: type[BaseModel],
    *,
    read_only: frozenset[str] = frozenset(),
    model: type[Any] | None = None,
) -> type[BaseModel]:
    """Return ``schema`` without its read-only fields (and those named in ``read_only``),
    every field optional; with ``model``, carrying the storage limits of its columns."""
    return _derive(schema, "Update", optional=True, read_only=read_only, model=model)


def response_schema_for(schema: type[BaseModel]) -> type[BaseModel]:
    """Return ``schema`` without write-only fields, recursively through nested schemas.

    Every schema reachable from ``schema`` that shows a write-only field, or nests one that
    does, is rebuilt; schemas that reference each other (trees, cycles) are rebuilt together
    and point at each other's rebuilt versions.
    """
    key = (schema, "Read")
    if key not in _derived:
        _derive_response_group(schema)
    return _derived[key]


def _derive_response_group(schema: type[BaseModel]) -> None:
    reachable = _reachable_models(schema)
    dirty = {model for model in reachable if any(map(is_write_only, model.model_fields.values()))}
    changed = True
    while changed:  # a schema nesting a dirty one is dirty too
        changed = False
        for model in reachable - dirty:
            if _nested_models(model) & dirty:
                dirty.add(model)
                changed = True
    for model in reachable - dirty:
        _derived.setdefault((model, "Read"), model)
    pending = [model for model in dirty if (model, "Read") not in _derived]
    tokens = {model: f"_restly_read_{index}" for index, model in enumerate(pending)}

    def convert(nested: type[BaseModel]) -> Any:
        if nested in tokens:
            return ForwardRef(tokens[nested])
        return _derived[(nested, "Read")]

    namespace: dict[str, Any] = {}
    for model in pending:
        fields = {
            name: (_map_nested(field.annotation, convert), field)
            for name, field in model.model_fields.items()
            if not is_write_only(field)
        }
        namespace[tokens[model]] = _rebuild(model, _derived_name(model, "Read"), fields)
    for model in pending:
        derived = namespace[tokens[model]]
        derived.model_rebuild(_types_namespace=namespace)
        _derived[(model, "Read")] = derived


def _reachable_models(schema: type[BaseModel]) -> set[type[BaseModel]]:
    seen: set[type[BaseModel]] = set()
    stack = [schema]
    while stack:
        model = stack.pop()
        if model not in seen:
            seen.add(model)
            stack.extend(_nested_models(model))
    return seen


def _nested_models(schema: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()

    def collect(nested: type[BaseModel]) -> type[BaseModel]:
        found.add(nested)
        return nested

    for field in schema.model_fields.values():
        _map_nested(field.annotation, collect)
    return found


def _derive(
    schema: type[BaseModel],
    suffix: str,
    *,
    optional: bool,
    read_only: frozenset[str],
    model: type[Any] | None,
) -> type[BaseModel]:
    key = (schema, (suffix + ",".join(sorted(read_only)), model))
    if key in _derived:
        return _derived[key]
    mapper = mapper_of(model)
    fields: dict[str, tuple[Any, FieldInfo]] = {}
    ignored: set[str] = set()
    limited = False
    documented: dict[str, FieldInfo] = {}
    for name, field in schema.model_fields.items():
        if is_read_only(field) or name in read_only:
            ignored.update(_wire_names(name, field))
            documented[field.alias if isinstance(field.alias, str) else name] = field
            continue
        limits = None if mapper is None else column_limits(mapper, name)
        if limits is not None:
            original, field = field, with_storage_limits(field, limits)
            limited = limited or field is not original
        if optional and field.is_required():
            field = FieldInfo.merge_field_infos(field, default=None)
        fields[name] = (field.annotation, field)
    config = schema.model_config
    user_set_extra = "extra" in config
    unchanged = (
        user_set_extra
        and not ignored
        and not limited
        and not (optional and any(f.is_required() for f in schema.model_fields.values()))
    )
    if unchanged:
        derived = schema
    else:
        derived = _rebuild(
            schema,
            _derived_name(schema, suffix),
            fields,
            config=_documenting(
                config if user_set_extra else {**config, "extra": "forbid"}, documented
            ),
            ignored=frozenset(ignored),
        )
    _derived[key] = derived
    return derived


def _documenting(config: Any, ignored: dict[str, FieldInfo]) -> Any:
    """``config`` whose JSON schema also lists the ``ignored`` read-only fields, marked
    ``readOnly`` (JSON Schema: a value the server manages, which it ignores when sent), so
    the document says what the schema does: they may be sent back, and change nothing."""
    if not ignored:
        return config
    properties = {name: _read_only_property(field) for name, field in ignored.items()}
    extra = config.get("json_schema_extra")

    def add_read_only_fields(json_schema: dict[str, Any], model: type[BaseModel]) -> None:
        if isinstance(extra, dict):
            json_schema.update(extra)
        elif callable(extra):
            extra(json_schema, model)
        documented = json_schema.setdefault("properties", {})
        for name, property_schema in properties.items():
            documented.setdefault(name, dict(property_schema))

    return {**config, "json_schema_extra": add_read_only_fields}


def _read_only_property(field: FieldInfo) -> dict[str, Any]:
    """The JSON schema of an ignored field: its type when that is self-contained."""
    annotation = Any if field.annotation is None else field.annotation
    cached = _scalar_schemas.get(annotation) if _is_scalar(annotation) else None
    described = copy.deepcopy(cached) if cached is not None else None
    if described is None:
        try:
            described = TypeAdapter(annotation).json_schema()
        except (PydanticSchemaGenerationError, PydanticInvalidForJsonSchema):
            described = {}  # a type without a JSON schema: the name alone is documented
        if "$defs" in described or "$ref" in described:
            described = {}
        described.pop("title", None)
        if _is_scalar(annotation):
            _scalar_schemas[annotation] = copy.deepcopy(described)
    return {**described, "readOnly": True, "description": "Set by the server: ignored when sent."}


# The schemas of the usual read-only fields (an integer id, a timestamp), built once: a
# TypeAdapter per derived input schema was a tenth of a view's class creation. Keyed only
# by standard scalar types and their optional forms, so the cache is bounded and holds
# nothing of the user's.
_SCALARS = frozenset({int, str, float, bool, bytes, datetime, date, time, Decimal, UUID})
_scalar_schemas: dict[Any, dict[str, Any]] = {}


def _is_scalar(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return annotation in _SCALARS
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return False
    members = typing.get_args(annotation)
    return len(members) == 2 and type(None) in members and all(
        member is type(None) or member in _SCALARS for member in members
    )


def _wire_names(name: str, field: FieldInfo) -> set[str]:
    """Every key under which a client may send ``field``."""
    names = {name}
    for alias in (field.alias, field.validation_alias):
        if isinstance(alias, str):
            names.add(alias)
    return names


def _ignoring(keys: frozenset[str]) -> Any:
    """A before-validator dropping ``keys`` (read-only fields) from dict input."""

    def drop_read_only_fields(cls: Any, data: Any) -> Any:
        if isinstance(data, dict) and not keys.isdisjoint(data):
            return {key: value for key, value in data.items() if key not in keys}
        return data

    # pydantic takes classmethod objects (as documented); its stubs list plain callables only
    return model_validator(mode="before")(classmethod(drop_read_only_fields))  # type: ignore[arg-type]


def _derived_name(schema: type[BaseModel], suffix: str) -> str:
    base = schema.__name__
    if base.endswith("Schema") and len(base) > len("Schema"):
        base = base[: -len("Schema")]
    return f"{base}{suffix}"


def _rebuild(
    schema: type[BaseModel],
    name: str,
    fields: dict[str, tuple[Any, FieldInfo]],
    *,
    config: Any = None,
    ignored: frozenset[str] = frozenset(),
) -> type[BaseModel]:
    """Create a model like ``schema`` with exactly ``fields``, keeping config and validators
    (``config`` replaces the configuration; ``ignored`` keys are dropped from input)."""
    validators = _validators(schema, set(fields))
    if ignored:
        validators["restly_drop_read_only_fields"] = _ignoring(ignored)
    derived: type[BaseModel] = create_model(  # type: ignore[call-overload]
        name,
        __config__=schema.model_config if config is None else config,
        __doc__=schema.__doc__,
        __module__=schema.__module__,
        __validators__=validators,
        **fields,
    )
    return derived


def _validators(schema: type[BaseModel], kept: set[str]) -> dict[str, Any]:
    decorators = schema.__pydantic_decorators__
    copied: dict[str, Any] = {}
    for name, decorator in decorators.field_validators.items():
        names = [f for f in decorator.info.fields if f in kept or f == "*"]
        if not names:
            continue
        function = getattr(decorator.func, "__func__", decorator.func)
        copied[name] = field_validator(
            *names, mode=decorator.info.mode, check_fields=False
        )(classmethod(function) if _is_classmethod(decorator.func) else function)
    for name, model_decorator in decorators.model_validators.items():
        function = getattr(model_decorator.func, "__func__", model_decorator.func)
        wrapped = classmethod(function) if _is_classmethod(model_decorator.func) else function
        # classmethod objects: see _ignoring
        copied[name] = model_validator(mode=model_decorator.info.mode)(wrapped)  # type: ignore[arg-type]
    return copied


def _is_classmethod(function: Any) -> bool:
    return isinstance(function, types.MethodType) and isinstance(function.__self__, type)


def _map_nested(annotation: Any, convert: Any) -> Any:
    """Apply ``convert`` to every pydantic model inside ``annotation``; keep identity if none."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return convert(annotation)
    origin = typing.get_origin(annotation)
    if origin is None:
        return annotation
    args = typing.get_args(annotation)
    if origin is Annotated:
        inner = _map_nested(args[0], convert)
        if inner is args[0]:
            return annotation
        parts = (inner, *annotation.__metadata__)  # named: mypy takes X[(a, *b)] for 3.11 syntax
        return Annotated[parts]
    mapped = tuple(_map_nested(arg, convert) for arg in args)
    if all(new is old for new, old in zip(mapped, args)):
        return annotation
    if origin in (Union, types.UnionType):
        return Union[mapped]
    return origin[mapped if len(mapped) > 1 else mapped[0]]
