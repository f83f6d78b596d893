"""restly ships ``py.typed``: mypy, configured in pyproject.toml, passes on the package.

mypy runs as a user runs it, in a subprocess from the repository root, with a cache of its
own so that the result never depends on an earlier run (cold, it takes about 15-20 s).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300.0


def test_mypy_passes_on_the_package(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(tmp_path / "mypy_cache"),
        "restly",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mypy found problems (exit {result.returncode}):\n{output}"
    assert "Success: no issues found" in result.stdout, output
