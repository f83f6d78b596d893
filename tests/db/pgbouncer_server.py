"""A real PgBouncer in transaction pooling mode in front of the test PostgreSQL.

Used by tests/db/test_pgbouncer.py and by the second pass of the view suite through
PgBouncer (the ``postgresql-pgbouncer`` backend of tests/views/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import postgres_urls, skip_or_fail

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def pgbouncer(*, server_pool: int) -> Iterator[str]:
    """Start PgBouncer (``pool_mode = transaction``, trust auth, ``server_pool`` server
    connections per database) on a free port of 127.0.0.1 in front of the test PostgreSQL;
    yield the ``user@host:port/database`` part of URLs through it."""
    urls = postgres_urls()  # skips (or fails in CI) when PostgreSQL is unreachable
    if not os.path.exists(PGBOUNCER):
        skip_or_fail("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    try:
        with run_pgbouncer(urls.sync_url.split("://", 1)[1], server_pool=server_pool) as through:
            yield through
    except PgBouncerError as error:
        pytest.fail(str(error))


class PgBouncerError(RuntimeError):
    """PgBouncer did not start; the message holds its log."""


@contextmanager
def run_pgbouncer(direct: str, *, server_pool: int) -> Iterator[str]:
    """Start PgBouncer in front of ``direct`` (``user@host:port/database``), as
    `pgbouncer` does, without pytest (the benchmarks use it too)."""
    user, location = direct.split("@", 1)
    host_port, database = location.split("/", 1)
    host, _, port = host_port.partition(":")
    # Not under pytest's temporary root: PgBouncer may run as another user, who must read it.
    folder = Path(tempfile.mkdtemp(prefix="restly-pgbouncer-"))
    folder.chmod(0o755)
    listen = _free_port()
    (folder / "users.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {listen}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {server_pool}\nmax_client_conn = 500\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    command = [PGBOUNCER]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        shutil.chown(folder, "postgres")
        for path in folder.iterdir():
            shutil.chown(path, "postgres")
        command += ["-u", "postgres"]
    # Its log is in pgbouncer.log (quoted when it fails to start), not on the terminal.
    process = subprocess.Popen(
        [*command, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = folder / "pgbouncer.log"
                    message = log.read_text() if log.exists() else ""
                    raise PgBouncerError(f"pgbouncer did not start: {message}")
                time.sleep(0.1)
        yield f"{user}@127.0.0.1:{listen}/{database}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
