import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr

fr.configure(
    async_database_url=os.environ["APP_DATABASE_URL"],  # the primary
    read_replica_urls=os.environ["APP_REPLICA_URLS"].split(","),  # one or more replicas
)


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "replicas_article"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))


class ArticleSchema(fr.IDSchema):
    title: str


class ArticleView(fr.AsyncRestView):  # GET /articles and GET /articles/{id}: a replica
    prefix = "/articles"
    model = Article
    schema = ArticleSchema


class EditorView(fr.View):
    prefix = "/editor"
    session: fr.AsyncSessionDep

    @fr.get("/count")
    async def count(self) -> dict[str, Any]:
        # An editor must see what was just saved: read this GET from the primary.
        fr.db.use_primary(self.session)
        total = await self.session.scalar(select(func.count()).select_from(Article))
        return {"articles": total}


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    await fr.get_fr_globals().dispose()  # the primary's and the replicas' pools


app = FastAPI(lifespan=lifespan)
fr.include_view(app, ArticleView, EditorView)
