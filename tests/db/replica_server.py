"""A real PostgreSQL streaming replica of the test server, for the read-replica tests.

`streaming_replica()` copies the test server with ``pg_basebackup -R`` (which writes the
standby settings), starts the copy on a free port of 127.0.0.1 with ``pg_ctl``, waits until it
streams, and stops and deletes it afterwards. The primary must allow replication connections
from 127.0.0.1 (`.ci/run` adds ``host replication all 127.0.0.1/32 trust`` to pg_hba.conf).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import skip_or_fail

#: Seconds the whole set-up may take (the copy takes about 3 s on an idle machine).
SETUP_TIMEOUT = 120


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as `postgres` then."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return []
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else []


@contextmanager
def streaming_replica(primary_url: str) -> Iterator[str]:
    """Start a streaming replica of the server of ``primary_url`` (a sync or async
    PostgreSQL URL); yield the same URL pointing at the replica."""
    basebackup, pg_ctl = _postgres_bin("pg_basebackup"), _postgres_bin("pg_ctl")
    if basebackup is None or pg_ctl is None:
        skip_or_fail("pg_basebackup/pg_ctl not found (Debian: postgresql's server package)")
        raise AssertionError("unreachable")  # pragma: no cover - skip_or_fail raises
    url = make_url(primary_url)
    folder = Path(tempfile.mkdtemp(prefix="restly-replica-"))
    data = folder / "data"
    prefix = _as_server_user()
    if prefix:
        shutil.chown(folder, user="postgres")
    port = _free_port()
    copy = subprocess.run(
        [
            *prefix,
            basebackup,
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-D",
            str(data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "-w",
        ],
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT,
    )
    if copy.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        last_line = (copy.stderr.strip().splitlines() or ["no output"])[-1]
        skip_or_fail(
            "pg_basebackup could not copy the test server (allow replication from "
            f"127.0.0.1: `host replication all 127.0.0.1/32 trust` in pg_hba.conf): {last_line}"
        )
    # The copy has no configuration files of its own on Debian (they live in /etc).
    (data / "postgresql.conf").write_text("")
    (data / "pg_ident.conf").write_text("")
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    if prefix:
        subprocess.run(["chown", "-R", "postgres", str(folder)], check=True)
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
        "-c hot_standby=on -c shared_buffers=16MB -c fsync=off"
    )
    started = subprocess.run(
        [
            *prefix,
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        ],
        capture_output=True,
        text=True,
        timeout=SETUP_TIMEOUT,
    )
    try:
        if started.returncode != 0:
            log = (folder / "log").read_text() if (folder / "log").exists() else ""
            raise RuntimeError(f"the replica did not start: {started.stderr}\n{log[-2000:]}")
        _wait_streaming(primary_url)
        yield url.set(port=port).render_as_string(hide_password=False)
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _wait_streaming(primary_url: str) -> None:
    import psycopg

    conninfo = make_url(primary_url).set(drivername="postgresql").render_as_string(False)
    deadline = time.monotonic() + SETUP_TIMEOUT
    with psycopg.connect(conninfo, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "select count(*) from pg_stat_replication where state = 'streaming'"
            ).fetchone()
            if row and row[0] > 0:
                return
            time.sleep(0.1)
    raise RuntimeError("the replica did not start streaming")


def wait_replayed(primary_url: str, replica_url: str, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    import psycopg

    def conninfo(url: str) -> str:
        return make_url(url).set(drivername="postgresql").render_as_string(False)

    with psycopg.connect(conninfo(primary_url), autocommit=True) as primary:
        row = primary.execute("select pg_current_wal_lsn()").fetchone()
        assert row is not None
        target = row[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo(replica_url), autocommit=True) as replica:
        while time.monotonic() < deadline:
            done = replica.execute(
                "select pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
            ).fetchone()
            if done and done[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"the replica did not catch up within {timeout} s")
