"""Deterministic sample data, written once into an empty database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Author, Book, Review

__all__ = ["AUTHORS", "seed_if_empty"]

#: ``(name, born, [(title, year, [(rating, comment), ...]), ...])``
AUTHORS = [
    (
        "Ursula K. Le Guin",
        1929,
        [
            ("A Wizard of Earthsea", 1968, [(5, "Quiet and deep."), (4, "A slow start.")]),
            ("The Left Hand of Darkness", 1969, [(5, "Still ahead of its time.")]),
            ("The Dispossessed", 1974, [(4, "Two worlds, one argument.")]),
        ],
    ),
    (
        "Italo Calvino",
        1923,
        [
            ("Invisible Cities", 1972, [(5, "Every page a city.")]),
            ("If on a winter's night a traveler", 1979, [(3, "Clever, maybe too clever.")]),
        ],
    ),
    (
        "Octavia E. Butler",
        1947,
        [
            ("Kindred", 1979, [(5, "Unforgettable.")]),
            ("Parable of the Sower", 1993, []),
        ],
    ),
]


async def seed_if_empty(session: AsyncSession) -> bool:
    """Insert the sample data unless there is an author already; return whether it did."""
    if await session.scalar(select(func.count()).select_from(Author)):
        return False
    for name, born, books in AUTHORS:
        author = Author(name=name, born=born)
        session.add(author)
        await session.flush()
        for title, year, reviews in books:
            book = Book(title=title, year=year, author_id=author.id)
            session.add(book)
            await session.flush()
            session.add_all(
                Review(book_id=book.id, rating=rating, comment=comment)
                for rating, comment in reviews
            )
    return True
