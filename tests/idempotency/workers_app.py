"""The app the two-worker test serves with uvicorn: an async view of `Item` on the database
named by `RESTLY_IDEMPOTENCY_TEST_URL`, with a write slow enough for duplicates to overlap."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fastapi import FastAPI

import restly as fr

from .models import Item

fr.configure(async_database_url=os.environ["RESTLY_IDEMPOTENCY_TEST_URL"])
app = FastAPI()


@fr.include_view(app)
class WorkerItemView(fr.AsyncRestView):
    prefix = "/items"
    model = Item

    async def before_action_commit(self, action: str, new: Any, old: Any = None) -> None:
        await asyncio.sleep(0.2)
