"""Step `compile_conditional`: whether a view answers ETags, and how it computes them.

```python
class BookView(fr.AsyncRestView):
    prefix = "/books"
    model = Book               # __mapper_args__ = {"version_id_col": version}: tags on
    require_if_match = True    # writes without If-Match answer 428
```

A view has tags (`Conditional` in `CompiledView.conditional`) when `etag = True`, or when
`etag` is left `None` and the model has a version counter (SQLAlchemy's `version_id_col`).
With a version counter the tag is the row's version (`"7"`): nothing is serialised to
compute it, and every projection of the row shares it. Without one (`etag = True` on a plain
model) the tag is a digest of the object's JSON answer. `etag = False` turns tags off even
with a version counter. A view without tags has `conditional = None`, and its requests do
not look at precondition headers at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from .._introspect import mapper_of

__all__ = ["Conditional", "check_conditional", "compile_conditional"]


@dataclass(frozen=True, slots=True)
class Conditional:
    """How a view with ETags tags its objects (see the module docstring)."""

    #: Attribute of the version counter, or `None`: the tag digests the JSON answer.
    version_key: str | None
    #: `PATCH`/`PUT`/`DELETE` without `If-Match` answer 428.
    require_if_match: bool
    #: `GET` by id reading the response's columns and the version (`None`: objects are read).
    get_rows: Select[Any] | None
    #: Where the version is in a row of `get_rows`.
    version_index: int


def tags_on(cls: Any) -> bool:
    """Whether view `cls` answers ETags (its options checked)."""
    etag = getattr(cls, "etag", None)
    if etag is None:
        mapper = mapper_of(getattr(cls, "model", None))
        return mapper is not None and mapper.version_id_col is not None
    return bool(etag)


def check_conditional(cls: Any) -> list[str]:
    """`etag` is `None`/`True`/`False`; `require_if_match` is a bool and needs tags."""
    owner, problems = cls.__name__, []
    etag = getattr(cls, "etag", None)
    if etag is not None and not isinstance(etag, bool):
        problems.append(
            f"{owner}.etag must be True, False or None; got {etag!r}. Use etag = True to "
            "answer ETags (None, the default, answers them when the model has a version "
            "counter)."
        )
    required = getattr(cls, "require_if_match", False)
    if not isinstance(required, bool):
        problems.append(
            f"{owner}.require_if_match must be True or False; got {required!r}. Use "
            "require_if_match = True to refuse writes without If-Match (428)."
        )
    elif required and not problems and not tags_on(cls):
        problems.append(
            f"{owner}.require_if_match = True needs ETags, which this view does not answer "
            f"(etag = {etag!r} and the model has no version counter). Set etag = True, or "
            'map a version column: __mapper_args__ = {"version_id_col": version}.'
        )
    return problems


def compile_conditional(
    cls: Any, mapper: Any, row_columns: tuple[Any, ...] | None, by_id: Any
) -> Conditional | None:
    """The `Conditional` of view `cls`, or `None` when it answers no ETags.

    `row_columns` are the response's columns when `GET` may read rows (restly's own query
    and seams, a flat response), else `None`."""
    if not tags_on(cls):
        return None
    version_key = None
    if mapper.version_id_col is not None:
        version_key = mapper.get_property_by_column(mapper.version_id_col).key
    get_rows, index = None, 0
    if row_columns:
        columns = list(row_columns)
        keys = [column.key for column in columns]
        if version_key is not None and version_key not in keys:
            columns.append(getattr(cls.model, version_key))
            keys.append(version_key)
        index = keys.index(version_key) if version_key is not None else 0
        get_rows = select(*columns).where(by_id)
    return Conditional(
        version_key=version_key,
        require_if_match=bool(getattr(cls, "require_if_match", False)),
        get_rows=get_rows,
        version_index=index,
    )
