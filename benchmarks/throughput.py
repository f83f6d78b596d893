"""Request throughput: every contender under the same load, interleaved over rounds.

For each round, each scenario, each contender (order rotated per round, so drift and
noise hit all contenders alike): warm up, measure; after each of the two, a writing
scenario's changes are undone. Any non-2xx response or socket error stops the run with a
``BenchmarkError`` that carries the server's output — a benchmark never reports numbers
from a contender that failed::

    samples, rss, warnings = run_throughput(database, ["handwritten"], scenarios, settings)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from .dataset import Database
from .loadgen import LoadResult, fetch, python_load
from .scenarios import Scenario
from .server import Server, split_cpus
from .wrk import wrk_load

__all__ = ["BenchmarkError", "Settings", "check_result", "run_throughput", "verify"]

# Requests per scenario and contender checked (status and content) before any load.
VERIFY_REQUESTS = 3


class BenchmarkError(RuntimeError):
    """The run is invalid: a contender failed or did different work than the others."""


@dataclass(frozen=True)
class Settings:
    rounds: int
    duration: float
    warmup: float
    concurrency: int
    loadgen: str  # "wrk" or "python"
    #: uvicorn worker processes per contender; with more than one, nothing is pinned.
    workers: int = 1


Samples = dict[str, dict[str, list[LoadResult]]]  # scenario -> contender -> one per round


def run_throughput(
    database: Database,
    contenders: Sequence[str],
    scenarios: Sequence[Scenario],
    settings: Settings,
    log: Callable[[str], None] = print,
) -> tuple[Samples, dict[str, float | None], list[str]]:
    """Measure; return ``(samples, peak RSS in MB per contender, warnings)``."""
    server_cpus, load_cpus = split_cpus() if settings.workers == 1 else (None, None)
    load = wrk_load if settings.loadgen == "wrk" else python_load
    requests = {scenario.name: scenario.requests() for scenario in scenarios}
    samples: Samples = {scenario.name: {name: [] for name in contenders} for scenario in scenarios}
    runs = [seconds for seconds in (settings.warmup, settings.duration) if seconds > 0]
    with ExitStack() as stack:
        if load_cpus:
            # The runner generates the load (or runs wrk) on the cores the server leaves.
            stack.callback(os.sched_setaffinity, 0, os.sched_getaffinity(0))
            os.sched_setaffinity(0, load_cpus)
        servers = {
            name: stack.enter_context(
                Server(name, database.environ(), server_cpus, workers=settings.workers)
            )
            for name in contenders
        }
        warnings = verify(servers, scenarios, database)
        for round_index in range(settings.rounds):
            shift = round_index % len(contenders)
            order = [*contenders[shift:], *contenders[:shift]]
            for scenario in scenarios:
                for name in order:
                    server = servers[name]
                    for seconds in runs:  # warm-up (unless 0), then the measurement
                        result = load(
                            server.host,
                            server.port,
                            requests[scenario.name],
                            settings.concurrency,
                            seconds,
                        )
                        check_result(result, name, scenario, server)
                        if scenario.writes:
                            # Both runs replay the requests from the start: from the seeded
                            # state, every create adds a row and every patch changes one.
                            database.reset()
                    samples[scenario.name][name].append(result)
                    log(
                        f"  round {round_index + 1}/{settings.rounds} {scenario.name:<9} "
                        f"{name:<13} {result.rps:9.1f} req/s  p99 {result.p99_ms:7.1f} ms"
                    )
        rss = {name: server.peak_rss_mb() for name, server in servers.items()}
    return samples, rss, warnings


def check_result(result: LoadResult, contender: str, scenario: Scenario, server: Server) -> None:
    """Raise ``BenchmarkError`` unless every request of the run got a 2xx answer."""
    server.check_alive()
    if result.non_2xx or result.errors or not result.requests:
        raise BenchmarkError(
            f"{contender} failed scenario {scenario.name!r}: {result.requests} responses, "
            f"{result.non_2xx} non-2xx (first: {result.first_bad_status}), "
            f"{result.errors} socket errors/timeouts. Server output:\n{server.output()}"
        )


def verify(
    servers: dict[str, Server], scenarios: Sequence[Scenario], database: Database
) -> list[str]:
    """Check every contender answers the first requests of each scenario alike.

    A wrong status, or a response that differs in what ``Scenario.identity`` keeps (page,
    totals, ids), raises ``BenchmarkError``. Other differences in values (formatting, extra
    fields) are returned as warnings for the report.
    """
    warnings: list[str] = []
    for scenario in scenarios:
        requests = scenario.requests()[:VERIFY_REQUESTS]
        reference: tuple[str, list[Any]] | None = None
        for name, server in servers.items():
            bodies = [_checked_fetch(server, scenario, request) for request in requests]
            if scenario.writes:
                database.reset()
            if reference is None:
                reference = (name, bodies)
                continue
            reference_name, reference_bodies = reference
            for request, body, expected in zip(requests, bodies, reference_bodies):
                where = f"{scenario.name}: {request.method} {request.path}"
                if scenario.identity(body) != scenario.identity(expected):
                    raise BenchmarkError(
                        f"{where}: {name} and {reference_name} do different work:\n"
                        f"  {name}: {scenario.identity(body)}\n"
                        f"  {reference_name}: {scenario.identity(expected)}"
                    )
                difference = _first_difference(_comparable(body), _comparable(expected))
                if difference:
                    warnings.append(f"{where}: {name} differs from {reference_name} at {difference}")
    return warnings


def _checked_fetch(server: Server, scenario: Scenario, request: Any) -> Any:
    status, raw = fetch(server.host, server.port, request)
    if status != scenario.status:
        raise BenchmarkError(
            f"{server.contender} answered {status} to {request.method} {request.path} "
            f"(expected {scenario.status}): {raw[:500]!r}\nServer output:\n{server.output()}"
        )
    return json.loads(raw)


def _comparable(body: Any) -> Any:
    """Ids of created rows depend on the backend's sequence, not on the contender."""
    if isinstance(body, dict) and "items" not in body:
        return {key: value for key, value in body.items() if key != "id"}
    return body


def _first_difference(left: Any, right: Any, path: str = "$") -> str | None:
    """A JSON path where ``left`` and ``right`` differ, with both values; None if equal."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            if key not in left or key not in right:
                return f"{path}.{key} (present in only one)"
            found = _first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right)):
            found = _first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if left == right else f"{path}: {left!r} != {right!r}"
