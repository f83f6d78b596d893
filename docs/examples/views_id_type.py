import uuid

from fastapi import FastAPI
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Device(Base):
    __tablename__ = "device"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    label: Mapped[str]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


@fr.include_view(app)
class DeviceView(fr.AsyncRestView):
    prefix = "/devices"
    model = Device
    id_type = uuid.UUID  # the default already: the primary key's type
    exclude_routes = ("delete",)
