"""Generate the sync REST view's modules (``_rest*_sync.py``) from the async ones.

```
python -m restly.views._unasync          # rewrite the sync twins
python -m restly.views._unasync --check  # exit 1 if one is out of date
```

``_rest.py`` (``AsyncRestView``) gives ``_rest_sync.py`` (``RestView``); its mixins
``_rest_hooks.py`` and ``_rest_headers.py`` give ``_rest_hooks_sync.py`` and
``_rest_headers_sync.py``.

The sync twin is the async source with tokens substituted (``async def`` -> ``def``,
``await`` dropped, ``AsyncSession`` -> ``Session``, ...), in the spirit of httpcore's
``unasync``: one definition, two kinds, no per-request cost. ``tests/views/test_sync_twin.py``
regenerates it and fails on any difference.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["PAIRS", "generate", "main"]

HERE = Path(__file__).parent
#: async module -> (its generated sync twin, what the twin is: the twin's docstring)
PAIRS: dict[Path, tuple[Path, str]] = {
    HERE / "_rest.py": (
        HERE / "_rest_sync.py",
        "``RestView``: the sync twin of ``AsyncRestView`` (see ``_rest.py``), run in FastAPI's\n"
        "threadpool.",
    ),
    HERE / "_rest_hooks.py": (
        HERE / "_rest_hooks_sync.py",
        "``LifecycleHooks``: ``RestView``'s lifecycle hooks, the sync twin of\n"
        "``AsyncLifecycleHooks`` (see ``_rest_hooks.py``).",
    ),
    HERE / "_rest_headers.py": (
        HERE / "_rest_headers_sync.py",
        "``HeaderSteps``: ``RestView``'s ``Idempotency-Key`` and conditional-request steps, the\n"
        "sync twin of ``AsyncHeaderSteps`` (see ``_rest_headers.py``).",
    ),
}

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
    (r"\bAsyncLifecycleHooks\b", "LifecycleHooks"),
    (r"\bAsyncHeaderSteps\b", "HeaderSteps"),
    (r"\bfrom \._rest(_hooks|_headers)? import\b", r"from ._rest\1_sync import"),
    (r"\bAsyncSessionDep\b", "SessionDep"),
    (r"\bAsyncSession\b", "Session"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\basync_commit\b", "commit"),
    (r"\basync_read_and_commit\b", "read_and_commit"),
    (r"\basync_read_page\b", "read_page"),
    (r"\basync_read_rows\b", "read_rows"),
    (r"\bpersistence\.async_", "persistence."),
    (r"\bidempotency\.async_", "idempotency."),
)

HEADER = '''"""{summary}

GENERATED from ``{source}`` by ``python -m restly.views._unasync``: do not edit; edit
``{source}`` and regenerate (``tests/views/test_sync_twin.py`` fails when this is stale).
"""
'''


def generate(source: Path) -> str:
    """The text of the sync twin of the async module ``source`` (one of ``PAIRS``)."""
    text = source.read_text()
    body = text[text.index('"""', 3) + 3 :].lstrip("\n")  # drop the source's docstring
    for pattern, replacement in RULES:
        body = re.sub(pattern, replacement, body)
    summary = PAIRS[source][1]
    return HEADER.format(summary=summary, source=source.name) + "\n" + body


def main(argv: list[str]) -> int:
    stale = 0
    for source, (target, _) in PAIRS.items():
        expected = generate(source)
        if "--check" in argv:
            current = target.read_text() if target.exists() else ""
            if current != expected:
                print(f"{target} is stale: run python -m restly.views._unasync", file=sys.stderr)
                stale += 1
        else:
            target.write_text(expected)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
