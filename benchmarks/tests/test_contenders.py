"""Every contender gives the client the same guarantee: a write is committed before its
response starts, so a 201 never reports a row that a failed COMMIT lost.

Each contender runs in a fresh interpreter (contender modules build their engine at import,
from the environment), which records, in order, the engine's COMMITs and the ASGI
``http.response.start`` of one create request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.contenders import CONTENDERS
from benchmarks.dataset import Database
from benchmarks.server import REPO_ROOT

_PROBE = """
import asyncio, importlib, json, sys
from sqlalchemy import Engine, event
from benchmarks.scenarios import SCENARIOS

events = []
event.listen(Engine, "commit", lambda connection: events.append("commit"))
app = importlib.import_module(sys.argv[1]).app
body = SCENARIOS["create"].requests()[0].body_bytes()
scope = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
    "scheme": "http", "path": "/books", "raw_path": b"/books", "query_string": b"",
    "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
    "headers": [(b"host", b"bench"), (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode())],
}

async def receive():
    return {"type": "http.request", "body": body, "more_body": False}

async def send(message):
    if message["type"] == "http.response.start":
        events.append(f"response {message['status']}")

asyncio.run(app(scope, receive, send))
print(json.dumps(events))
"""


@pytest.fixture(scope="module")
def database_environ(tmp_path_factory):
    database = Database.create("sqlite", tmp_path_factory.mktemp("contenders"))
    database.seed()
    return database.environ()


@pytest.mark.parametrize("contender", list(CONTENDERS))
def test_create_commits_before_the_response_starts(contender, database_environ):
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, CONTENDERS[contender]],
        cwd=REPO_ROOT, env={**os.environ, **database_environ},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    events = json.loads(completed.stdout.strip().splitlines()[-1])
    assert events == ["commit", "response 201"]
