"""The runner fails loudly, writes nothing, when a contender breaks; reports render."""

from __future__ import annotations

import pytest

from benchmarks import contenders
from benchmarks.loadgen import LoadResult
from benchmarks.report import render_markdown, summarize
from benchmarks.run import main
from benchmarks.startup import run_once
from benchmarks.throughput import BenchmarkError, _first_difference, check_result
from benchmarks.scenarios import SCENARIOS


class _FakeServer:
    def check_alive(self) -> None:
        pass

    def output(self) -> str:
        return "Traceback: boom"


def _result(**changes: object) -> LoadResult:
    values = {"requests": 10, "seconds": 1.0, "non_2xx": 0, "errors": 0, "p50_ms": 1.0, "p99_ms": 2.0}
    return LoadResult(**{**values, **changes})


def _results(**parts: object) -> dict[str, object]:
    """A results document as ``run.main`` writes it, with ``parts`` filled in."""
    meta = {
        "timestamp": "t", "backend": "sqlite", "rounds": 2, "duration_s": 1, "warmup_s": 1,
        "concurrency": 16, "loadgen": "python", "server_cpus": [0], "loadgen_cpus": [1],
        "python": "3", "versions": {"fastapi": "x"},
    }  # fmt: skip
    empty = {"throughput": {}, "server_peak_rss_mb": {}, "startup": {}, "failures": [], "warnings": []}
    return {"meta": meta, **empty, **parts}


def test_check_result_rejects_non_2xx_errors_and_empty_runs():
    check_result(_result(), "c", SCENARIOS["get"], _FakeServer())
    for bad in (_result(non_2xx=1, first_bad_status=500), _result(errors=1), _result(requests=0)):
        with pytest.raises(BenchmarkError, match="Traceback: boom"):
            check_result(bad, "c", SCENARIOS["get"], _FakeServer())


@pytest.mark.parametrize("loadgen", ["python", "wrk"])
def test_runner_fails_loudly_when_a_contender_breaks_under_load(loadgen, tmp_path, monkeypatch, capsys):
    from benchmarks.wrk import wrk_available

    if loadgen == "wrk" and not wrk_available():
        pytest.skip("wrk not installed")
    monkeypatch.setitem(contenders.CONTENDERS, "handwritten", "benchmarks.tests.flaky_app")
    argv = ["--quick", "--scenarios", "get", "--contenders", "handwritten", "--loadgen", loadgen,
            "--results-dir", str(tmp_path / "results"), "--duration", "0.5", "--warmup", "0.5"]  # fmt: skip
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert "BENCHMARK FAILED" in error
    assert "non-2xx (first: 500)" in error
    assert not (tmp_path / "results").exists()


def test_summary_ratio_and_markdown():
    samples = {"get": {"handwritten": [_result(requests=100), _result(requests=120)],
                       "restly_async": [_result(requests=90), _result(requests=110)]}}  # fmt: skip
    summary = summarize(samples)
    assert summary["get"]["restly_async"]["ratio"] == pytest.approx(100 / 110)
    assert summary["get"]["handwritten"]["min_rps"] == 100
    text = render_markdown(
        _results(throughput=summary, server_peak_rss_mb={"handwritten": 100.0, "restly_async": None})
    )
    assert "| get | restly_async | 100 | 90–110 |" in text
    assert "0.91×" in text


def test_first_difference_names_the_path():
    assert _first_difference({"a": [1, {"b": 2}]}, {"a": [1, {"b": 3}]}) == "$.a[1].b: 2 != 3"
    assert _first_difference({"a": 1}, {"a": 1}) is None


def test_startup_probe_builds_the_handwritten_app():
    timings = run_once("handwritten", 3)
    assert set(timings) >= {"import_s", "declare_s", "mount_s", "openapi_s", "total_s"}


def test_failed_startup_cells_are_listed_not_measured():
    from benchmarks.startup import startup_failures

    startup = {"restly_async": {"10": {"error": "KeyError: page"}}}
    assert startup_failures(startup) == [
        "startup of restly_async with 10 resources failed: KeyError: page"
    ]
    text = render_markdown(_results(startup=startup, failures=startup_failures(startup)))
    assert "| restly_async | 10 | **FAILED** (see Failures) |" in text
    assert "- startup of restly_async with 10 resources failed: KeyError: page" in text



def test_startup_probes_load_every_contender_from_compiled_bytecode(tmp_path):
    # As from an installed package: neither contender's own modules may be compiled from
    # source in each timed process (this machine sets PYTHONDONTWRITEBYTECODE).
    from benchmarks.server import REPO_ROOT
    from benchmarks.startup import _probe, bytecode_cached_env

    env = bytecode_cached_env(str(tmp_path))
    assert "PYTHONDONTWRITEBYTECODE" not in env
    for contender in ("restly_async", "handwritten"):
        completed = _probe(contender, 1, str(REPO_ROOT), env)
        assert completed.returncode == 0, completed.stderr
    # The cache mirrors each source's absolute path: <prefix>/<path>/<module>.cpython-3XY.pyc
    cached = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.pyc")}
    root = REPO_ROOT.as_posix().lstrip("/")
    for module in ("restly/__init__", "restly/views/_rest", "benchmarks/contenders/crud"):
        assert any(path.startswith(f"{root}/{module}.cpython") for path in cached), module


@pytest.mark.postgres
def test_a_run_through_pgbouncer_with_two_workers_says_so(fresh_postgres_database, tmp_path, capsys):
    from benchmarks.wrk import wrk_available
    from tests.conftest import skip_or_fail

    if not wrk_available():
        skip_or_fail("wrk is not installed (Debian: apt-get install wrk)")
    argv = ["--quick", "--backend", "postgresql", "--pgbouncer", "--workers", "2",
            "--scenarios", "get,create", "--contenders", "handwritten,restly_async",
            "--results-dir", str(tmp_path), "--duration", "0.5", "--warmup", "0.5"]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    import json

    (written,) = tmp_path.glob("*.json")
    results = json.loads(written.read_text())
    assert results["meta"]["workers"] == 2 and results["meta"]["pgbouncer"] is True
    assert results["meta"]["server_cpus"] == "unpinned"
    for scenario in ("get", "create"):
        for contender in ("handwritten", "restly_async"):
            assert results["throughput"][scenario][contender]["median_rps"] > 0
    # Peak memory sums the processes: two workers with the app loaded (each ~80 MB or more
    # here) and the supervisor; one worker alone stays well under 120 MB.
    assert all(peak > 120 for peak in results["server_peak_rss_mb"].values())
    assert "through PgBouncer (transaction pooling), 2 uvicorn worker(s)" in capsys.readouterr().out


@pytest.mark.postgres
def test_a_run_needing_more_connections_than_postgresql_accepts_fails_before_starting(
    fresh_postgres_database, tmp_path, monkeypatch, capsys
):
    # The pools of every contender's server are open at once; past max_connections a run
    # used to fail half-way with "too many clients" 500s. Now it stops before any server.
    import benchmarks.run
    import benchmarks.server
    from benchmarks.dataset import Database

    free = Database.create("postgresql", tmp_path).free_connections()
    assert free is not None and 0 < free <= 10_000
    monkeypatch.setattr(benchmarks.server, "POOL_SIZE", free)  # two contenders: 2 × free
    monkeypatch.setattr(benchmarks.run, "run_throughput", pytest.fail)  # nothing may start
    argv = ["--quick", "--backend", "postgresql", "--scenarios", "get",
            "--contenders", "handwritten,restly_async", "--results-dir", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 1
    error = capsys.readouterr().err
    assert "BENCHMARK FAILED" in error
    assert f"2 contenders × {free} pooled connections + 1 for the runner need {2 * free + 1}" in error
    assert "Run fewer contenders at once" in error
    assert not (tmp_path / "out").exists()

