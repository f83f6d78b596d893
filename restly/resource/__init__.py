"""`ResourceMeta`: the metaclass that checks, compiles and registers every view class.

This package is the class-definition layer: the metaclass and every step it runs, each in
its own module. It imports only downward (`restly.query`, `restly.schemas`, `restly.db`
and the leaves), never `restly.views` or `restly.mount`.

When a `class ...(fr.AsyncRestView)` statement runs, `ResourceMeta.__new__`:

1. decides whether the class is abstract (no `model`/`prefix`/routes of its own, or
   `__abstract__ = True` in its own body) and if so stops there (`_options.is_abstract`);
2. checks the declared options, collecting every problem (`_checks`);
3. for model views, derives the public options: schemas, id type, list parameters
   (`_schemas.derive_schemas`), then compiles what requests use into one frozen
   `CompiledView`, stored as `cls.__restly_compiled__` (`_compiled.compile_view`);
4. runs the class's own step, a classmethod `__restly_prepare__(cls) -> list[str]`, if it
   has one (react-admin views check their options and extend the compiled view there);
5. compiles the routes into endpoints (`_routes.compile_routes`);
6. registers the class in the registry of the active `FRGlobals`, or of the one given with
   the `globals=` class keyword, to which it is bound as `cls.__restly_globals__`:

   ```python
   class WorldView(fr.AsyncRestView, globals=app_a_globals):
       prefix = "/world"
       model = World
   ```

Every step returns problems (`list[str]`); the first step with any stops, and they are raised
as one `RestlyConfigurationError` ("WorldView is misconfigured (2 problems): ..."). Errors of
lower layers met on the way are reported there too, naming the option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..db import FRGlobals, get_fr_globals
from ..exc import RestlyConfigurationError
from ._checks import check_model_view, check_prefix
from ._porting import RENAMED as RENAMED
from ._porting import check_porting_names
from ._compiled import compile_view
from ._conditional import check_conditional
from ._lifecycle import check_lifecycle
from ._options import declared, is_abstract, is_model_view
from ._routes import compile_routes
from ._schemas import derive_schemas
from ._scopes import scope, scope_dependency

# For the rest of restly (`X as X` marks an intended re-export); not part of the public API.
from ._checks import COUNT_MODES as COUNT_MODES
from ._compiled import COMPILED as COMPILED
from ._compiled import ID_PARAMETER as ID_PARAMETER
from ._compiled import CompiledView as CompiledView
from ._conditional import Conditional as Conditional
from ._lifecycle import Lifecycle as Lifecycle
from ._loading import LOAD_CHUNK_SIZE as LOAD_CHUNK_SIZE
from ._loading import MAX_LOAD_DEPTH as MAX_LOAD_DEPTH
from ._loading import MAX_TREE_DEPTH as MAX_TREE_DEPTH
from ._loading import loader_options as loader_options
from ._options import restly_default as restly_default
from ._options import set_derived as set_derived
from ._options import uses_default as uses_default
from ._routes import CompiledRoute as CompiledRoute
from ._routes import class_dependencies as class_dependencies
from ._routes import collect_routes as collect_routes
from ._routes import join_path as join_path
from ._rows import RowSerializer as RowSerializer
from ._single import VERSION_PARAMETER as VERSION_PARAMETER
from ._rows import RowTypeMismatch as RowTypeMismatch
from ._rows import StructPage as StructPage
from ._scopes import reached_models as reached_models
from ._shape import MAX_SHAPES as MAX_SHAPES
from ._shape import Shape as Shape
from ._shape import read_shape as read_shape
from ._shapes import MAX_EXPAND_DEPTH as MAX_EXPAND_DEPTH
from ._shapes import Shapes as Shapes

__all__ = ["ResourceMeta", "declared", "is_model_view", "scope"]


class ResourceMeta(type):
    """Metaclass of `View` and every view class built on it."""

    if TYPE_CHECKING:  # set on each class by __new__
        __restly_abstract__: bool
        __restly_globals__: FRGlobals
        __restly_routes__: tuple[CompiledRoute, ...]

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        /,
        *,
        globals: FRGlobals | None = None,  # noqa: A002 - the documented class keyword
        **kwargs: Any,
    ) -> ResourceMeta:
        cls = super().__new__(mcs, name, bases, namespace, **kwargs)
        cls.__restly_abstract__ = is_abstract(cls, namespace)
        if cls.__restly_abstract__:
            return cls
        cls.__restly_globals__ = globals if globals is not None else get_fr_globals()
        problems = (
            check(cls)
            or derive_and_compile(cls)
            or run_class_step(cls)
            or compile_view_routes(cls)
        )
        if problems:
            raise RestlyConfigurationError.for_class(cls, problems)
        register(cls)
        return cls


def check(cls: type) -> list[str]:
    """Check the declared options; return one message per problem."""
    problems = check_prefix(cls, required=is_model_view(cls))
    if is_model_view(cls):
        problems += (
            check_model_view(cls)
            + check_porting_names(cls)
            + check_lifecycle(cls)
            + check_conditional(cls)
        )
    return problems


def derive_and_compile(cls: type) -> list[str]:
    """Model views: derive the public options, then compile the `CompiledView`."""
    if not is_model_view(cls):
        return []
    return derive_schemas(cls) or compile_view(cls)


def run_class_step(cls: type) -> list[str]:
    """The class's own `__restly_prepare__` step, if any (react-admin views have one)."""
    hook = getattr(cls, "__restly_prepare__", None)
    return list(hook()) if hook is not None else []


def compile_view_routes(cls: ResourceMeta) -> list[str]:
    """Compile the endpoints; return conflicts and unresolvable annotations."""
    excluded = frozenset(getattr(cls, "exclude_routes", ()) or ()) if is_model_view(cls) else frozenset()
    shared, problems = scoping_dependencies(cls)
    if problems:
        return problems
    routes, problems = compile_routes(cls, getattr(cls, "prefix", "") or "", excluded, shared)
    cls.__restly_routes__ = tuple(routes)
    return problems


def scoping_dependencies(cls: ResourceMeta) -> tuple[tuple[Any, ...], list[str]]:
    """The dependency that applies the row scopes a model view reaches, for every route
    of the view (none when it reaches no scoped model)."""
    compiled = cls.__dict__.get(COMPILED)
    if compiled is None or not compiled.scopes:
        return (), []
    session = class_dependencies(cls).get("session")
    if session is None:
        names = ", ".join(s.name for s in compiled.scopes)
        return (), [
            f"{cls.__name__} reaches models with row scopes ({names}) but has no `session` "
            "dependency to apply them to; keep the session of fr.AsyncRestView / fr.RestView."
        ]
    return (scope_dependency(cls, compiled.scopes, session),), []


def register(cls: ResourceMeta) -> None:
    """Add `cls` to the registry of the globals it is bound to."""
    cls.__restly_globals__.registry.add(cls)

