from fastapi import FastAPI
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class LogLine(Base):
    __tablename__ = "log_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(String(500))


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


@fr.include_view(app)
class LogView(fr.AsyncRestView):
    prefix = "/logs"
    model = LogLine
    include_pagination_metadata = True
    default_page_size = 50
    # Exact totals up to 10,000 rows, PostgreSQL's estimate above (exact elsewhere).
    count = "estimated"
    count_threshold = 10_000
