import hashlib
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class UserSchema(fr.IDSchema):
    email: str
    password: fr.WriteOnly[str]
    created_at: fr.ReadOnly[datetime]


def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()  # use a real KDF in production


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


@fr.include_view(app)
class UserView(fr.AsyncRestView):
    prefix = "/users"
    model = User
    schema = UserSchema

    async def make_new_object(self, schema_obj: Any) -> Any:
        user = User(email=schema_obj.email, password_hash=hash_password(schema_obj.password))
        self.session.add(user)
        return user

    async def update_object(self, obj: Any, schema_obj: Any) -> Any:
        sent = schema_obj.model_dump(exclude_unset=True)
        if "password" in sent:
            obj.password_hash = hash_password(sent.pop("password"))
        for name, value in sent.items():
            setattr(obj, name, value)
        return obj
