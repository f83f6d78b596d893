"""Base classes for restly schemas.

`BaseSchema` is a Pydantic v2 model that reads ORM objects (`from_attributes=True`) and
accepts both field names and aliases on input. `IDSchema` adds a read-only `id`:

```python
class WorldSchema(fr.IDSchema):
    message: str
```

`IDSchema[Model]` is a reference to one `Model` row in nested form, `{"id": 5}` (see
`restly.schemas._refs`):

```python
class BookSchema(fr.IDSchema):
    author: fr.IDSchema[Author]
```
"""

from __future__ import annotations

from typing import Any

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
    """A schema with a read-only integer `id`: the usual base for resource schemas.

    `IDSchema[Model]` is the nested reference form: `{"id": <Model's primary key>}`,
    required and writable, resolved to the `Model` row on write.
    """

    id: ReadOnly[int]

    def __class_getitem__(cls, model: Any) -> Any:
        if cls is not IDSchema:
            return super().__class_getitem__(model)
        from ._refs import id_schema_for

        return id_schema_for(model)
