from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException
from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import restly as fr


class Base(DeclarativeBase):
    pass


class Greeting(Base):
    __tablename__ = "greeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str]


fr.configure(async_database_url="sqlite+aiosqlite:///app.db")
app = FastAPI()


def current_user(x_user: Annotated[str | None, Header()] = None) -> str:
    if x_user is None:
        raise HTTPException(status_code=401, detail="Send an X-User header")
    return x_user


@fr.include_view(app)
class GreetingView(fr.View):
    prefix = "/greetings"
    tags = ["greetings"]

    # Resolved for every request, then readable as self.session and self.user.
    session: fr.AsyncSessionDep
    user: Annotated[str, Depends(current_user)]

    @fr.get("")
    async def list_greetings(self) -> list[str]:
        texts = await self.session.scalars(select(Greeting.text).order_by(Greeting.id))
        return [f"{text}, {self.user}!" for text in texts]

    @fr.post("")
    async def add_greeting(self, text: str) -> dict[str, int]:
        greeting = Greeting(text=text)
        self.session.add(greeting)
        await self.session.flush()
        return {"id": greeting.id}

    @fr.get("/count")
    async def count(self) -> int:
        return await self.session.scalar(select(func.count()).select_from(Greeting)) or 0

    @fr.delete("/{id}")
    async def remove(self, id: int) -> None:
        greeting = await self.session.get(Greeting, id)
        if greeting is None:
            raise fr.exc.NotFound()
        await self.session.delete(greeting)

    @fr.route("/ping", methods=["GET"], summary="Who is calling")
    async def ping(self) -> dict[str, str]:
        return {"user": self.user}
