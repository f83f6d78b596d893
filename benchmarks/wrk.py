"""Drive ``wrk`` (https://github.com/wg/wrk) with a scenario's requests.

wrk generates load from C, so the load generator costs the measured server nothing but
its own core. ``wrk_replay.lua`` replays the requests round-robin and counts non-2xx::

    if wrk_available():
        result = wrk_load("127.0.0.1", 8000, requests, concurrency=16, duration=5)
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .loadgen import LoadResult
from .scenarios import Request

__all__ = ["wrk_available", "wrk_load"]

LUA_SCRIPT = Path(__file__).with_name("wrk_replay.lua")
MARKER = "BENCH_JSON "


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def wrk_load(
    host: str, port: int, requests: Sequence[Request], concurrency: int, duration: float
) -> LoadResult:
    """Run wrk (one thread) against ``host:port``; ``duration`` is rounded up to whole seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as listing:
        for request in requests:
            body = request.body_bytes().decode()
            keyed = "K" if request.keyed else ""
            listing.write(f"{request.method}\t{request.path}\t{keyed}\t{body}\n")
    try:
        command = [
            "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, math.ceil(duration))}s",
            "--timeout", "30s", "-s", str(LUA_SCRIPT), f"http://{host}:{port}", "--", listing.name,
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        Path(listing.name).unlink()
    summary = next(
        (line[len(MARKER):] for line in completed.stdout.splitlines() if line.startswith(MARKER)),
        None,
    )
    if completed.returncode != 0 or summary is None:
        raise RuntimeError(
            f"wrk failed (exit {completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    data = json.loads(summary)
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_2xx=data["non_2xx"],
        errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        first_bad_status=data["first_bad_status"] or None,
    )
