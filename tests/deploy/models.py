"""The tables of the deployment tests: notes (an async view), memos (a sync view), tags (the
sample rows every worker seeds at start-up) and batches of lines (one write of many rows)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

TAGS = ("red", "green", "blue")


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "deploy_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    rank: Mapped[int] = mapped_column(default=0)


class Memo(Base):
    __tablename__ = "deploy_memo"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    rank: Mapped[int] = mapped_column(default=0)


class Tag(Base):
    __tablename__ = "deploy_tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


class Batch(Base):
    __tablename__ = "deploy_batch"
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int]


class Line(Base):
    __tablename__ = "deploy_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("deploy_batch.id"))
    number: Mapped[int]


async def seed_tags(session: AsyncSession) -> None:
    """The sample rows: written once, into an empty table (a second writer would break the
    unique names, so two workers seeding at once fail one of them)."""
    if not await session.scalar(select(func.count()).select_from(Tag)):
        session.add_all(Tag(name=name) for name in TAGS)


def seed_tags_sync(session: Session) -> None:
    if not session.scalar(select(func.count()).select_from(Tag)):
        session.add_all(Tag(name=name) for name in TAGS)
