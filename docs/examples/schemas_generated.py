from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "article"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str | None]
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


ArticleSchema = fr.create_schema_from_model(Article)

fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


@fr.include_view(app)
class ArticleView(fr.AsyncRestView):
    prefix = "/articles"
    model = Article  # no schema: the same one is generated from Article
