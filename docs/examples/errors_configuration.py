from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "article"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]


class ArticleView(fr.AsyncRestView):
    prefix = "articles"
    model = Article
    exclude_routes = ("destroy",)
