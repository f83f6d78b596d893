"""``python -m restly demo``: a small bookshop API served by restly views.

::

    python -m restly demo                                  # SQLite file in the temp dir
    python -m restly demo --database-url postgresql://postgres@localhost/demo

Authors, books (``author_id`` points to an author) and reviews (``book_id`` points to a book),
plus ``/stats``. Tables are created when missing and sample data is written into an empty
database. The app itself is :func:`create_app`; the views use restly's public API only.
"""

from .app import create_app
from .cli import DEFAULT_DATABASE_PATH, add_arguments, run

__all__ = ["DEFAULT_DATABASE_PATH", "add_arguments", "create_app", "run"]
