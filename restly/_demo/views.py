"""The demo's resources, built with restly's public API only.

They are registered in their own :class:`restly.FRGlobals` (``demo_globals``), so importing
this module never adds views to an application's registry.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import func, select

import restly as fr

from .models import Author, Book, Review

__all__ = [
    "AuthorView",
    "BookView",
    "IndexView",
    "ReviewView",
    "StatsView",
    "demo_globals",
]

demo_globals = fr.FRGlobals()


class BookSchema(fr.IDSchema):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    year: int | None = None
    author_id: int


class ReviewSchema(fr.IDSchema):
    book_id: int
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: str = ""


class AuthorView(fr.AsyncRestView, globals=demo_globals):
    prefix = "/authors"
    tags = ["authors"]
    model = Author


class BookView(fr.AsyncRestView, globals=demo_globals):
    prefix = "/books"
    tags = ["books"]
    model = Book
    schema = BookSchema

    @fr.get("/{id}/reviews", response_model=list[ReviewSchema])
    async def reviews(self, id: int) -> Any:
        """The reviews of one book, best first."""
        await self.handle_get(id)
        query = select(Review).where(Review.book_id == id).order_by(Review.rating.desc(), Review.id)
        return (await self.session.scalars(query)).all()


class ReviewView(fr.RestView, globals=demo_globals):
    prefix = "/reviews"
    tags = ["reviews"]
    model = Review
    schema = ReviewSchema
    include_pagination_metadata = True
    default_page_size = 10


class StatsView(fr.View, globals=demo_globals):
    prefix = "/stats"
    tags = ["stats"]
    session: fr.AsyncSessionDep

    @fr.get("")
    async def totals(self) -> dict[str, int]:
        """How many rows each resource holds."""
        totals = {}
        for name, model in (("authors", Author), ("books", Book), ("reviews", Review)):
            totals[name] = await self.session.scalar(select(func.count()).select_from(model)) or 0
        return totals


class IndexView(fr.View, globals=demo_globals):
    @fr.get("/", include_in_schema=False)
    async def index(self) -> dict[str, Any]:
        return {
            "name": "restly demo",
            "docs": "/docs",
            "resources": ["/authors", "/books", "/reviews", "/stats"],
        }
