"""The contenders: importable ASGI apps serving the same ``/books`` resource.

Each module reads its database from the environment (see ``benchmarks.db``) and exposes
``app``; the runner serves it with uvicorn::

    uvicorn benchmarks.contenders.handwritten:app
"""

from __future__ import annotations

__all__ = ["BASELINE", "CONTENDERS", "FASTEST", "app_path"]

#: The contender every ratio is measured against.
BASELINE = "handwritten"

#: Contender name -> the module that defines its ``app``. Order is the default run order.
CONTENDERS = {
    "handwritten": "benchmarks.contenders.handwritten",
    "restly_async": "benchmarks.contenders.restly_async",
    "restly_sync": "benchmarks.contenders.restly_sync",
    "restly_etag": "benchmarks.contenders.restly_etag",
    "restly_hooks": "benchmarks.contenders.restly_hooks",
    "fastest": "benchmarks.contenders.fastest",
}

#: The practical limit of the stack: the second ratio column of the report.
FASTEST = "fastest"


def app_path(contender: str) -> str:
    """The ``module:attribute`` string uvicorn imports for ``contender``."""
    return f"{CONTENDERS[contender]}:app"
