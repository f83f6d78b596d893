from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr
from restly.exc import Forbidden

fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base)
    yield


app = FastAPI(lifespan=lifespan)
sent_mail: list[str] = []  # stands in for a mail server


class Base(DeclarativeBase):
    pass


# --8<-- [start:models]
class Article(Base):
    __tablename__ = "article"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(50))
    published: Mapped[bool] = mapped_column(default=False)


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    article_id: Mapped[int]
    by: Mapped[str] = mapped_column(String(50))
    change: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(timezone.utc))
# --8<-- [end:models]


def current_user(x_user: str = Header()) -> str:
    return x_user  # in a real app: decode the token


# --8<-- [start:view]
@fr.include_view(app)
class ArticleView(fr.AsyncRestView):
    prefix = "/articles"
    model = Article
    user: Annotated[str, Depends(current_user)]

    async def authorize(self, action: str, obj: Any = None, data: Any = None) -> None:
        # Anyone may read; only the author may change an article, or publish it.
        if obj is not None and action != fr.Action.GET_ONE and obj.author != self.user:
            raise Forbidden(f"only {obj.author} may {action} this article")
        author = getattr(data, "author", None)  # PATCH bodies may leave it out
        if author is not None and author != self.user:
            raise Forbidden("write articles under your own name")

    async def before_action_commit(self, action: str, new: Any, old: Any = None) -> None:
        # Inside the transaction: the audit row is committed with the change, or not at all.
        changed = {key: value for key, value in self.snapshot(new).items() if old and old[key] != value}
        self.session.add(
            AuditEntry(action=action, article_id=new.id, by=self.user, change=repr(changed))
        )

    async def after_action_commit(self, action: str, new: Any, old: Any = None) -> None:
        # After the commit: the change is durable. A failure here is logged, not answered.
        if action == "publish":
            sent_mail.append(f"{new.title!r} is out")

    @fr.post("/{id}/publish")
    async def publish(self, id: int) -> dict[str, Any]:
        article = await self.handle_get(id)
        async with self.write_action("publish", obj=article):
            article.published = True
        return {"id": article.id, "published": article.published}
# --8<-- [end:view]
