from collections.abc import AsyncIterator
from typing import Any

import httpx


async def every_event(client: httpx.AsyncClient, **params: Any) -> AsyncIterator[dict[str, Any]]:
    """Every event of the listing, page after page, by following rel="next"."""
    response = await client.get("/events", params=params)
    while True:
        response.raise_for_status()
        for event in response.json()["items"]:
            yield event
        next_page = response.links.get("next")
        if next_page is None:  # the last page has no next link
            return
        response = await client.get(next_page["url"])
