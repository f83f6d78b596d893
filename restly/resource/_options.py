"""Reading a view class's options, and marking restly's own seams.

```python
declared(BookView, "schema")          # what the user declared nearest in the MRO, or None
set_derived(BookView, "schema", S)    # store a value restly derived (not inherited as declared)

class BaseRestView(View):
    @restly_default
    def build_list_query(self): ...

uses_default(BookView, "build_list_query")   # True unless BookView (or a base) overrides it
```

Configuration precedence, for every option: the value the nearest class in the MRO declared
itself wins; values restly derived for a parent are derived afresh for each class.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .._routing import route_spec

__all__ = [
    "declared",
    "is_abstract",
    "is_model_view",
    "restly_default",
    "set_derived",
    "uses_default",
]

F = TypeVar("F")

_DERIVED = "__restly_derived__"
_DEFAULT = "__restly_default__"


def restly_default(function: F) -> F:
    """Mark `function` as restly's own implementation of a seam (see `uses_default`).

    An override, even one calling `super()`, is not marked, so it counts as the user's.
    """
    setattr(function, _DEFAULT, True)
    return function


def uses_default(cls: type, name: str) -> bool:
    """Whether `cls` uses restly's own implementation of method `name`."""
    return bool(getattr(getattr(cls, name, None), _DEFAULT, False))


def is_model_view(cls: type) -> bool:
    """Return whether `cls` is a model-backed view (`RestView` and friends)."""
    return bool(getattr(cls, "__restly_model_view__", False))


def is_abstract(cls: type, namespace: dict[str, Any]) -> bool:
    """A class is concrete when it declares a model, a prefix or (plain views) routes.

    `__abstract__` is read from the class's own body, so it is not inherited.
    """
    if namespace.get("__abstract__", False):
        return True
    if "model" in namespace or "prefix" in namespace:
        return False
    if is_model_view(cls):
        return True
    return not any(route_spec(value) is not None for value in namespace.values())


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
