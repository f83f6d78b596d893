"""A contender that answers the first requests correctly, then fails with 500.

Used to prove the runner stops loudly when a contender breaks under load, after it has
passed verification.
"""

from __future__ import annotations

import itertools

from fastapi import FastAPI, HTTPException

GOOD_REQUESTS = 3
_count = itertools.count()

app = FastAPI()


@app.get("/books/{book_id}")
async def get_book(book_id: int) -> dict[str, int]:
    if next(_count) >= GOOD_REQUESTS:
        raise HTTPException(status_code=500, detail="broken on purpose")
    return {"id": book_id}
