from datetime import datetime, timezone
from typing import Optional

from fastapi import FastAPI
from sqlalchemy import ColumnElement, ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

import restly as fr


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    deleted_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    attachments: Mapped[list["Attachment"]] = relationship(order_by="Attachment.id")


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"))
    deleted_at: Mapped[Optional[datetime]] = mapped_column(default=None)


# --8<-- [start:scopes]
@fr.scope(Document)
def live_documents() -> ColumnElement[bool]:  # no dependencies: the same for everyone
    return Document.deleted_at.is_(None)


@fr.scope(Attachment)
def live_attachments() -> ColumnElement[bool]:
    return Attachment.deleted_at.is_(None)
# --8<-- [end:scopes]


class AttachmentSchema(fr.IDSchema):
    name: str
    document_id: fr.IDRef[Document]


class DocumentSchema(fr.IDSchema):
    title: str
    attachments: fr.ReadOnly[list[AttachmentSchema]] = []


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


# --8<-- [start:views]
class SoftDeleteView(fr.AsyncRestView):
    """DELETE marks the row; the scopes make it vanish from every route."""

    async def delete_object(self, obj: Document | Attachment) -> None:
        obj.deleted_at = datetime.now(timezone.utc)
        await self.session.flush()


@fr.include_view(app)
class DocumentView(SoftDeleteView):
    prefix = "/documents"
    model = Document
    schema = DocumentSchema


@fr.include_view(app)
class AttachmentView(SoftDeleteView):
    prefix = "/attachments"
    model = Attachment
    schema = AttachmentSchema
# --8<-- [end:views]
