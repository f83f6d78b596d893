# --8<-- [start:models]
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

import restly as fr


class Article(fr.TimestampsMixin, fr.IDBase):  # table "article"
    title: Mapped[str] = mapped_column(String(200))


class ArticleSchema(fr.TimestampsSchemaMixin, fr.IDSchema):
    title: str


class Tag(fr.IDMixin, fr.DataclassBase):  # table "tag"; Tag(name="news")
    name: Mapped[str] = mapped_column(String(50), unique=True)
# --8<-- [end:models]


# --8<-- [start:app]
fr.configure(async_database_url="sqlite+aiosqlite:///app.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(fr.IDBase)
    await fr.db.async_create_all(fr.DataclassBase)
    yield


app = FastAPI(lifespan=lifespan)


@fr.include_view(app)
class ArticleView(fr.AsyncRestView):
    prefix = "/articles"
    model = Article
    schema = ArticleSchema


@fr.include_view(app)
class TagView(fr.AsyncRestView):
    prefix = "/tags"
    model = Tag

    @fr.put("/by-name/{name}")
    async def ensure(self, name: str) -> dict[str, Any]:
        tag, created = await fr.async_get_one_or_create(self.session, Tag, name=name)
        return {"id": tag.id, "name": tag.name, "created": created}
# --8<-- [end:app]
