"""Step `check`: configuration checks run by `ResourceMeta` when a view class is created.

Each check returns a list of messages; each message names the class and the attribute, says
what was given and how to fix it, e.g.:

```python
ArticleView.prefix must start with '/'; got 'articles'. Use prefix = "/articles".
```
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Collection

from pydantic import BaseModel

from .._introspect import mapper_of
from ._options import declared
from ._routes import collect_routes

__all__ = ["COUNT_MODES", "check_model_view", "check_prefix"]

_SCHEMA_OPTIONS = ("schema", "creation_schema", "update_schema", "response_schema")


def check_prefix(cls: type, *, required: bool) -> list[str]:
    """`prefix` is `""` (plain views only) or starts with '/' and has no trailing '/'."""
    owner = cls.__name__
    prefix = getattr(cls, "prefix", None)
    if prefix is None or (required and prefix == ""):
        return [
            f"{owner}.prefix is required; got {prefix!r}. Add a path such as "
            f'prefix = "{_suggested_prefix(cls)}".'
        ]
    if not isinstance(prefix, str):
        return [
            f"{owner}.prefix must be a str starting with '/'; got {prefix!r}. Use "
            f'prefix = "{_suggested_prefix(cls)}".'
        ]
    if prefix and not prefix.startswith("/"):
        fixed = "/" + prefix.rstrip("/")
        return [f"{owner}.prefix must start with '/'; got {prefix!r}. Use prefix = \"{fixed}\"."]
    if len(prefix) > 1 and prefix.endswith("/"):
        return [
            f"{owner}.prefix must not end with '/'; got {prefix!r}. Use "
            f'prefix = "{prefix.rstrip("/")}" (both forms of the URL are answered).'
        ]
    return []


def check_model_view(cls: type) -> list[str]:
    """Check `model`, declared schemas, `id_type`, `exclude_routes` and list options."""
    problems = _check_model(cls)
    for option in _SCHEMA_OPTIONS:
        problems += _check_schema_option(cls, option)
    problems += _check_id_type(cls)
    problems += _check_output_only(cls)
    problems += _check_exclude_routes(cls)
    problems += _check_list_options(cls)
    problems += _check_idempotency(cls)
    return problems


def _check_idempotency(cls: type) -> list[str]:
    """`idempotency` is True, False or "required"; `idempotency_scope` a plain method."""
    owner = cls.__name__
    problems = []
    mode = getattr(cls, "idempotency", False)
    if mode not in (True, False, "required") or not isinstance(mode, (bool, str)):
        problems.append(
            f"{owner}.idempotency must be True, False or \"required\"; got {mode!r}. Use "
            'idempotency = "required" to refuse POST/PATCH requests without an Idempotency-Key.'
        )
    scope = getattr(cls, "idempotency_scope", None)
    if scope is not None and (not callable(scope) or inspect.iscoroutinefunction(scope)):
        kind = "async def" if callable(scope) else repr(scope)
        problems.append(
            f"{owner}.idempotency_scope must be a plain method returning a str; got {kind}. "
            "Write def idempotency_scope(self) -> str: return str(self.user.id) (read "
            "what a class-level dependency set on self; no await)."
        )
    return problems


def _check_model(cls: type) -> list[str]:
    owner, model = cls.__name__, getattr(cls, "model", None)
    if model is None:
        return [
            f"{owner}.model is required; got None. Set model = YourModel (a class mapped "
            "on your SQLAlchemy DeclarativeBase)."
        ]
    mapper = mapper_of(model)
    if mapper is None:
        return [
            f"{owner}.model must be a mapped SQLAlchemy class; got {model!r}. Set "
            "model = YourModel (a class mapped on your SQLAlchemy DeclarativeBase)."
        ]
    if len(mapper.primary_key) != 1:
        columns = ", ".join(str(column.key) for column in mapper.primary_key)
        return [
            f"{owner}.model {model.__name__} has a composite primary key ({columns}); "
            "restly views address rows by one id. Give the table a single-column primary "
            "key (keeping a unique constraint over the composite columns)."
        ]
    return []


def _check_schema_option(cls: type, option: str) -> list[str]:
    value = declared(cls, option)
    if value is None or (isinstance(value, type) and issubclass(value, BaseModel)):
        return []
    return [
        f"{cls.__name__}.{option} must be a pydantic model class; got {value!r}. Declare "
        f"class {_model_name(cls)}Schema(fr.IDSchema): ... and set {option} = "
        f"{_model_name(cls)}Schema, or remove {option} to have it generated."
    ]


def _check_id_type(cls: type) -> list[str]:
    value = declared(cls, "id_type")
    if value is None or isinstance(value, type):
        return []
    return [
        f"{cls.__name__}.id_type must be a type such as int, str or uuid.UUID; got "
        f"{value!r}. Use id_type = int (or remove it: it defaults to the primary key's type)."
    ]


def _check_output_only(cls: type) -> list[str]:
    value = declared(cls, "list_params_schema")
    if value is None:
        return []
    return [
        f"{cls.__name__}.list_params_schema is derived from response_schema and cannot be "
        f"declared; got {value!r}. Remove it: shape the list parameters with response_schema, "
        "and add your own with extra_query_params."
    ]


def _check_exclude_routes(cls: type) -> list[str]:
    value = getattr(cls, "exclude_routes", ())
    if isinstance(value, str) or not isinstance(value, Collection):
        return [
            f"{cls.__name__}.exclude_routes must be a collection of route names; got "
            f'{value!r}. Use exclude_routes = ("delete",).'
        ]
    known = set(collect_routes(cls))
    return [
        f"{cls.__name__}.exclude_routes names unknown route {name!r}; choose from: "
        f"{', '.join(sorted(known))}."
        for name in value
        if name not in known
    ]


def _check_list_options(cls: type) -> list[str]:
    owner, problems = cls.__name__, []
    for option, example in (("default_page_size", 25), ("max_page_size", 1000)):
        value = getattr(cls, option, None)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            problems.append(
                f"{owner}.{option} must be a positive int or None; got {value!r}. Use "
                f"{option} = {example}, or remove it to use the globals' default."
            )
    if problems:
        return problems
    default, maximum = getattr(cls, "default_page_size", None), getattr(cls, "max_page_size", None)
    if default is not None and maximum is not None and default > maximum:
        problems.append(
            f"{owner}.default_page_size ({default}) is larger than max_page_size ({maximum}); "
            f"lower default_page_size to at most {maximum}."
        )
    flag = getattr(cls, "include_pagination_metadata", False)
    if not isinstance(flag, bool):
        problems.append(
            f"{owner}.include_pagination_metadata must be True or False; got {flag!r}. "
            "Use include_pagination_metadata = True (or False, the default)."
        )
    return problems + _check_count_options(cls)


#: The values of a view's ``count`` option (and of ``Prefer: count=``).
COUNT_MODES = ("exact", "planned", "estimated", "none")


def _check_count_options(cls: type) -> list[str]:
    owner, problems = cls.__name__, []
    count = getattr(cls, "count", "exact")
    if count not in COUNT_MODES:
        choices = ", ".join(f'"{mode}"' for mode in COUNT_MODES)
        problems.append(
            f"{owner}.count must be one of {choices}; got {count!r}. Use count = \"exact\" "
            '(the default), or count = "planned" for PostgreSQL\'s fast estimate.'
        )
    threshold = getattr(cls, "count_threshold", 10_000)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        problems.append(
            f"{owner}.count_threshold must be a number of rows (an int >= 0); got "
            f"{threshold!r}. Use e.g. count_threshold = 10_000."
        )
    return problems


def _model_name(cls: type) -> str:
    model = getattr(cls, "model", None)
    return model.__name__ if isinstance(model, type) else "Item"


def _suggested_prefix(cls: type) -> str:
    name = _model_name(cls) if getattr(cls, "model", None) is not None else cls.__name__
    name = re.sub(r"View$", "", name) or name
    return "/" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()

