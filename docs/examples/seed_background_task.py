from fastapi import BackgroundTasks, FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"

    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


class Report(Base):
    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    world_count: Mapped[int]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


async def write_report() -> None:
    # Runs after the response is sent, outside any request session.
    async with fr.async_session() as session:
        result = await session.execute(select(func.count()).select_from(World))
        session.add(Report(world_count=result.scalar_one()))
    # Leaving the block committed the report.


@fr.include_view(app)
class ReportView(fr.View):
    prefix = "/reports"

    @fr.post("", status_code=202)
    async def request_report(self, background_tasks: BackgroundTasks) -> dict[str, str]:
        background_tasks.add_task(write_report)
        return {"status": "scheduled"}
