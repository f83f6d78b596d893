from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header
from sqlalchemy import Select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str]
    text: Mapped[str]
    archived: Mapped[bool] = mapped_column(default=False)


class NoteSchema(fr.IDSchema):
    text: str


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


def tenant_of(x_tenant: Annotated[str, Header()]) -> str:
    return x_tenant


@fr.include_view(app)
class NoteView(fr.AsyncRestView):
    prefix = "/notes"
    model = Note
    schema = NoteSchema

    tenant: Annotated[str, Depends(tenant_of)]

    def build_list_query(self) -> Select[Any]:
        # Every route starts here: list, count, get, update and delete by id.
        query = super().build_list_query()
        return query.where(Note.tenant == self.tenant, Note.archived.is_(False))

    async def make_new_object(self, schema_obj: Any) -> Any:
        note = await super().make_new_object(schema_obj)
        note.tenant = self.tenant
        return note

    async def delete_object(self, obj: Any) -> None:
        obj.archived = True  # archive instead of deleting the row
        await self.save_object(obj)
