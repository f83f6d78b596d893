"""Keep write-only values out of validation errors.

Pydantic's errors echo what the client sent: a too-short ``password`` comes back as
``{"loc": ["body", "password"], "input": "hunter2", ...}``, and a missing ``email`` comes back
with the whole body, password included, as its ``input``. A route whose body holds
``fr.WriteOnly`` fields therefore hides them before the error is answered:

```python
tree = write_only_tree(UserCreate)          # {"password": True}, once per route
errors = hide_write_only(error.errors(), tree)
```

An error *inside* a write-only field loses its ``input`` (and its ``ctx``, which can quote
it); an error *around* one keeps its ``input`` with the write-only keys removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from pydantic import BaseModel

from ._derive import _map_nested
from ._markers import is_write_only

__all__ = ["SecretTree", "hide_write_only", "write_only_tree"]

SecretTree: TypeAlias = "dict[str, SecretTree | bool]"
"""A schema's wire keys: ``True`` for a write-only field, the subtree of a field nesting
schemas, ``False`` for any other field."""


def write_only_tree(annotation: Any) -> SecretTree:
    """Where write-only values sit in bodies of type ``annotation``; ``{}`` if nowhere."""
    tree = _tree_of_annotation(annotation, {})
    return tree if tree is not None and _holds_secret(tree, set()) else {}


def _tree_of_annotation(
    annotation: Any, memo: dict[type[BaseModel], SecretTree]
) -> SecretTree | None:
    """The tree of the models inside ``annotation``; ``None`` when it holds no model."""
    trees: list[SecretTree] = []

    def collect(model: type[BaseModel]) -> type[BaseModel]:
        trees.append(_tree_of_model(model, memo))
        return model

    _map_nested(annotation, collect)
    if len(trees) <= 1:
        # one tree is shared as it is, so a schema nesting itself gets a cyclic tree
        return trees[0] if trees else None
    merged: SecretTree = {}
    for tree in trees:
        merged.update(tree)
    return merged


def _tree_of_model(model: type[BaseModel], memo: dict[type[BaseModel], SecretTree]) -> SecretTree:
    if model in memo:
        return memo[model]
    tree: SecretTree = {}
    memo[model] = tree  # before the fields: a schema may nest itself
    for name, field in model.model_fields.items():
        node: SecretTree | bool | None = (
            True if is_write_only(field) else _tree_of_annotation(field.annotation, memo)
        )
        if node is None:
            node = False  # listed all the same: a key missing from a tree is a union tag
        for key in {name, field.alias, field.validation_alias}:
            if isinstance(key, str):
                tree[key] = node
    return tree


def _holds_secret(tree: SecretTree, seen: set[int]) -> bool:
    if id(tree) in seen:
        return False
    seen.add(id(tree))
    return any(
        node is True or (isinstance(node, dict) and _holds_secret(node, seen))
        for node in tree.values()
    )


def hide_write_only(errors: Iterable[Mapping[str, Any]], tree: SecretTree) -> list[dict[str, Any]]:
    """``errors`` (pydantic's ``errors()`` of a request body, ``loc`` starting at ``"body"``)
    with every write-only value removed."""
    return [_hide(dict(error), tree) for error in errors]


def _hide(error: dict[str, Any], tree: SecretTree) -> dict[str, Any]:
    node: SecretTree | bool = tree
    path = tuple(error.get("loc", ()))[1:]
    if str(error.get("type", "")).startswith("missing"):
        path = path[:-1]  # a missing field's error quotes the object it is missing from
    for part in path:
        if not isinstance(node, dict):
            break
        if isinstance(part, str) and part in node:
            node = node[part]
        # list indexes and union tags leave the position in the tree unchanged
    if "input" in error:
        kept = _without_secrets(error["input"], node)
        if kept is _HIDDEN:
            error.pop("input")
            error.pop("ctx", None)  # a constraint's context can quote the value
        else:
            error["input"] = kept
    return error


_HIDDEN: Any = object()


def _without_secrets(value: Any, node: SecretTree | bool) -> Any:
    """``value`` without the write-only values ``node`` locates; ``_HIDDEN`` when it cannot
    be shown at all (it is one, or it is not the object expected where one may sit)."""
    if node is True:
        return _HIDDEN
    if not isinstance(node, dict) or not _holds_secret(node, set()):
        return value
    if isinstance(value, dict):
        kept: dict[Any, Any] = {}
        for key, item in value.items():
            shown = _without_secrets(item, node.get(key, False)) if isinstance(key, str) else item
            if shown is not _HIDDEN:
                kept[key] = shown
        return kept
    if isinstance(value, (list, tuple)):
        items = [_without_secrets(item, node) for item in value]
        return _HIDDEN if any(item is _HIDDEN for item in items) else items
    return _HIDDEN
