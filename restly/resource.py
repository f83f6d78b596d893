"""`ResourceMeta`: the metaclass that checks, prepares and registers every view class.

When a `class ...(fr.AsyncRestView)` statement runs, `ResourceMeta`:

1. decides whether the class is abstract (no `model`/`prefix`/routes of its own, or
   `__abstract__ = True` in its own body) and if so stops there;
2. validates its configuration, collecting every problem into one
   `RestlyConfigurationError`;
3. derives what requests need (schemas, list parameters, id type, endpoints), once; a view
   base class may add its own step as a classmethod `__restly_prepare__(cls) -> list[str]`
   (run after the schemas are derived and before the endpoints are compiled; it returns
   problems, as the checks do);
4. registers it in the registry of the active `FRGlobals`, or of the one
   given with the `globals=` class keyword, and binds it to that globals:

   ```python
   class WorldView(fr.AsyncRestView, globals=app_a_globals):
       prefix = "/world"
       model = World
   ```

Configuration precedence, for every option: the value the nearest class in the MRO declared
itself wins; values restly derived for a parent are derived afresh for each class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .db._globals import FRGlobals, get_fr_globals
from .exc import RestlyConfigurationError

if TYPE_CHECKING:
    from .views._endpoints import CompiledRoute

__all__ = ["ResourceMeta", "declared", "is_model_view"]

_DERIVED = "__restly_derived__"


class ResourceMeta(type):
    """Metaclass of `View` and every view class built on it."""

    if TYPE_CHECKING:  # set on each class by __new__ and _prepare/_register below
        __restly_abstract__: bool
        __restly_target_globals__: FRGlobals
        __restly_routes__: tuple[CompiledRoute, ...]
        __restly_globals__: FRGlobals

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
        if _is_abstract(cls, namespace):
            cls.__restly_abstract__ = True
            return cls
        cls.__restly_abstract__ = False
        target = globals if globals is not None else get_fr_globals()
        cls.__restly_target_globals__ = target
        # Derivation needs a valid configuration: report validation problems first.
        problems = _validate(cls) or _prepare(cls)
        if problems:
            raise RestlyConfigurationError.for_class(cls, problems)
        _register(cls, target)
        return cls


def is_model_view(cls: type) -> bool:
    """Return whether `cls` is a model-backed view (`RestView` and friends)."""
    return bool(getattr(cls, "__restly_model_view__", False))


def declared(cls: type, name: str, default: Any = None) -> Any:
    """Return the value of option `name` the user declared nearest in the MRO.

    Values that restly derived and stored on a class are skipped, so a subclass with
    another model gets its own derived schemas instead of its parent's.
    """
    for klass in cls.__mro__:
        if name in klass.__dict__ and name not in klass.__dict__.get(_DERIVED, ()):
            return klass.__dict__[name]
    return default


def set_derived(cls: type, name: str, value: Any) -> None:
    """Store a derived option on `cls`, remembering it was not declared by the user."""
    setattr(cls, name, value)
    derived = cls.__dict__.get(_DERIVED)
    if derived is None:
        derived = set()
        setattr(cls, _DERIVED, derived)
    derived.add(name)


def _is_abstract(cls: type, namespace: dict[str, Any]) -> bool:
    """A class is concrete when it declares a model, a prefix or (plain views) routes."""
    if namespace.get("__abstract__", False):
        return True
    if "model" in namespace or "prefix" in namespace:
        return False
    if is_model_view(cls):
        return True
    from .views._routing import route_spec

    return not any(route_spec(value) is not None for value in namespace.values())


def _validate(cls: type) -> list[str]:
    """Check the declared options; return one message per problem."""
    from .views._checks import check_model_view, check_prefix

    problems = check_prefix(cls, required=is_model_view(cls))
    if is_model_view(cls):
        problems += check_model_view(cls)
    return problems


def _prepare(cls: ResourceMeta) -> list[str]:
    """Derive schemas and compile endpoints; return problems found on the way."""
    from .views._derive import derive_model_view
    from .views._endpoints import compile_routes

    if is_model_view(cls):
        problems = derive_model_view(cls)
        if problems:
            return problems
        excluded = frozenset(getattr(cls, "exclude_routes", ()) or ())
    else:
        excluded = frozenset()
    hook = getattr(cls, "__restly_prepare__", None)
    if hook is not None:
        problems = hook()
        if problems:
            return list(problems)
    routes, problems = compile_routes(cls, getattr(cls, "prefix", "") or "", excluded)
    cls.__restly_routes__ = tuple(routes)
    return problems


def _register(cls: ResourceMeta, fr_globals: FRGlobals) -> None:
    """Bind `cls` to `fr_globals` and add it to that globals' registry."""
    cls.__restly_globals__ = fr_globals
    fr_globals.registry.add(cls)
