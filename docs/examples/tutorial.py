# --8<-- [start:models]
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI
from pydantic import Field
from sqlalchemy import ForeignKey, Select, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Task(Base):
    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    done: Mapped[bool] = mapped_column(default=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
# --8<-- [end:models]


# --8<-- [start:app]
fr.configure(async_database_url="sqlite+aiosqlite:///tasks.db")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await fr.db.async_create_all(Base)
    yield


app = FastAPI(title="Tasks", lifespan=lifespan)
# --8<-- [end:app]


# --8<-- [start:project-view]
@fr.include_view(app)
class ProjectView(fr.AsyncRestView):
    prefix = "/projects"
    tags = ["projects"]
    model = Project
# --8<-- [end:project-view]


# --8<-- [start:task-schema]
class TaskSchema(fr.IDSchema):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    done: fr.ReadOnly[bool] = False
    project_id: int
# --8<-- [end:task-schema]


# --8<-- [start:task-view]
@fr.include_view(app)
class TaskView(fr.AsyncRestView):
    prefix = "/tasks"
    tags = ["tasks"]
    model = Task
    schema = TaskSchema

    @fr.post("/{id}/done", status_code=200, response_model=TaskSchema)
    async def mark_done(self, id: int) -> Any:
        task = await self.handle_get(id)
        task.done = True
        return await self.save_object(task)
# --8<-- [end:task-view]


# --8<-- [start:open-tasks]
@fr.include_view(app)
class OpenTaskView(TaskView):
    prefix = "/open-tasks"
    exclude_routes = ("post", "delete")

    def build_list_query(self) -> Select[Any]:
        return super().build_list_query().where(Task.done.is_(False))
# --8<-- [end:open-tasks]
