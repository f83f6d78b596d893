"""Base classes for restly schemas.

``BaseSchema`` is a Pydantic v2 model that reads ORM objects (``from_attributes=True``) and
accepts both field names and aliases on input. ``IDSchema`` adds a read-only ``id``::

    class WorldSchema(fr.IDSchema):
        message: str
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ._markers import ReadOnly

__all__ = ["BaseSchema", "IDSchema"]


class BaseSchema(BaseModel):
    """Base class for schemas used by restly views."""

    model_config = ConfigDict(
        from_attributes=True,
        populate_by_name=True,
    )


class IDSchema(BaseSchema):
    """A schema with a read-only integer ``id``: the usual base for resource schemas."""

    id: ReadOnly[int]
