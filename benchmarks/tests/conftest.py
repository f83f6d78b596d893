"""Fixtures for the harness tests: a tiny HTTP server with known answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the load generators expect

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/ok":
            self._send(200, b'{"ok": true}')
        elif self.path == "/fail":
            self._send(500, b'{"detail": "no"}')
        elif self.path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_postgres_database(monkeypatch):
    """A PostgreSQL database of its own for one benchmark run (dropped afterwards), named
    in ``RESTLY_BENCH_POSTGRES_URL``; skipped (failed in CI) without a server."""
    import uuid

    import psycopg

    from tests.conftest import postgres_urls

    server = postgres_urls().sync_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"restly_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("RESTLY_BENCH_POSTGRES_URL", server.rsplit("/", 1)[0] + f"/{name}")
    yield
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
