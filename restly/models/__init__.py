"""Model helpers: an ``id`` primary key, UTC timestamps, ready bases and ``get_one_or_create``.

::

    import restly as fr
    from sqlalchemy.orm import Mapped

    class Article(fr.TimestampsMixin, fr.IDBase):   # table "article"
        title: Mapped[str]

    class Tag(fr.IDMixin, fr.DataclassBase):        # a dataclass: Tag(name="news")
        name: Mapped[str]

    tag, created = fr.get_one_or_create(session, Tag, name="news")

The columns and bases are in ``_mixins`` (UTC date-times, the column mixins, ``IDBase`` and
``DataclassBase``), ``get_one_or_create`` and its async twin in ``_get_or_create``.
"""

from ._get_or_create import async_get_one_or_create, get_one_or_create
from ._mixins import (
    DataclassBase,
    IDBase,
    IDMixin,
    TimestampsMixin,
    UTCDateTime,
    snake_case,
    utc_now,
)

__all__ = [
    "DataclassBase",
    "IDBase",
    "IDMixin",
    "TimestampsMixin",
    "UTCDateTime",
    "async_get_one_or_create",
    "get_one_or_create",
    "snake_case",
    "utc_now",
]
