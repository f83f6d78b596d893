"""The paired ratios run end to end (their values are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.paired import RATIO_SETS


@pytest.mark.parametrize("name", list(RATIO_SETS))
def test_a_small_run_prints_every_ratio(name: str) -> None:
    # A process of its own: the contenders' engines belong to the event loop of one run.
    command = [sys.executable, "-m", "benchmarks.paired", "--set", name]
    command += ["--rounds", "2", "--requests", "20", "--concurrency", "4"]
    done = subprocess.run(
        command, cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for ratio, _, _ in RATIO_SETS[name]:
        assert ratio in done.stdout
