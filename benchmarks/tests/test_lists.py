"""The lists benchmark runs end to end on a small table (its timings are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.lists import main


def test_a_small_run_prints_every_measurement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rows", "300", "--requests", "1"]) == 0
    table = capsys.readouterr().out
    for line in (
        "order_by=id (default): keyset page at row 150",
        "order_by=score: offset page at row 150",
        "first page, count=planned where score < 500",
    ):
        assert line in table
