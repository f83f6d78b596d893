"""List parameters (interim: equality, order_by, page, page_size; replaced by the full engine)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import Select

__all__ = ["apply_list_params", "create_list_params_schema", "list_params_page"]


def create_list_params_schema(
    schema: type[BaseModel],
    *,
    model: type | None = None,
    default_page_size: int | None = None,
    max_page_size: int = 1000,
    extra_query_params: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> type[BaseModel]:
    fields: dict[str, Any] = {
        "page": (Optional[int], Field(default=None, ge=1)),
        "page_size": (Optional[int], Field(default=None, ge=1, le=max_page_size)),
        "order_by": (Optional[str], None),
    }
    for field_name, field in schema.model_fields.items():
        if field.annotation in (int, str, bool, float):
            fields[field_name] = (Optional[field.annotation], None)
    params = create_model(
        name or f"{schema.__name__}ListParams", __config__=ConfigDict(extra="forbid"), **fields
    )
    params.__restly_limits__ = (default_page_size, max_page_size)
    return params


def list_params_page(params: BaseModel) -> tuple[int | None, int | None]:
    default, _ = type(params).__restly_limits__
    size = params.page_size or (default if params.page else None)
    return (params.page or 1 if size else None), size


def apply_list_params(
    params: BaseModel,
    query: Select[Any],
    model: type,
    schema: type[BaseModel] | None = None,
    *,
    filters: bool = True,
    order: bool = True,
    paginate: bool = True,
) -> Select[Any]:
    _, maximum = type(params).__restly_limits__
    if filters:
        for key in params.model_fields_set - {"page", "page_size", "order_by"}:
            query = query.where(getattr(model, key) == getattr(params, key))
    if order:
        keys = [k for k in (params.order_by or "").split(",") if k]
        for key in keys:
            column = getattr(model, key.lstrip("-"))
            query = query.order_by(column.desc() if key.startswith("-") else column)
        pk = model.__mapper__.primary_key[0]
        query = query.order_by(pk)
    if paginate:
        page, size = list_params_page(params)
        if size:
            query = query.limit(size).offset((page - 1) * size)
        else:
            query = query.limit(maximum)
    return query
