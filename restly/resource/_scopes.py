"""Row scopes: `fr.scope`, and what a view class compiles from the scopes it reaches.

```python
@fr.scope(Post)
def visible_posts(user: CurrentUser) -> ColumnElement[bool] | None:   # sync or async
    return None if user.is_admin else Post.tenant_id == user.tenant_id
```

A scope's parameters are FastAPI dependencies, resolved per request (with FastAPI's
per-request cache: a `CurrentUser` the view also declares is resolved once). It answers
a SQL condition on the model, or ``None`` for every row. It is registered in the active
`FRGlobals` (or the one passed as ``globals=``) and applies to every view of that globals
that *reaches* the model: whose model it is, or is related to through relationships (at
any depth), or whose schemas reference it (``fr.IDRef``, ``fr.MustExist``).

When such a view class is created, `compile_scopes` finds the scopes it reaches and
`scope_dependency` builds one dependency for its routes: it resolves those scopes and
scopes the request's session (`restly.db.scope_session`), so every statement of the
request, restly's or the view's own, sees only the rows the scopes admit. A view that
reaches no scoped model gets no dependency and pays nothing.

A scope declared for a model that an already created view reaches is refused
(`RestlyConfigurationError`): that view's routes are built, and would not apply it.
Declare scopes before the views, e.g. next to the models.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import RelationshipProperty

from .._annotations import allows_none, nested_models
from .._introspect import fk_partner, mapper_of
from ..db import FRGlobals, Scope, get_fr_globals, scope_criteria, scope_session
from ..exc import RestlyConfigurationError
from ..schemas import idref_target, references_in
from ._loading import MAX_LOAD_DEPTH

__all__ = ["compile_scopes", "reached_models", "scope", "scope_dependency"]

F = TypeVar("F", bound=Callable[..., Any])


def scope(model: type[Any], *, globals: FRGlobals | None = None) -> Callable[[F], F]:  # noqa: A002
    """Declare a row scope for ``model``: a function answering, per request, which rows
    every view of the app may see (see the module documentation). Returns the function
    unchanged. Several scopes of one model all apply (ANDed)."""
    if mapper_of(model) is None:
        raise RestlyConfigurationError(
            f"fr.scope() needs a mapped SQLAlchemy class; got {model!r}. "
            "Use @fr.scope(Post) above the scope function."
        )
    target = globals if globals is not None else get_fr_globals()

    def register(function: F) -> F:
        if not callable(function):
            raise RestlyConfigurationError(
                f"@fr.scope({model.__name__}) decorates a function returning a condition "
                f"on {model.__name__}; got {function!r}."
            )
        declared = Scope(model, function, _dependency(function))
        late = [view.__name__ for view in target.registry if _reaches(view, model)]
        if late:
            raise RestlyConfigurationError(
                f"row scope {declared.name} for {model.__name__} is declared after "
                f"{', '.join(late)}, which already reach{'es' if len(late) == 1 else ''} "
                f"{model.__name__} without it. Declare scopes before the views (e.g. "
                "import the module declaring them before the views' modules)."
            )
        target.scopes.add(declared)
        return function

    return register


def _reaches(view: type, model: type[Any]) -> bool:
    compiled = view.__dict__.get("__restly_compiled__")
    reached: frozenset[type[Any]] = getattr(compiled, "reached_models", frozenset())
    return any(_related(model, other) for other in reached)


def _related(a: type[Any], b: type[Any]) -> bool:
    """Whether rows of ``a`` can be rows of ``b`` (one class, or mapped inheritance)."""
    return issubclass(a, b) or issubclass(b, a)


def reached_models(cls: Any) -> frozenset[type[Any]]:
    """The models a view's statements can name: its model, every model related to it
    through relationships (at any depth), and what its schemas reference."""
    found: set[type[Any]] = set()
    pending: list[type[Any]] = [cls.model]
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.add(model)
        mapper = mapper_of(model)
        if mapper is not None:
            pending.extend(rel.mapper.class_ for rel in mapper.relationships)
    for option in ("schema", "creation_schema", "update_schema", "response_schema"):
        schema = getattr(cls, option, None)
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            # fr.IDRef and fr.MustExist fields: their targets are looked up on writes
            found.update(ref.target.model for ref in references_in(schema, cls.model))
    return frozenset(found)


def compile_scopes(cls: Any) -> tuple[frozenset[type[Any]], tuple[Scope, ...], list[str]]:
    """The models view ``cls`` reaches, the scopes that apply to it, and problems: a
    response field showing a scoped to-one relationship must allow ``null``."""
    reached = reached_models(cls)
    registry = cls.__restly_globals__.scopes
    if not registry:
        return reached, (), []
    scopes = tuple(s for s in registry if any(_related(s.model, m) for m in reached))
    problems = list(_hidden_to_one(cls, scopes))
    return reached, scopes, problems


def _hidden_to_one(cls: Any, scopes: tuple[Scope, ...]) -> Iterable[str]:
    """A scoped to-one target a request may not see is answered as ``null``: the response
    fields showing one must allow it (else the answer could not be serialised)."""
    scoped = {s.model: s for s in scopes}
    for path, field, related, column in _to_one_fields(cls.model, cls.response_schema, (), 1):
        covering = next((s for m, s in scoped.items() if _related(related, m)), None)
        if covering is None or allows_none(field.annotation):
            continue
        fix = "make the field optional (`... | None = None`)"
        if idref_target(field) is not None and column is not None:
            fix += f", or reference the foreign key column (`{column}: fr.IDRef[{related.__name__}]`)"
        yield (
            f"{cls.__name__}.response_schema field {'.'.join(path)!r} shows "
            f"{related.__name__}, which row scope {covering.name} may hide; a hidden "
            f"{related.__name__} is answered as null, so {fix}."
        )


def _to_one_fields(
    model: type[Any], schema: type[BaseModel], path: tuple[str, ...], depth: int
) -> Iterable[tuple[tuple[str, ...], Any, type[Any], str | None]]:
    """``(path, field, related model, foreign key column)`` of every to-one relationship
    field of ``schema`` on ``model``, following nested schemas as eager loading does."""
    mapper = mapper_of(model)
    if mapper is None:
        return
    for name, field in schema.model_fields.items():
        prop = mapper.attrs.get(name)
        if not isinstance(prop, RelationshipProperty):
            continue
        related = prop.mapper.class_
        if not prop.uselist:
            yield (*path, name), field, related, fk_partner(mapper, prop)
        if depth < MAX_LOAD_DEPTH:
            for nested in nested_models(field.annotation):
                if nested is not schema:
                    yield from _to_one_fields(related, nested, (*path, name), depth + 1)


def _dependency(function: Callable[..., Any]) -> Callable[..., Any]:
    """The scope function as a dependency: a sync one is called on the event loop, not in
    FastAPI's threadpool (a scope builds a condition; the hop would cost more)."""
    if inspect.iscoroutinefunction(function) or not inspect.isfunction(function):
        return function

    async def call_inline(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    signature = inspect.signature(function, eval_str=True)
    call_inline.__signature__ = signature  # type: ignore[attr-defined]
    call_inline.__name__ = function.__name__
    call_inline.__qualname__ = function.__qualname__
    return call_inline


def scope_dependency(cls: Any, scopes: tuple[Scope, ...], session: Any) -> Any:
    """``Depends(...)`` of the dependency that resolves ``scopes`` per request and scopes
    the request's session (``session``: the view's own annotation of it, so FastAPI hands
    both the same session)."""
    names = tuple(f"restly_scope_{index}" for index in range(len(scopes)))
    pairs = tuple(zip(scopes, names))

    async def apply_row_scopes(**values: Any) -> None:
        criteria: dict[type[Any], ColumnElement[bool]] = {}
        for declared, name in pairs:
            condition = scope_criteria(declared, values[name])
            if condition is not None:
                earlier = criteria.get(declared.model)
                criteria[declared.model] = (
                    condition if earlier is None else and_(earlier, condition)
                )
        scope_session(values["restly_session"], criteria)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("restly_session", keyword, annotation=session)]
    parameters += [
        inspect.Parameter(name, keyword, annotation=Annotated[Any, Depends(declared.dependency)])
        for declared, name in pairs
    ]
    apply_row_scopes.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    apply_row_scopes.__qualname__ = f"{cls.__qualname__}.apply_row_scopes"
    return Depends(apply_row_scopes)
