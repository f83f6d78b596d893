"""Turn measurements into the JSON record and the markdown tables.

    summary = summarize(samples)                       # medians, ranges, ratios
    text = render_markdown(results)                    # results = the JSON document
    json_path, md_path = write(results, results_dir)
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from .contenders import BASELINE, FASTEST
from .loadgen import LoadResult

__all__ = ["render_markdown", "summarize", "write"]


def summarize(samples: dict[str, dict[str, list[LoadResult]]]) -> dict[str, Any]:
    """Per scenario and contender: median req/s, its min-max, median p99, errors, and the
    ratio of each contender's median to the baseline's (and to the fastest contender's, when
    it ran) median from the same run."""
    summary: dict[str, Any] = {}
    for scenario, by_contender in samples.items():
        rows: dict[str, Any] = {}
        for contender, rounds in by_contender.items():
            rates = [result.rps for result in rounds]
            rows[contender] = {
                "median_rps": statistics.median(rates),
                "min_rps": min(rates),
                "max_rps": max(rates),
                "p99_ms": statistics.median(result.p99_ms for result in rounds),
                "errors": sum(result.non_2xx + result.errors for result in rounds),
                "rounds": [
                    {
                        "rps": result.rps,
                        "requests": result.requests,
                        "seconds": result.seconds,
                        "p50_ms": result.p50_ms,
                        "p99_ms": result.p99_ms,
                        "non_2xx": result.non_2xx,
                        "errors": result.errors,
                    }
                    for result in rounds
                ],
            }
        baseline, fastest = rows.get(BASELINE), rows.get(FASTEST)
        for row in rows.values():
            row["ratio"] = row["median_rps"] / baseline["median_rps"] if baseline else None
            row["vs_fastest"] = row["median_rps"] / fastest["median_rps"] if fastest else None
        summary[scenario] = rows
    return summary


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# restly benchmarks — {meta['timestamp']}",
        "",
        f"Backend **{meta['backend']}**"
        f"{' through PgBouncer (transaction pooling)' if meta.get('pgbouncer') else ''}, "
        f"{meta.get('workers', 1)} uvicorn worker(s) per contender, {meta['rounds']} rounds × {meta['duration_s']} s "
        f"(+{meta['warmup_s']} s warm-up), {meta['concurrency']} connections, "
        f"load generator `{meta['loadgen']}`, server CPUs {meta['server_cpus']}, "
        f"load CPUs {meta['loadgen_cpus']}.  ",
        f"Python {meta['python']}, {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}.",
    ]
    if results["throughput"]:
        lines += [
            "",
            "## Throughput",
            "",
            f"| scenario | contender | req/s (median) | min–max | p99 ms | errors | vs {BASELINE} "
            f"| vs {FASTEST} |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for scenario, rows in results["throughput"].items():
            for contender, row in rows.items():
                lines.append(
                    f"| {scenario} | {contender} | {row['median_rps']:.0f} | "
                    f"{row['min_rps']:.0f}–{row['max_rps']:.0f} | {row['p99_ms']:.1f} | "
                    f"{row['errors']} | {_times(row['ratio'])} | {_times(row.get('vs_fastest'))} |"
                )
        lines += _idempotency_cost(results["throughput"])
        lines += ["", "| server | peak RSS MB |", "|---|---:|"]
        lines += [
            f"| {name} | {'n/a' if mb is None else f'{mb:.1f}'} |"
            for name, mb in results["server_peak_rss_mb"].items()
        ]
    if results["startup"]:
        lines += [
            "",
            "## Startup (import + declare + mount + first `openapi()`, fresh process, median)",
            "",
            "| contender | resources | total s | import | declare | mount | openapi | "
            "process wall s | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for contender, by_size in results["startup"].items():
            for size, row in by_size.items():
                if "error" in row:
                    lines.append(f"| {contender} | {size} | **FAILED** (see Failures) |||||||")
                    continue
                lines.append(
                    f"| {contender} | {size} | {row['total_s']:.3f} | {row['import_s']:.3f} | "
                    f"{row['declare_s']:.3f} | {row['mount_s']:.3f} | {row['openapi_s']:.3f} | "
                    f"{row['wall_s']:.3f} | {row['peak_rss_mb']:.0f} |"
                )
    if results.get("failures"):
        lines += ["", "## Failures", ""] + [f"- {failure}" for failure in results["failures"]]
    if results["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {warning}" for warning in results["warnings"]]
    return "\n".join(lines) + "\n"


def _times(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}×"


def _idempotency_cost(throughput: dict[str, Any]) -> list[str]:
    """What a new ``Idempotency-Key`` costs each restly contender: ``create_keyed`` against
    its own plain ``create`` of the same run (the baseline ignores the header)."""
    plain, keyed = throughput.get("create"), throughput.get("create_keyed")
    if not plain or not keyed:
        return []
    lines = ["", "| Idempotency-Key cost | create_keyed ÷ create |", "|---|---:|"]
    for contender, row in keyed.items():
        if contender != BASELINE and contender in plain and plain[contender]["median_rps"]:
            lines.append(f"| {contender} | {row['median_rps'] / plain[contender]['median_rps']:.2f}× |")
    return lines


def write(results: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """Write ``<timestamp>.json`` and ``latest.md`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{results['meta']['timestamp']}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    markdown_path = directory / "latest.md"
    markdown_path.write_text(render_markdown(results))
    return json_path, markdown_path
