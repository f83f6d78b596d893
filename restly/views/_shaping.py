"""``Shaping``: how a REST view's list and get routes read ``?fields=`` and ``?expand=`` (a
mixin of ``BaseRestView``).

::

    shape = self._shape(request)                      # None: answered as without the options
    prepared = self._prepared_shape(params, listing, shape)   # objects with the shape's loads
    body = shape.dump_many(objects)

What a view accepts is compiled once (``CompiledView.shapes``, ``restly.resource._shapes``);
the statements that run are the twins' (``_shaped_list``, ``_get_shaped`` in ``_rest.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import Select

from ..query import PreparedList, prepared_list
from ..resource import ID_PARAMETER, Shape, read_shape
from ._listing import Listing

__all__ = ["Shaping"]


class Shaping:
    """Sparse fields and expansion, for ``BaseRestView``."""

    if TYPE_CHECKING:  # provided by BaseRestView
        __restly_compiled__: ClassVar[Any]
        model: ClassVar[Any]

        def _get_statement(self, id: Any) -> Select[Any]: ...

    def _shape(self, request: Request | None) -> Shape | None:
        """What the request's ``fields`` and ``expand`` ask for (422 for a name the view
        does not offer), or ``None``: neither sent, or no request (an override calling the
        route method without it)."""
        shapes = self.__restly_compiled__.shapes
        if shapes is None or request is None:
            return None
        return read_shape(shapes, request.query_params)

    def _prepared_shape(
        self, query_params: BaseModel, listing: Listing, shape: Shape
    ) -> PreparedList | None:
        """``_prepared_list`` for a list sending ``fields``/``expand``: objects with the
        shape's loads (its statements are prepared once per expansion set and request
        shape); ``None`` when ``build_list_query`` is overridden."""
        if self.__restly_compiled__.prepared_base is None:
            return None
        expanded = shape.expanded
        return prepared_list(
            query_params,
            expanded.list_base,
            self.model,
            total=listing.count == "exact" and listing.position is None,
            cache=expanded.list_statements,
            keys=listing.keyset,
            position=listing.position,
            extra_row=listing.extra_row,
        )

    def _get_shaped_statement(self, id: Any, shape: Shape) -> tuple[Select[Any], dict[str, Any] | None]:
        """The by-id read with the shape's loads (prebuilt unless ``build_list_query`` is
        overridden)."""
        if self.__restly_compiled__.default_query:
            return shape.expanded.get_objects, {ID_PARAMETER: id}
        return self._get_statement(id).options(*shape.options), None
