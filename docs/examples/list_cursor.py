import os
from datetime import datetime
from typing import Optional

from fastapi import FastAPI
from sqlalchemy import Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    room: Mapped[Optional[str]] = mapped_column(String(20))
    # The index a listing by starts_at needs: the sort key, then the tiebreaker.
    __table_args__ = (Index("ix_event_starts_at_id", "starts_at", "id"),)


fr.configure(
    async_database_url="sqlite+aiosqlite:///app.db",
    # The same secret in every worker process (None: a fixed key, see below).
    cursor_key=os.environ.get("RESTLY_CURSOR_KEY"),
)
app = FastAPI()


@fr.include_view(app)
class EventView(fr.AsyncRestView):
    prefix = "/events"
    model = Event
    include_pagination_metadata = True
    default_page_size = 20
