"""The CPU benchmarks of the reference: report/benchmarks run by pytest-benchmark, read back as rows.

They run in a subprocess exactly as documented (``python -m pytest report/benchmarks
--benchmark-enable``), so the report shows the numbers anyone gets from that command.
``quick`` sets REPORT_BENCH_QUICK=1: smaller batches and a partial epoch, and fewer rounds.
Each row's time is the minimum over the rounds (other processes only ever add time), with the
median and maximum as its spread; pytest's own lines are passed on as they come, so the ~15 s
this takes show progress.
"""
from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .environment import REPO

TIMEOUT_S = 1800


def command(json_path, quick: bool) -> list:
    cmd = [sys.executable, "-m", "pytest", "report/benchmarks", "-v", "-p", "no:cacheprovider",
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
                     "ms": stats["min"] * 1e3, "ms_median": stats["median"] * 1e3, "ms_max": stats["max"] * 1e3,
                     "rounds": stats["rounds"]})
    return rows


def _run_streaming(cmd: list, env: dict, progress) -> tuple:
    """Run ``cmd`` in the repository, naming each benchmark as pytest finishes it; returns (exit
    status, the last 5 lines of its output)."""
    tail = collections.deque(maxlen=5)
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        timer = threading.Timer(TIMEOUT_S, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                tail.append(line.rstrip())
                if "::" in line and ("PASSED" in line or "FAILED" in line or "ERROR" in line):
                    # on the case's line: "test_mlp_forward PASSED [ 25%]" -> "test_mlp_forward"
                    print(line.split("::", 1)[1].split()[0], end=" ", file=progress.stream, flush=True)
        finally:
            timer.cancel()
    return proc.returncode, list(tail)


def run(progress, *, quick: bool) -> dict:
    """Run the benchmarks; returns the section record (status error, with pytest's tail, on failure)."""
    progress.start_case("pytest-benchmark report/benchmarks (reference on the CPU)")
    env = dict(os.environ, REPORT_BENCH_QUICK="1" if quick else "0")
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "benchmarks.json"
        returncode, tail = _run_streaming(command(json_path, quick), env, progress)
        if returncode != 0 or not json_path.exists():
            progress.end_case("FAILED")
            return {"status": "error", "notes": [f"pytest exited with {returncode}: " + " | ".join(tail)],
                    "rows": []}
        rows = rows_from_json(json.loads(json_path.read_text()))
    progress.end_case(f"{len(rows)} benchmarks")
    notes = ["quick run: smaller workloads and single rounds (REPORT_BENCH_QUICK=1)"] if quick else []
    return {"status": "ok", "notes": notes, "rows": rows}
