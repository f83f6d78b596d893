"""Hand-written CRUD routes for one model, the way a competent FastAPI user writes them.

Async SQLAlchemy ORM, a session dependency with ``yield`` that commits before the response is
sent (``scope="function"``: FastAPI's default scope would send a 201 before the COMMIT, and a
COMMIT that then failed would lose a row the client was told exists), Pydantic
``response_model`` everywhere, and a Pydantic query-parameter model for the list::

    class BookListParams(ListParams):
        status: str | None = None          # equality filters: the extra fields

    router = crud_router(Book, BookRead, BookCreate, BookUpdate, BookListParams, get_session)
    app.include_router(router, prefix="/books")

No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations,
which name classes local to ``crud_router``.
"""

import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any, Generic, Optional, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

__all__ = ["ListParams", "Page", "crud_router", "session_dependency"]

MAX_PAGE_SIZE = 1000
ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """The list envelope: one page of items plus the pagination metadata."""

    items: list[ItemT]
    total: int
    page: int
    page_size: int
    total_pages: int


class ListParams(BaseModel):
    """Query parameters of a list route; subclasses add one optional field per filter."""

    model_config = ConfigDict(extra="forbid")

    order_by: str = "id"
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    #: Comma-separated relations to answer as objects (see ``crud_router``'s ``expandable``).
    expand: str | None = None


def session_dependency(
    maker: async_sessionmaker[AsyncSession],
) -> Callable[[], AsyncIterator[AsyncSession]]:
    """A request-scoped session: commits when the endpoint returns, rolls back on error."""

    async def get_session() -> AsyncIterator[AsyncSession]:
        async with maker() as session, session.begin():
            yield session

    return get_session


def crud_router(
    model: type[Any],
    read: type[BaseModel],
    create: type[BaseModel],
    update: type[BaseModel],
    list_params: type[ListParams],
    get_session: Callable[[], AsyncIterator[AsyncSession]],
    expandable: Mapping[str, type[BaseModel]] | None = None,
) -> APIRouter:
    """Five routes for ``model``: list, get, create, patch, delete.

    ``expandable``: relation name -> its read schema; ``?expand=author`` loads it with one
    ``selectinload`` and answers it nested (the page is then dumped by hand: the route's
    ``response_model`` does not show relations)."""
    expandable = dict(expandable or {})
    expanded_pages: dict[frozenset[str], Any] = {}

    def expanded_page(names: list[str]) -> Any:
        """The envelope of items showing the relations ``names`` (built once per set)."""
        key = frozenset(names)
        if key not in expanded_pages:
            fields: Any = {name: (Optional[expandable[name]], None) for name in key}
            item = create_model(f"{read.__name__}Expanded", __base__=read, **fields)
            expanded_pages[key] = Page[item]  # type: ignore[valid-type]
        return expanded_pages[key]
    # scope="function": the session commits and closes before the response is sent, as
    # restly's do (benchmarks/tests/test_contenders.py checks it for every contender).
    SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
    ListQuery = Annotated[list_params, Query()]
    filter_names = tuple(set(list_params.model_fields) - set(ListParams.model_fields))
    sortable = frozenset(read.model_fields)
    router = APIRouter()

    async def get_or_404(session: AsyncSession, item_id: int) -> Any:
        obj = await session.get(model, item_id)
        if obj is None:
            raise HTTPException(status_code=404, detail="Not Found")
        return obj

    @router.get("", response_model=Page[read])
    async def list_items(session: SessionDep, params: ListQuery) -> Any:
        field = params.order_by.removeprefix("-")
        if field not in sortable:
            raise HTTPException(status_code=422, detail=f"Cannot order by {field!r}")
        column = getattr(model, field)
        expand = params.expand.split(",") if params.expand else []
        unknown = [name for name in expand if name not in expandable]
        if unknown:
            raise HTTPException(status_code=422, detail=f"Cannot expand {unknown!r}")
        filters = params.model_dump(include=set(filter_names), exclude_none=True)
        conditions = [getattr(model, name) == value for name, value in filters.items()]
        total = await session.scalar(select(func.count()).select_from(model).where(*conditions))
        rows = await session.scalars(
            select(model)
            .where(*conditions)
            .order_by(column.desc() if params.order_by.startswith("-") else column)
            .offset((params.page - 1) * params.page_size)
            .limit(params.page_size)
            .options(*(selectinload(getattr(model, name)) for name in expand))
        )
        page = {
            "items": rows.all(),
            "total": total,
            "page": params.page,
            "page_size": params.page_size,
            "total_pages": math.ceil(total / params.page_size),
        }
        if expand:
            body = expanded_page(expand).model_validate(page, from_attributes=True)
            return Response(body.model_dump_json(), media_type="application/json")
        return page

    @router.get("/{item_id}", response_model=read)
    async def get_item(item_id: int, session: SessionDep) -> Any:
        return await get_or_404(session, item_id)

    @router.post("", response_model=read, status_code=201)
    async def create_item(body: create, session: SessionDep) -> Any:
        obj = model(**body.model_dump())
        session.add(obj)
        # Assigns the id. No refresh: these models have no server-side defaults, so there
        # is nothing to read back (restly's save_object skips it then, too).
        await session.flush()
        return obj

    @router.patch("/{item_id}", response_model=read)
    async def update_item(item_id: int, body: update, session: SessionDep) -> Any:
        obj = await get_or_404(session, item_id)
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(obj, name, value)
        await session.flush()
        return obj

    @router.delete("/{item_id}", status_code=204)
    async def delete_item(item_id: int, session: SessionDep) -> None:
        await session.delete(await get_or_404(session, item_id))

    return router

