from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Tag(Base):
    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


app = FastAPI()

# Engines and sessionmakers you build are used exactly as given.
engine = create_async_engine("sqlite+aiosqlite:///app.db", pool_size=10)
fr.configure(
    app=app,  # installs the 409 handler now instead of at the first mount
    async_engine=engine,
    async_make_session=async_sessionmaker(engine, expire_on_commit=False),
)


@fr.include_view(app)
class TagView(fr.AsyncRestView):
    prefix = "/tags"
    model = Tag
