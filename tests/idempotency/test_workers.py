"""Exactly one execution across worker processes: two uvicorn processes serving one
PostgreSQL database, hit at once with identical requests carrying one key."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import restly as fr

from ..conftest import postgres_urls
from .models import Base, count_items

__all__ = ["Base"]

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
REQUESTS = 20
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


@pytest.fixture
def workers(fr_globals: fr.FRGlobals, tmp_path: Path) -> Iterator[list[str]]:
    """Two uvicorn processes on their own ports, over fresh tables; their base URLs."""
    urls = postgres_urls()
    fr.configure(database_url=urls.sync_url)
    engine = fr_globals.get_engine()
    for metadata in (Base.metadata, fr.idempotency_metadata):
        metadata.drop_all(engine)
    fr.db.create_all(Base)
    environment = {**os.environ, "RESTLY_IDEMPOTENCY_TEST_URL": urls.async_url}
    ports = [free_port() for _ in range(WORKERS)]
    logs = [tmp_path / f"worker-{port}.log" for port in ports]
    processes = []
    for port, log in zip(ports, logs):
        with log.open("wb") as output:  # the child keeps its own descriptor
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "tests.idempotency.workers_app:app",
                     "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT,
                )
            )
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base, process, log in zip(bases, processes, logs):
            wait_until_serving(base, process, log)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for metadata in (Base.metadata, fr.idempotency_metadata):
            metadata.drop_all(engine)


def wait_until_serving(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}): {log.read_text()}")
        try:
            if httpx.get(f"{base}/items", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no worker answered at {base} within {STARTUP_SECONDS} s")


async def test_two_worker_processes_execute_a_key_once(
    workers: list[str], fr_globals: fr.FRGlobals
) -> None:
    headers = {"Idempotency-Key": '"two-workers"'}
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{workers[n % WORKERS]}/items", json={"name": "once"}, headers=headers)
                for n in range(REQUESTS)
            )
        )
        executed = [r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers]
        assert len(executed) == 1, [(r.status_code, r.text) for r in responses]
        for response in responses:
            assert response.status_code in (201, 409), response.text
            if response.status_code == 409:
                assert response.headers["retry-after"] == "1"
        for base in workers:  # each worker replays what one of them did
            again = await client.post(f"{base}/items", json={"name": "once"}, headers=headers)
            assert again.headers["idempotent-replayed"] == "true"
            assert again.content == executed[0].content
    assert count_items(fr_globals) == 1
