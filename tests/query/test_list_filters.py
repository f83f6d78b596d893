"""Filters over HTTP: every operator, combinations, relation paths and aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr
from restly.query import apply_list_params, create_list_params_schema

from query_bookshop import ByCollation, add_rows

pytestmark = pytest.mark.anyio

GetIds = Callable[..., Any]


async def test_no_filters_lists_everything_in_primary_key_order(get_ids: GetIds) -> None:
    assert await get_ids() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?pages=300", [2, 4, 6]),
        ("?pages=50,1225", [1, 5]),
        ("?pages=50&pages=1225", [1, 5]),
        ("?id=1,2,3", [1, 2, 3]),
        ("?id=99", []),
        ("?bookTitle=Peacemaker", [5]),
        ("?in_print=true", [1, 3, 4, 6]),
        ("?in_print=0", [2, 5]),
        ("?genre=poetry", [4, 5]),
        ("?genre=novel,essay", [1, 2, 3, 6]),
        ("?rating=4.5", [1, 4]),
        ("?price=7.00", [3]),
        ("?code=00000000-0000-0000-0000-000000000001", [1]),
        ("?published_at=2015-07-01T08:30:00Z", [5, 6]),
        ("?status=draft", [2]),
        ("?status__ne=draft", [1, 3, 4, 5, 6]),
    ],
)
async def test_equality_and_in(get_ids: GetIds, query: str, expected: list[int]) -> None:
    assert await get_ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?pages__ne=300", [1, 3, 5]),  # NULL pages (book 3) is "not 300" too
        ("?pages__ne=300,50", [1, 3]),
        ("?genre__ne=novel,poetry", [2, 6]),
        ("?bookTitle__ne=Peacemaker", [1, 2, 3, 4, 6]),
    ],
)
async def test_not_equal_is_not_in_and_keeps_nulls(
    get_ids: GetIds, query: str, expected: list[int]
) -> None:
    assert await get_ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?pages__gt=300", [1]),
        ("?pages__gte=300", [1, 2, 4, 6]),
        ("?pages__lt=300", [5]),
        ("?pages__lte=300", [2, 4, 5, 6]),
        ("?pages__gte=50&pages__lt=1225", [2, 4, 5, 6]),
        ("?rating__gte=3", [1, 3, 4]),
        ("?price__lt=10", [3, 5]),
        ("?bookTitle__gte=the", ByCollation([3], [1, 3])),
        ("?published_at__gte=2015-07-01T08:30:00Z", [3, 5, 6]),
        # The same instant written in another offset selects the same rows.
        ("?published_at__gte=2015-07-01T10:30:00%2B02:00", [3, 5, 6]),
        ("?published_at__lt=2010-03-01T12:00:00", [1]),  # naive means UTC
        ("?published_at__gt=2015-07-01", [3, 5, 6]),
    ],
)
async def test_range_operators(
    get_ids: GetIds, db_urls: Any, query: str, expected: list[int] | ByCollation
) -> None:
    if isinstance(expected, ByCollation):
        expected = expected.on(db_urls.name)
    assert await get_ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?pages__isnull=true", [3]),
        ("?pages__isnull=false", [1, 2, 4, 5, 6]),
        ("?published_at__isnull=1", [2]),
        ("?author.id__isnull=true", [3]),
        ("?author.born__isnull=true", [2, 3, 6]),  # Bob has no birth date; book 3 no author
        ("?author.born__isnull=false", [1, 4, 5]),
    ],
)
async def test_isnull(get_ids: GetIds, query: str, expected: list[int]) -> None:
    assert await get_ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?bookTitle__contains=peace", [1, 2, 5]),
        ("?bookTitle__contains=WAR", [1, 3]),
        ("?bookTitle__contains=war peace", [1]),  # every word, in any order
        ("?bookTitle__contains=peace%20%20war", [1]),
        ("?bookTitle__contains=_", [2]),  # LIKE wildcards match only themselves
        ("?bookTitle__contains=%25", [2]),
        ("?bookTitle__contains=ace_", [2]),  # unescaped, "_" would match Peacemaker too
        ("?bookTitle__contains=\\path", [4]),
        ("?bookTitle__contains=:\\", [4]),
        ("?bookTitle__contains='reilly", [6]),
        ('?bookTitle__contains="quoted"', [6]),
        ("?bookTitle__contains=", [1, 2, 3, 4, 5, 6]),
        ("?author.name__contains=an", [1, 4]),
    ],
)
async def test_contains(get_ids: GetIds, query: str, expected: list[int]) -> None:
    assert await get_ids(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?author.name=Ann", [1, 4]),
        ("?author.name=Ann,Cy", [1, 4, 5]),
        ("?author.name__ne=Ann", [2, 3, 5, 6]),  # a book with no author is not by Ann
        ("?author.born__gte=1960-01-01", [5]),
        ("?author.id=2", [2, 6]),
        ("?author.publisher.name=Vintage", [2, 6]),
        ("?author.publisher.name__contains=peng", [1, 4]),
        ("?author.publisher.id__isnull=true", [3, 5]),
        ("?tags.label=classic", [1, 4]),  # to-many: any related row matches
        ("?tags.label__ne=classic", [2, 3, 5, 6]),
        ("?tags.label=classic,modern", [1, 3, 4]),
        ("?tags.label__contains=russ", [1]),
    ],
)
async def test_relation_paths(get_ids: GetIds, query: str, expected: list[int]) -> None:
    assert await get_ids(query) == expected


async def test_to_many_filter_does_not_repeat_rows_or_inflate_the_count(client: Any) -> None:
    # Book 1 has two tags that both match; a join would list it twice and count 2.
    response = await client.get("/books?tags.label=classic,russian")
    assert response.json()["ids"] == [1, 4]
    assert response.json()["total"] == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?in_print=true&genre=novel", [1, 3]),
        ("?in_print=true&pages__gte=300&author.name=Ann", [1, 4]),
        ("?bookTitle__contains=peace&pages__lt=1000&rating__isnull=false", [5]),
        ("?genre__ne=essay&tags.label=classic&price__gte=15", [4]),
    ],
)
async def test_filters_combine_with_and(get_ids: GetIds, query: str, expected: list[int]) -> None:
    assert await get_ids(query) == expected


async def test_count_follows_filters_not_pages(client: Any) -> None:
    body = (await client.get("/books?pages__gte=300&page_size=2&page=2")).json()
    assert body["ids"] == [4, 6]
    assert body["total"] == 4


async def test_field_alias_is_the_key_and_python_name_is_not(client: Any) -> None:
    assert (await client.get("/books?bookTitle=Peacemaker")).json()["ids"] == [5]
    response = await client.get("/books?title=Peacemaker")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "title"]


class StaffBase(DeclarativeBase):
    pass


class Employee(StaffBase):
    __tablename__ = "query_employee"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(50))
    manager_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("query_employee.id"))
    manager: Mapped[Optional[Employee]] = relationship(remote_side=[id])


class ManagerSchema(fr.IDSchema):
    name: str


class EmployeeSchema(fr.IDSchema):
    name: str
    manager: Optional[ManagerSchema] = None


EmployeeParams = create_list_params_schema(EmployeeSchema, model=Employee)


async def test_self_referential_relation(db_urls: Any) -> None:
    engine = create_async_engine(db_urls.async_url)
    async with engine.begin() as connection:
        await connection.run_sync(StaffBase.metadata.create_all)
    try:
        await add_rows(engine, [Employee(id=1, name="Ada")])
        await add_rows(
            engine, [Employee(id=2, name="Bo", manager_id=1), Employee(id=3, name="Cy", manager_id=1)]
        )
        await add_rows(engine, [Employee(id=4, name="Di", manager_id=2)])

        async def ids(**query: str) -> list[int]:
            params = EmployeeParams.model_validate(query)
            statement = apply_list_params(params, sa.select(Employee), Employee)
            async with AsyncSession(engine) as session:
                return list((await session.scalars(statement)).all())

        assert [e.id for e in await ids(**{"manager.name": "Ada"})] == [2, 3]
        assert [e.id for e in await ids(**{"manager.name__ne": "Ada"})] == [1, 4]
        managed = await ids(**{"manager.id__isnull": "false", "order_by": "-manager.name"})
        # Bo manages 4, Ada manages 2 and 3: the tie is broken by id, descending like the key.
        assert [e.id for e in managed] == [4, 3, 2]
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(StaffBase.metadata.drop_all)
        await engine.dispose()
