"""Schema twins of the model mixins.

::

    class ArticleSchema(TimestampsSchemaMixin, fr.IDSchema):   # fields: id, created_at, ...
        title: str

``created_at`` and ``updated_at`` are read-only: shown in responses, never accepted on input.
(``IDSchema`` already is the twin of ``IDMixin``.)
"""

from __future__ import annotations

from datetime import datetime

from ._base import BaseSchema
from ._markers import ReadOnly

__all__ = ["TimestampsSchemaMixin"]


class TimestampsSchemaMixin(BaseSchema):
    """Adds the read-only ``created_at`` and ``updated_at`` of ``TimestampsMixin`` models."""

    created_at: ReadOnly[datetime]
    updated_at: ReadOnly[datetime]
