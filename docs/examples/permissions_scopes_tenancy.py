from typing import Annotated, Any, Callable, Optional

from fastapi import Depends, FastAPI, Header, HTTPException
from sqlalchemy import ColumnElement, ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


# --8<-- [start:models]
class TenantOwned:
    """Mixin: the rows of a tenant."""

    tenant_id: Mapped[int] = mapped_column(index=True)


class Project(TenantOwned, Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


class Task(TenantOwned, Base):
    __tablename__ = "task"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    project: Mapped[Optional[Project]] = relationship()
# --8<-- [end:models]


# --8<-- [start:scopes]
TOKENS = {"token-acme": 1, "token-globex": 2}  # your authentication goes here


async def current_tenant(authorization: Annotated[str, Header()]) -> int:
    tenant = TOKENS.get(authorization.removeprefix("Bearer "))
    if tenant is None:
        raise HTTPException(401, "Unknown token")
    return tenant


CurrentTenant = Annotated[int, Depends(current_tenant)]


def tenant_scope(model: type[TenantOwned]) -> Callable[..., ColumnElement[bool]]:
    def rows_of_the_tenant(tenant: CurrentTenant) -> ColumnElement[bool]:
        return model.tenant_id == tenant

    return rows_of_the_tenant


for model in (Project, Task):  # every tenant-owned model, before any view
    fr.scope(model)(tenant_scope(model))
# --8<-- [end:scopes]


class ProjectSchema(fr.IDSchema):  # no tenant_id: clients neither see nor set it
    name: str


class TaskSchema(fr.IDSchema):
    title: str
    project_id: fr.IDRef[Project]
    project: fr.ReadOnly[ProjectSchema | None] = None


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


# --8<-- [start:views]
class TenantView(fr.AsyncRestView):
    """New rows belong to the caller's tenant; the scopes do the reading."""

    tenant: CurrentTenant

    async def make_new_object(self, schema_obj: Any) -> Any:
        obj = await super().make_new_object(schema_obj)
        obj.tenant_id = self.tenant
        return obj


@fr.include_view(app)
class ProjectView(TenantView):
    prefix = "/projects"
    model = Project
    schema = ProjectSchema


@fr.include_view(app)
class TaskView(TenantView):
    prefix = "/tasks"
    model = Task
    schema = TaskSchema
# --8<-- [end:views]
