"""Generate the sync REST view (``_rest_sync.py``) from the async one (``_rest.py``).

```
python -m restly.views._unasync          # rewrite _rest_sync.py
python -m restly.views._unasync --check  # exit 1 if it is out of date
```

The sync twin is the async source with tokens substituted (``async def`` -> ``def``,
``await`` dropped, ``AsyncSession`` -> ``Session``, ...), in the spirit of httpcore's
``unasync``: one definition, two kinds, no per-request cost. ``tests/views/test_sync_twin.py``
regenerates it and fails on any difference.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["SOURCE", "TARGET", "generate", "main"]

HERE = Path(__file__).parent
SOURCE = HERE / "_rest.py"
TARGET = HERE / "_rest_sync.py"

#: (pattern, replacement), applied in order; words only, so ``async_commit`` is one token.
RULES: tuple[tuple[str, str], ...] = (
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    # (await f(x)).all() -> f(x).all(); not a call's own parentheses: g(await f(x))
    (r"(?<![\w)\]])\(await ([^()]*(?:\([^()]*\))?)\)", r"\1"),
    (r"\bawait ", ""),
    (r"\basync handlers\b", "sync handlers"),
    (r"\bAsyncRestView\b", "RestView"),
    (r"\bAsyncSessionDep\b", "SessionDep"),
    (r"\bAsyncSession\b", "Session"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\basync_commit\b", "commit"),
    (r"\basync_read_and_commit\b", "read_and_commit"),
    (r"\basync_read_rows\b", "read_rows"),
    (r"\bpersistence\.async_", "persistence."),
    (r"\bidempotency\.async_", "idempotency."),
)

HEADER = '''"""``RestView``: the sync twin of ``AsyncRestView`` (see ``_rest.py``), run in FastAPI's
threadpool.

GENERATED from ``_rest.py`` by ``python -m restly.views._unasync``: do not edit; edit
``_rest.py`` and regenerate (``tests/views/test_sync_twin.py`` fails when this is stale).
"""
'''


def generate(source: str) -> str:
    """The sync module for the async module's text ``source``."""
    body = source[source.index('"""', 3) + 3 :].lstrip("\n")  # drop the source's docstring
    for pattern, replacement in RULES:
        body = re.sub(pattern, replacement, body)
    return HEADER + "\n" + body


def main(argv: list[str]) -> int:
    expected = generate(SOURCE.read_text())
    if "--check" in argv:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != expected:
            print(f"{TARGET} is stale: run python -m restly.views._unasync", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(expected)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
