"""Step `compile_lifecycle`: which phases of the write pipeline a view runs, decided once.

The pipeline of every generated write (SPEC §9)::

    authorize -> snapshot -> mutate -> flush -> before_action_commit -> commit
              -> after_action_commit

Each hook is a method with a restly default that does nothing. A view that overrides none
of them runs today's path unchanged: `Lifecycle.NONE`, with every flag false, so a request
pays one attribute read and one test. Overriding a hook switches on its phase only, and
`old` (a `snapshot` of the row before the mutation) is taken only for views with a commit
hook to pass it to.

The hooks must be of the view's kind: coroutines on async views, plain functions on sync
ones; and take the arguments restly passes. Both are checked here, when the class is
created, rather than failing (or silently never awaiting) on a request.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

from ._options import uses_default

__all__ = ["HOOKS", "Lifecycle", "check_lifecycle", "compile_lifecycle"]

#: The hooks, with the arguments restly calls them with (for the signature check).
HOOKS: dict[str, tuple[str, ...]] = {
    "authorize": ("action", "obj", "data"),
    "before_action_commit": ("action", "new", "old"),
    "after_action_commit": ("action", "new", "old"),
}


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The phases a view's writes (and reads, for `authorize`) run."""

    NONE: ClassVar[Lifecycle]

    #: `authorize` is overridden: called on every generated route.
    authorize: bool = False
    #: `before_action_commit` / `after_action_commit` are overridden.
    before_commit: bool = False
    after_commit: bool = False
    #: `handle_update` / `handle_delete` are restly's own, so the pipeline may run their
    #: steps itself (read, authorize, snapshot, change) instead of calling them whole.
    default_update: bool = True
    default_delete: bool = True

    @property
    def snapshots(self) -> bool:
        """Whether `old` is taken: only a commit hook receives it."""
        return self.before_commit or self.after_commit

    @property
    def around_row(self) -> bool:
        """Whether an update or delete needs its row before the mutation."""
        return self.authorize or self.snapshots


Lifecycle.NONE = Lifecycle()


def compile_lifecycle(cls: type) -> Lifecycle:
    """The `Lifecycle` of view class `cls` (its hooks checked by `check_lifecycle`)."""
    overridden = {name: not uses_default(cls, name) for name in HOOKS}
    default_update = uses_default(cls, "handle_update")
    default_delete = uses_default(cls, "handle_delete")
    if not any(overridden.values()) and default_update and default_delete:
        return Lifecycle.NONE
    return Lifecycle(
        authorize=overridden["authorize"],
        before_commit=overridden["before_action_commit"],
        after_commit=overridden["after_action_commit"],
        default_update=default_update,
        default_delete=default_delete,
    )


def check_lifecycle(cls: type) -> list[str]:
    """One message per hook of `cls` that is of the wrong kind or takes the wrong arguments."""
    problems = []
    for name, arguments in HOOKS.items():
        if uses_default(cls, name):
            continue
        hook = getattr(cls, name)
        expected_async = _default_is_async(cls, name)
        if expected_async is None or not callable(hook):
            if not callable(hook):
                problems.append(
                    f"{cls.__name__}.{name} must be a method; got {hook!r}. Define "
                    f"def {name}(self, {', '.join(arguments)}=None) or remove it."
                )
            continue
        kind, prefix = ("async", "async def") if expected_async else ("sync", "def")
        if inspect.iscoroutinefunction(hook) != expected_async:
            problems.append(
                f"{cls.__name__}.{name} must be {'a coroutine' if expected_async else 'a plain function'} "
                f"on a {kind} view; got {'async def' if not expected_async else 'def'}. Write "
                f"{prefix} {name}(self, {', '.join(arguments)}) ..."
            )
            continue
        try:
            inspect.signature(hook).bind(None, *arguments)
        except TypeError:
            problems.append(
                f"{cls.__name__}.{name} must accept ({', '.join(arguments)}); got "
                f"{name}{inspect.signature(hook)}. restly calls it as "
                f"{name}(action, ...) with these arguments: define "
                f"{prefix} {name}(self, {', '.join(f'{a}=None' if i else a for i, a in enumerate(arguments))})."
            )
    return problems


def _default_is_async(cls: type, name: str) -> bool | None:
    """Whether restly's own `name` on `cls` is a coroutine (the view's kind), or None."""
    for klass in cls.__mro__:
        function: Any = klass.__dict__.get(name)
        if function is not None and uses_default(klass, name):
            return inspect.iscoroutinefunction(function)
    return None
