from fastapi import FastAPI
from sqlmodel import Field, SQLModel

import restly as fr


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=50)
    secret_name: str
    age: int | None = None


fr.configure(async_database_url="sqlite+aiosqlite:///heroes.db")
app = FastAPI()


@fr.include_view(app)
class HeroView(fr.AsyncRestView):
    """The table model as the model: restly generates the schemas from its columns."""

    prefix = "/heroes"
    model = Hero


@fr.include_view(app)
class HeroCardView(fr.AsyncRestView):
    """The same class as the schema too: its fields, validation and defaults as declared."""

    prefix = "/hero-cards"
    model = Hero
    schema = Hero
