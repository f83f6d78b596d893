"""Real server processes for the deployment tests: uvicorn and gunicorn serving
``tests.deploy.app`` (or another app) on a free loopback port, stopped for sure afterwards.

::

    with Server.uvicorn(environ, workers=2) as server:
        httpx.get(f"{server.url}/notes")
        server.stop(signal.SIGTERM)          # then server.returncode, server.output()
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["ROOT", "Server", "free_port", "open_fds", "rss_kib"]

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0
STOP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return int(listener.getsockname()[1])


class Server:
    """One server process (and its workers, in its own process group)."""

    host = "127.0.0.1"

    def __init__(self, command: list[str], environ: dict[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://{self.host}:{port}"
        self._log = tempfile.TemporaryFile()
        self._output: str | None = None
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **environ},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers too can be stopped as one group
        )

    @classmethod
    def uvicorn(
        cls, environ: dict[str, str], *, workers: int = 1, app: str = "tests.deploy.app:app",
        options: tuple[str, ...] = (),
    ) -> Server:
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", app, "--host", cls.host, "--port", str(port),
            "--workers", str(workers), "--no-access-log", *options,
        ]  # fmt: skip
        return cls(command, environ, port)

    @classmethod
    def gunicorn(cls, environ: dict[str, str], *, workers: int = 2) -> Server:
        port = free_port()
        command = [
            sys.executable, "-m", "gunicorn", "tests.deploy.app:app",
            "--bind", f"{cls.host}:{port}", "--workers", str(workers),
            "--worker-class", "uvicorn_worker.UvicornWorker", "--graceful-timeout", "30",
        ]  # fmt: skip
        return cls(command, environ, port)

    def wait_until_ready(self, path: str = "/openapi.json") -> None:
        """Wait until ``path`` answers 200 (every app of the tests serves it once started;
        uvicorn with several workers listens before each has started)."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited ({self.process.returncode}):\n{self.output()}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the server did not answer within {START_SECONDS} s:\n{self.output()}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_SECONDS) -> int:
        """Send ``signum`` to the server and wait for it to exit; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def output(self) -> str:
        """What the server printed (its log), so far."""
        if self._output is not None:
            return self._output
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __enter__(self) -> Server:
        try:
            self.wait_until_ready()
        except BaseException:
            self._kill()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._kill()

    def _kill(self) -> None:
        """Stop the server and every process of its group (its workers), whatever state it is in."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # leftover workers of this server only
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(STOP_SECONDS)
        self._output = self.output()
        self._log.close()

    def worker_pids(self) -> list[int]:
        """The server's worker processes (its children; the server itself with one worker)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
        workers = [pid for pid in pids if b"resource_tracker" not in _cmdline(pid)]
        return workers or [self.process.pid]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    """Open file descriptors of process ``pid`` (Linux ``/proc``)."""
    return len(os.listdir(f"/proc/{pid}/fd"))
