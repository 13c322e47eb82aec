"""The CPU benchmarks of the reference: report/benchmarks run by pytest-benchmark, read back as rows.

They run in a subprocess exactly as documented (``python -m pytest report/benchmarks
--benchmark-enable``), so the report shows the numbers anyone gets from that command.
``quick`` sets REPORT_BENCH_QUICK=1: smaller batches and a partial epoch, and fewer rounds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .environment import REPO

TIMEOUT_S = 1800


def command(json_path, quick: bool) -> list:
    cmd = [sys.executable, "-m", "pytest", "report/benchmarks", "-q", "-p", "no:cacheprovider",
           "--benchmark-enable", f"--benchmark-json={json_path}"]
    if quick:
        cmd += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.05", "--benchmark-warmup=off"]
    return cmd


def rows_from_json(data: dict) -> list:
    """One row per benchmark from pytest-benchmark's JSON (times in seconds there, ms here)."""
    rows = []
    for bench in data["benchmarks"]:
        stats = bench["stats"]
        rows.append({"name": bench["name"], "impl": "reference",
                     "description": bench.get("extra_info", {}).get("description", ""),
                     "ms": stats["median"] * 1e3, "ms_min": stats["min"] * 1e3, "rounds": stats["rounds"]})
    return rows


def run(progress, *, quick: bool) -> dict:
    """Run the benchmarks; returns the section record (status error, with pytest's tail, on failure)."""
    progress.start_case("pytest-benchmark report/benchmarks (reference on the CPU)")
    env = dict(os.environ, REPORT_BENCH_QUICK="1" if quick else "0")
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "benchmarks.json"
        proc = subprocess.run(command(json_path, quick), cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S)
        if proc.returncode != 0 or not json_path.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            progress.end_case("FAILED")
            return {"status": "error", "notes": [f"pytest exited with {proc.returncode}: " + " | ".join(tail)],
                    "rows": []}
        rows = rows_from_json(json.loads(json_path.read_text()))
    progress.end_case(f"{len(rows)} benchmarks")
    notes = ["quick run: smaller workloads and single rounds (REPORT_BENCH_QUICK=1)"] if quick else []
    return {"status": "ok", "notes": notes, "rows": rows}
