"""HTTP load in pure Python: fixed concurrency, bounded duration, keep-alive connections.

The fallback when ``wrk`` is not installed, and the client for one-off requests. It speaks
just enough HTTP/1.1 (Content-Length and chunked bodies) to stay far cheaper per request
than a general client, so on its own core it can saturate one uvicorn worker::

    result = python_load("127.0.0.1", 8000, requests, concurrency=16, duration=5.0)
    print(result.rps, result.p99_ms, result.non_2xx)
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import math
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .scenarios import Request

__all__ = ["LoadResult", "encode", "fetch", "percentile", "python_load"]

# How long in-flight requests may run past the deadline before they count as errors.
GRACE_SECONDS = 30.0


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured. Any ``non_2xx`` or ``errors`` makes the run invalid."""

    requests: int
    seconds: float
    non_2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    first_bad_status: int | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = min(max(1, math.ceil(fraction * len(sorted_values))), len(sorted_values))
    return sorted_values[rank - 1]


def encode(request: Request, host: str, key: str | None = None) -> bytes:
    """The raw HTTP/1.1 bytes of ``request`` on a keep-alive connection (with
    ``Idempotency-Key: key`` when given)."""
    body = request.body_bytes()
    head = f"{request.method} {request.path} HTTP/1.1\r\nHost: {host}\r\n"
    if key is not None:
        head += f'Idempotency-Key: "{key}"\r\n'
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def fetch(host: str, port: int, request: Request, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send one request on a fresh connection; return ``(status, body)``."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if request.body is not None else {}
        if request.keyed:
            headers["Idempotency-Key"] = f'"{uuid.uuid4()}"'
        connection.request(request.method, request.path, request.body_bytes() or None, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def python_load(
    host: str, port: int, requests: Sequence[Request], concurrency: int, duration: float
) -> LoadResult:
    """Replay ``requests`` round-robin over ``concurrency`` connections for ``duration`` s."""
    address = f"{host}:{port}"
    if any(request.keyed for request in requests):
        # A new key per request sent: encoded as the load runs (the list repeats).
        run = uuid.uuid4().hex[:12]
        numbers = itertools.count()
        cycled = itertools.cycle(requests)
        order: Iterator[bytes] = (
            encode(request, address, f"{run}-{next(numbers)}") if request.keyed else encode(request, address)
            for request in cycled
        )
        return asyncio.run(_load(host, port, order, concurrency, duration))
    payloads = [encode(request, address) for request in requests]
    return asyncio.run(_load(host, port, itertools.cycle(payloads), concurrency, duration))


@dataclass
class _Tally:
    latencies: list[float]
    non_2xx: int = 0
    errors: int = 0
    first_bad_status: int | None = None


async def _load(
    host: str, port: int, order: Iterator[bytes], concurrency: int, duration: float
) -> LoadResult:
    tally = _Tally(latencies=[])
    start = time.perf_counter()
    deadline = start + duration
    workers = [
        asyncio.create_task(_worker(host, port, order, deadline, tally))
        for _ in range(concurrency)
    ]
    done, late = await asyncio.wait(workers, timeout=duration + GRACE_SECONDS)
    for task in late:
        task.cancel()
    # A worker that crashed or hung is an error, never a silently smaller sample.
    tally.errors += len(late) + sum(1 for task in done if task.exception() is not None)
    elapsed = time.perf_counter() - start
    latencies = sorted(tally.latencies)
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        non_2xx=tally.non_2xx,
        errors=tally.errors,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        first_bad_status=tally.first_bad_status,
    )


async def _worker(
    host: str, port: int, order: Iterator[bytes], deadline: float, tally: _Tally
) -> None:
    writer: asyncio.StreamWriter | None = None
    try:
        while time.perf_counter() < deadline:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            sent = time.perf_counter()
            try:
                writer.write(next(order))
                status = await _read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                tally.errors += 1
                writer.close()
                writer = None
                continue
            tally.latencies.append(time.perf_counter() - sent)
            if not 200 <= status < 300:
                tally.non_2xx += 1
                tally.first_bad_status = tally.first_bad_status or status
    except OSError:
        tally.errors += 1
    finally:
        if writer is not None:
            writer.close()


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one response off the connection, return its status (the body is discarded)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    length, chunked = 0, False
    for line in header_lines:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    if chunked:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # the blank line after the last chunk
    else:
        await reader.readexactly(length)
    return status
