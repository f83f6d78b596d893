"""Model columns and bases: an ``id`` primary key, UTC timestamps, snake_case table names.

::

    class Article(fr.TimestampsMixin, fr.IDBase):   # table "article"
        title: Mapped[str]

    class Tag(fr.IDMixin, fr.DataclassBase):        # a dataclass: Tag(name="news")
        name: Mapped[str]

The mixins work on any ``DeclarativeBase`` (or ``declarative_base()``) including
``MappedAsDataclass`` bases, where their columns are ``init=False``. List them *before* the
declarative base, as SQLAlchemy's own examples do: ``class Tag(fr.IDMixin, Base)``; a model
listing one after its base is refused with that fix. A column the model (or a non-mixin base)
declares itself wins over the mixin's.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, cast

from sqlalchemy import DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    MappedAsDataclass,
    declared_attr,
    has_inherited_table,
    mapped_column,
    registry,
)
from sqlalchemy.orm.properties import MappedColumn
from sqlalchemy.types import TypeDecorator, TypeEngine

from ..exc import RestlyConfigurationError

__all__ = [
    "DataclassBase",
    "IDBase",
    "IDMixin",
    "TimestampsMixin",
    "UTCDateTime",
    "snake_case",
    "utc_now",
]


def utc_now() -> datetime:
    """Return the current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


def snake_case(name: str) -> str:
    """Derive a table name from a class name: ``BlogPost`` -> ``blog_post``.

    An upper-case run stays one word: ``HTTPRequestLog`` -> ``http_request_log``.
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class UTCDateTime(TypeDecorator[datetime]):
    """A ``DateTime(timezone=True)`` that always returns timezone-aware UTC datetimes.

    SQLite and MySQL/MariaDB have no zone-aware timestamp type and hand back naive values, so
    values are converted to UTC before they are stored and marked UTC when they are read.
    Naive datetimes are refused: their zone is a guess, and a wrong guess corrupts data silently.
    On MySQL/MariaDB the column keeps microseconds (``DATETIME(6)``).
    """

    impl = DateTime
    cache_ok = True

    # Dialects whose timestamp type stores the zone; the others get naive UTC values.
    _zone_aware_dialects: ClassVar[frozenset[str]] = frozenset({"postgresql", "oracle", "mssql"})

    def __init__(self, timezone: bool = True) -> None:
        # ``timezone`` is accepted (and must be True) so that a migration an earlier restly
        # rendered as ``UTCDateTime(timezone=True)`` still runs.
        if timezone is not True:
            raise ValueError(
                f"UTCDateTime always stores a timezone; got timezone={timezone!r}. Use "
                "UTCDateTime(), or sqlalchemy.DateTime() for naive timestamps."
            )
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import DATETIME

            microseconds = DATETIME(fsp=6)  # type: ignore[no-untyped-call,unused-ignore]
            return dialect.type_descriptor(microseconds)
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"UTCDateTime needs a timezone-aware datetime; got the naive {value!r}. "
                "Use datetime.now(timezone.utc) instead of datetime.now()."
            )
        value = value.astimezone(timezone.utc)
        if dialect.name in self._zone_aware_dialects:
            return value
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# --- column mixins -----------------------------------------------------------------------------

ColumnFactory = Callable[[dict[str, Any]], MappedColumn[Any]]
"""Builds one mixin column; receives ``{"init": False}`` for dataclass models, else ``{}``."""


class _ColumnMixin:
    """Adds the columns of every column mixin to the declarative class that inherits them.

    A plain mixin with ``Mapped`` attributes cannot serve both kinds of base: SQLAlchemy 2.1
    refuses it on ``MappedAsDataclass`` models (it is not a dataclass), and a dataclass mixin
    turns plain models into dataclasses. So the columns are written into the model's own
    namespace just before SQLAlchemy maps it, with ``init=False`` where the model is a dataclass.
    """

    _leading_columns: ClassVar[Mapping[str, tuple[Any, ColumnFactory]]] = {}
    _trailing_columns: ClassVar[Mapping[str, tuple[Any, ColumnFactory]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if isinstance(getattr(cls, "registry", None), registry):
            _add_mixin_columns(cls)
        super().__init_subclass__(**kwargs)


def _add_mixin_columns(cls: type) -> None:
    """Write the missing mixin columns into ``cls`` (a declarative class not mapped yet)."""
    if "__mapper__" in vars(cls):
        mixins = [k.__name__ for k in cls.__bases__ if issubclass(k, _ColumnMixin)]
        others = [k.__name__ for k in cls.__bases__ if not issubclass(k, _ColumnMixin)]
        raise RestlyConfigurationError(
            f"{cls.__name__} lists {', '.join(mixins)} after its declarative base, so the "
            "mixin columns could not be added. List the mixins first: "
            f"class {cls.__name__}({', '.join(mixins + others)})."
        )
    column_options = {"init": False} if issubclass(cls, MappedAsDataclass) else {}
    leading: dict[str, tuple[Any, ColumnFactory]] = {}
    trailing: dict[str, tuple[Any, ColumnFactory]] = {}
    for klass in reversed(cls.__mro__):
        if _is_column_mixin(klass):
            leading.update(vars(klass).get("_leading_columns", {}))
            trailing.update(vars(klass).get("_trailing_columns", {}))
    added = {
        name: spec
        for name, spec in {**leading, **trailing}.items()
        if not _defined_outside_mixins(cls, name)
    }
    if not added:
        return
    for name, (_, factory) in added.items():
        setattr(cls, name, factory(column_options))
    # SQLAlchemy reads a column's Python type and a dataclass field from the annotations.
    own = {k: v for k, v in _own_annotations(cls).items() if k not in added}
    cls.__annotations__ = {**own, **{name: annotation for name, (annotation, _) in added.items()}}


def _is_column_mixin(klass: type) -> bool:
    """Return whether ``klass`` is one of the column mixins (not a model using them)."""
    own = vars(klass)
    return klass is not _ColumnMixin and ("_leading_columns" in own or "_trailing_columns" in own)


def _defined_outside_mixins(cls: type, name: str) -> bool:
    """Return whether the model or a non-mixin base declares ``name`` itself (it wins)."""
    return any(
        name in vars(klass) or name in _own_annotations(klass)
        for klass in cls.__mro__
        if not _is_column_mixin(klass) and klass is not object
    )


def _own_annotations(klass: type) -> Mapping[str, Any]:
    """Annotations declared in ``klass`` itself, without evaluating forward references."""
    if sys.version_info >= (3, 14):  # pragma: no cover - annotations are lazy from 3.14 on
        import annotationlib

        return annotationlib.get_annotations(klass, format=annotationlib.Format.FORWARDREF)
    return cast("Mapping[str, Any]", vars(klass).get("__annotations__", {}))


def _id_column(options: dict[str, Any]) -> MappedColumn[Any]:
    return mapped_column(
        Integer, primary_key=True, autoincrement=True, sort_order=-1, **options
    )


def _created_at_column(options: dict[str, Any]) -> MappedColumn[Any]:
    return mapped_column(UTCDateTime(), insert_default=utc_now, sort_order=1, **options)


def _updated_at_column(options: dict[str, Any]) -> MappedColumn[Any]:
    return mapped_column(
        UTCDateTime(),
        insert_default=_same_as_created_at,
        onupdate=utc_now,
        sort_order=1,
        **options,
    )


def _same_as_created_at(context: DefaultExecutionContext) -> datetime:
    """Insert default of ``updated_at``: equal to ``created_at``, so "never updated" is testable."""
    parameters = context.get_current_parameters()  # type: ignore[no-untyped-call,unused-ignore]
    created_at = parameters.get("created_at")
    return created_at if isinstance(created_at, datetime) else utc_now()


class IDMixin(_ColumnMixin):
    """Adds ``id: Mapped[int]``, an autoincrementing integer primary key, as the first column.

    It is ``init=False`` on dataclass models. Declare ``id`` on the model itself to use another
    key type.
    """

    _leading_columns = {"id": (Mapped[int], _id_column)}

    if TYPE_CHECKING:
        # The column is written into each model when it is mapped (see `_ColumnMixin`): this
        # tells type checkers it is there. `Any`, so a model may declare a key of another
        # type (`id: Mapped[uuid.UUID]`) without an incompatible override.
        id: Mapped[Any]


class TimestampsMixin(_ColumnMixin):
    """Adds ``created_at`` and ``updated_at``: timezone-aware UTC datetimes set by Python.

    Both are set at INSERT (to the same instant); ``updated_at`` changes whenever the ORM emits
    an UPDATE for the row. Bulk ``update()`` statements that name other columns also set it.
    """

    _trailing_columns = {
        "created_at": (Mapped[datetime], _created_at_column),
        "updated_at": (Mapped[datetime], _updated_at_column),
    }

    if TYPE_CHECKING:  # written into each model when it is mapped, as `IDMixin.id`
        created_at: Mapped[datetime]
        updated_at: Mapped[datetime]


# --- ready-made bases --------------------------------------------------------------------------


class _SnakeCaseTableName:
    """Derives ``__tablename__`` from the class name unless the class sets one.

    Subclasses of a mapped class share its table (single-table inheritance); give the subclass
    its own ``__tablename__`` for joined-table inheritance.
    """

    if TYPE_CHECKING:
        # A model may set its own name (`__tablename__ = "authors"`): to a type checker the
        # attribute is a plain class attribute, not the directive that derives it.
        __tablename__: Any
    else:

        @declared_attr.directive
        def __tablename__(cls: Any) -> str | None:  # noqa: N805 - a declared_attr gets the class
            if has_inherited_table(cls):
                return None
            return snake_case(cls.__name__)


class IDBase(IDMixin, _SnakeCaseTableName, DeclarativeBase):
    """A declarative base whose models get an ``id`` primary key and a snake_case table name.

    ::

        class BlogPost(fr.IDBase):     # table "blog_post", columns id, title
            title: Mapped[str]

    Every ``IDBase`` model shares ``IDBase.metadata`` (create tables with
    ``IDBase.metadata.create_all(engine)``). For a metadata of your own, compose the same
    pieces on your base: ``class Model(fr.IDMixin, MyBase)``.
    """


class DataclassBase(_SnakeCaseTableName, MappedAsDataclass, DeclarativeBase, kw_only=True):
    """A declarative base whose models are keyword-only dataclasses with snake_case table names.

    ::

        class BlogPost(fr.IDMixin, fr.TimestampsMixin, fr.DataclassBase):
            title: Mapped[str]

        post = BlogPost(title="Hello")    # id, created_at, updated_at are init=False
    """
