"""One "worker" of the cold-start test: ``python -m tests.deploy.coldstart_worker URL MODE``.

It imports everything, says ``ready``, then for each ``go`` line on stdin runs what an app's
lifespan runs at start-up, ``fr.db.create_all`` (MODE ``sync``) or ``fr.db.async_create_all``
(MODE ``async``) with the seed, or what the lifespan of ``python -m restly demo`` runs (MODE
``demo``), over fresh connections, and answers ``ok`` or the error.
The test starts several at once, so their ``go`` arrives within a millisecond.
"""

from __future__ import annotations

import asyncio
import sys
import traceback

import restly as fr
from restly._demo.models import DemoBase
from restly._demo.seed import seed_if_empty

from .models import Base, seed_tags, seed_tags_sync


def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    fr.configure(database_url=url)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        try:
            if mode in ("async", "demo"):
                asyncio.run(_start_async(mode))
            else:
                fr.db.create_all(Base, seed=seed_tags_sync)
                fr.get_engine().dispose()
        except Exception as error:  # noqa: BLE001 - reported to the test, which fails on it
            detail = "".join(traceback.format_exception_only(error)).strip().replace("\n", " | ")
            print(f"error {detail}", flush=True)
        else:
            print("ok", flush=True)


async def _start_async(mode: str) -> None:
    if mode == "demo":
        await fr.db.async_create_all(DemoBase, seed=seed_if_empty)
    else:
        await fr.db.async_create_all(Base, seed=seed_tags)
    await fr.get_fr_globals().dispose()
    fr.get_fr_globals().reset_database()  # a fresh engine in the next round's event loop


if __name__ == "__main__":
    main()
