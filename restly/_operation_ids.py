"""Readable OpenAPI operation ids: ``list_books``, ``create_book``, ``stats_count_worlds``.

Client generators name their functions after operation ids, and FastAPI's default ids are
the route's name, path and method (``book_view_index_books_get``). restly gives each route of
its views an id that reads like the call a client makes:

- the generated routes of a view with a model: ``list_<models>``, ``get_<model>``,
  ``create_<model>``, ``update_<model>`` (PATCH), ``replace_<model>`` (react-admin's PUT),
  ``delete_<model>``;
- every other route: the view's name without ``View`` and the method's name,
  ``stats_count_worlds`` for ``StatsView.count_worlds``.

A second view for the same model (a react-admin view beside a REST view) gets the view's
name and the verb, ``book_admin_list``, so ids stay unique in the app. Views mounted on an ``APIRouter`` (whose neighbours in the app are unknown when they are
mounted) always get the second form. A route that states its own
``operation_id`` keeps it, and so does every route of a router or app that has its own
``generate_unique_id_function``.
"""

from __future__ import annotations

import re

from .models import snake_case

__all__ = ["operation_id", "plural"]

# Route method name -> (verb, plural noun) for the routes restly generates.
_GENERATED: dict[str, tuple[str, bool]] = {
    "index": ("list", True),
    "get": ("get", False),
    "post": ("create", False),
    "patch": ("update", False),
    "put": ("replace", False),
    "delete": ("delete", False),
}


def plural(noun: str) -> str:
    """English plural of a snake_case noun's last word: ``book`` -> ``books``,
    ``category`` -> ``categories``, ``box`` -> ``boxes``."""
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", noun):
        return noun + "es"
    return noun + "s"


def operation_id(
    view_name: str,
    model_name: str | None,
    route_name: str,
    method: str,
    *,
    several_methods: bool,
    taken: set[str],
) -> str:
    """The id of one operation (see the module documentation); added to ``taken``."""
    view = re.sub(r"_view$", "", snake_case(view_name)) or snake_case(view_name)
    candidates = []
    generated = _GENERATED.get(route_name)
    if model_name is not None and generated is not None:
        verb, many = generated
        noun = snake_case(model_name)
        candidates += [f"{verb}_{plural(noun) if many else noun}", f"{view}_{verb}"]
    else:
        candidates.append(f"{view}_{route_name}")
    if several_methods:
        candidates = [f"{candidate}_{method.lower()}" for candidate in candidates]
    chosen = next((candidate for candidate in candidates if candidate not in taken), None)
    number = 2
    while chosen is None:
        if (numbered := f"{candidates[-1]}_{number}") not in taken:
            chosen = numbered
        number += 1
    taken.add(chosen)
    return chosen
