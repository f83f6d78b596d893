"""``restly.db.scope_session``: a session whose every ORM statement sees only the rows its
criteria admit, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import String, delete, func, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from restly.db import ScopeRegistry, Scope, build_engine, scope_session, session_scopes
from restly.db import WRITTEN


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "dbs_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def session(db_urls: Any) -> Iterator[Session]:
    engine = build_engine(db_urls.sync_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as opened:
        opened.add_all([Item(id=1, owner="ann"), Item(id=2, owner="bob"), Item(id=3, owner="ann")])
        opened.commit()
    try:
        with Session(engine) as scoped:
            yield scoped
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


def test_reads_see_only_admitted_rows(session: Session) -> None:
    assert session_scopes(session) == ()
    scope_session(session, {Item: Item.owner == "ann"})
    assert session_scopes(session) == (Item,)
    assert session.scalars(select(Item.id).order_by(Item.id)).all() == [1, 3]
    assert session.scalar(select(func.count()).select_from(Item)) == 2
    assert session.get(Item, 2) is None and session.get(Item, 3) is not None
    # Core statements are not ORM statements: not scoped
    assert session.execute(text("SELECT count(*) FROM dbs_item")).scalar() == 3


def test_criteria_are_replaced_not_stacked(session: Session) -> None:
    scope_session(session, {Item: Item.owner == "ann"})
    scope_session(session, {Item: Item.owner == "bob"})
    assert session.scalars(select(Item.id)).all() == [2]
    scope_session(session, {})
    assert len(session.scalars(select(Item.id)).all()) == 3


def test_orm_bulk_writes_touch_only_admitted_rows(session: Session) -> None:
    scope_session(session, {Item: Item.owner == "ann"})
    options = {"synchronize_session": False}
    session.execute(delete(Item).where(Item.id >= 2), execution_options=options)  # not bob's 2
    session.execute(update(Item).values(owner="carl"), execution_options=options)
    session.commit()
    scope_session(session, {})
    rows = session.execute(select(Item.id, Item.owner).order_by(Item.id)).all()
    assert [tuple(row) for row in rows] == [(1, "carl"), (2, "bob")]


def test_an_object_moved_out_of_the_scope_still_refreshes(session: Session) -> None:
    scope_session(session, {Item: Item.owner == "ann"})
    item = session.get(Item, 1)
    assert item is not None
    item.owner = "bob"
    session.flush()
    session.refresh(item)  # a column load of an object already read: not filtered
    assert item.owner == "bob"
    assert session.get(Item, 1, populate_existing=True) is None  # a new read is
    again = session.get(Item, 1, populate_existing=True, execution_options={WRITTEN: Item})
    assert again is item  # read back as written (what save_object does)


def test_the_registry_lists_scopes_in_declaration_order() -> None:
    registry = ScopeRegistry()
    assert not registry and len(registry) == 0

    def first() -> Any:
        return None

    registry.add(Scope(Item, first, first))
    registry.add(Scope(Item, len, len))
    assert [s.function for s in registry] == [first, len]
    assert registry.models() == {Item}
    assert repr(registry).startswith("ScopeRegistry([Item: test_the_registry_lists")
    registry.clear()
    assert list(registry) == []
