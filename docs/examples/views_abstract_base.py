from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header
from sqlalchemy import Select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str]
    amount: Mapped[int]


class Receipt(Base):
    __tablename__ = "receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str]
    text: Mapped[str]


def current_user(x_user: Annotated[str, Header()]) -> str:
    return x_user


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


# --8<-- [start:owned-views]
class OwnedView(fr.AsyncRestView):
    # No model and no prefix of its own: an abstract base, neither checked nor registered.
    user: Annotated[str, Depends(current_user)]

    def build_list_query(self) -> Select[Any]:
        return super().build_list_query().where(self.model.owner == self.user)

    async def make_new_object(self, schema_obj: Any) -> Any:
        obj = await super().make_new_object(schema_obj)
        obj.owner = self.user
        return obj


@fr.include_view(app)
class InvoiceView(OwnedView):
    prefix = "/invoices"
    model = Invoice
    schema = fr.create_schema_from_model(Invoice, read_only=["owner"])


@fr.include_view(app)
class ReceiptView(OwnedView):
    prefix = "/receipts"
    model = Receipt
    schema = fr.create_schema_from_model(Receipt, read_only=["owner"])
# --8<-- [end:owned-views]
