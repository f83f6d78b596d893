"""The paired ratios run end to end (their values are never asserted)."""

from __future__ import annotations

import pytest

from benchmarks.paired import RATIOS, main


def test_a_small_run_prints_every_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rounds", "2", "--requests", "20", "--concurrency", "4"]) == 0
    printed = capsys.readouterr().out
    for name, _, _ in RATIOS:
        assert name in printed
