"""The load generators count every response and flag every non-2xx (no timings asserted)."""

from __future__ import annotations

import pytest

from benchmarks.loadgen import encode, fetch, percentile, python_load
from benchmarks.scenarios import Request
from benchmarks.wrk import wrk_available, wrk_load

LOADERS = [
    pytest.param(python_load, id="python"),
    pytest.param(
        wrk_load, id="wrk", marks=pytest.mark.skipif(not wrk_available(), reason="wrk not installed")
    ),
]


@pytest.mark.parametrize("load", LOADERS)
def test_successful_load_has_no_errors(load, http_port):
    requests = [Request("GET", "/ok"), Request("GET", "/empty"), Request("GET", "/chunked")]
    result = load("127.0.0.1", http_port, requests, 2, 1)
    assert result.requests > 0
    assert (result.non_2xx, result.errors, result.first_bad_status) == (0, 0, None)


@pytest.mark.parametrize("load", LOADERS)
def test_non_2xx_answers_are_counted(load, http_port):
    result = load("127.0.0.1", http_port, [Request("GET", "/ok"), Request("GET", "/fail")], 2, 1)
    assert result.non_2xx > 0
    assert result.first_bad_status == 500


def test_unreachable_server_counts_errors():
    result = python_load("127.0.0.1", 1, [Request("GET", "/ok")], 2, 0.2)
    assert result.requests == 0
    assert result.errors == 2


def test_encode_adds_body_headers_only_when_there_is_a_body():
    assert encode(Request("GET", "/books/1"), "h") == b"GET /books/1 HTTP/1.1\r\nHost: h\r\n\r\n"
    raw = encode(Request("PATCH", "/books/1", {"price": 1}), "h")
    assert raw.endswith(b'Content-Length: 12\r\n\r\n{"price": 1}')


def test_fetch_returns_status_and_body(http_port):
    assert fetch("127.0.0.1", http_port, Request("GET", "/fail")) == (500, b'{"detail": "no"}')


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 0.50) == 50.0
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([], 0.99) == 0.0
