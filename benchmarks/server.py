"""Run one contender under uvicorn in its own process, pinned to its own CPU core.

Every contender gets identical uvicorn settings: one worker (or ``workers``) on 127.0.0.1,
a free port, ``--log-level warning``, no access log, default event loop and HTTP parser::

    with Server("handwritten", database.environ(), cpus={0}) as server:
        fetch(server.host, server.port, Request("GET", "/books/1"))
        print(server.peak_rss_mb())
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from .contenders import app_path
from .db import POOL_SIZE, POOL_SIZE_ENV

__all__ = ["REPO_ROOT", "Server", "ServerError", "connections_per_contender", "split_cpus"]

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


def _worker_pool_size(workers: int) -> int:
    """Each worker's PostgreSQL pool: the whole pool, or its share of it plus two."""
    return POOL_SIZE if workers == 1 else -(-POOL_SIZE // workers) + 2


def _pool_share(workers: int) -> dict[str, str]:
    return {} if workers == 1 else {POOL_SIZE_ENV: str(_worker_pool_size(workers))}


def connections_per_contender(workers: int) -> int:
    """Database connections one contender's server may hold at once (all its workers' pools)."""
    return workers * _worker_pool_size(workers)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``; just ``pid`` elsewhere)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            children = [Path(task, "children").read_text().split() for task in tasks]
        except OSError:
            continue
        pending.extend(int(child) for listed in children for child in listed)
    return found


def _peak_rss_kib(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


class ServerError(RuntimeError):
    """A contender's server failed to start or died; the message holds its output."""


def split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """``(server_cpus, loadgen_cpus)``: one core for the server, the rest for the load.

    ``(None, None)`` when the platform cannot pin or there is a single core: then both
    share the machine and the README's caveat applies.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A uvicorn process serving one contender; a context manager that always stops it."""

    host = "127.0.0.1"

    def __init__(
        self, contender: str, environ: dict[str, str], cpus: set[int] | None, *, workers: int = 1
    ) -> None:
        self.contender = contender
        self.port = _free_port()
        self._log = tempfile.TemporaryFile()
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        command = [
            sys.executable, "-m", "uvicorn", app_path(contender),
            "--host", self.host, "--port", str(self.port),
            "--log-level", "warning", "--no-access-log",
            *(("--workers", str(workers)) if workers > 1 else ()),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **environ, **_pool_share(workers)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=pin,  # noqa: PLW1509 - the runner starts servers from one thread
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.contender} did not listen within {START_TIMEOUT:.0f} s")

    def check_alive(self) -> None:
        """Raise ``ServerError`` with the server's output if it has exited."""
        if self.process.poll() is not None:
            raise ServerError(
                f"{self.contender} exited with status {self.process.returncode}:\n{self.output()}"
            )

    def output(self, limit: int = 4000) -> str:
        """The tail of everything the server printed (tracebacks land here)."""
        if self.process.poll() is None:
            time.sleep(0.5)  # uvicorn logs a handler's traceback after sending the 500
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-limit:]

    def peak_rss_mb(self) -> float | None:
        """Peak resident memory of the server so far, summed over its processes (uvicorn's
        worker processes, when there are several); Linux only."""
        peaks = [_peak_rss_kib(pid) for pid in _process_tree(self.process.pid)]
        known = [peak for peak in peaks if peak is not None]
        return sum(known) / 1024 if known else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        self._log.close()
