"""The conformance report: one Markdown and one JSON file per backend.

Each row is an operation x dtype with its status (pass, fail, not implemented, expected failure,
unexpected pass), the examples tried, the worst observed error as a fraction of the tolerance
bound and the time taken. Failures follow with their minimal example and a reproducing snippet.
"""
from __future__ import annotations

import json
import math
import platform
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import hypothesis

STATUSES = ("pass", "fail", "improbable", "not implemented", "expected failure", "unexpected pass")


def environment() -> dict:
    """Versions and device, for the report header."""
    env = {"python": platform.python_version(), "platform": platform.platform(), "hypothesis": hypothesis.__version__}
    for name in ("torch", "triton"):  # versions of what the backends loaded (nothing is imported here)
        module = sys.modules.get(name)
        if module is not None:
            env[name] = getattr(module, "__version__", "?")
    torch = sys.modules.get("torch")
    if torch is not None:
        env["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return env


def summary(results) -> dict:
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r.status] += 1
    return counts


def _ratio(r) -> str:
    if r.worst_ratio is None:
        return ""
    if not math.isfinite(r.worst_ratio):
        return "inf"
    return f"{r.worst_ratio:.2g}"


def _bands(r) -> str:
    def fmt(x):
        return "inf" if not math.isfinite(x) else f"{x:.2g}"
    return ", ".join(f"{band} {fmt(v['worst'])}" + (f"/{fmt(v['probable'])}" if "probable" in v else "")
                     for band, v in r.bands.items() if "worst" in v)


def file_stem(backend: str) -> str:
    """A file name for a backend name or spec (``pkg.mod:Name`` -> ``pkg.mod-Name``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", backend)


# Longer reproducers (large minimal examples) go to files of their own next to the report.
INLINE_REPRODUCER = 4000


def reproducer_path(backend: str, result, directory=Path(".")) -> Path:
    return Path(directory) / f"{file_stem(backend)}-{file_stem(result.id)}.py"


def markdown(backend: str, results, meta: dict) -> str:
    counts = summary(results)
    lines = [
        f"# Conformance report: `{backend}`",
        "",
        f"Profile `{meta['profile']}`, {meta['date']}; "
        + ", ".join(f"{k} {v}" for k, v in meta["environment"].items()) + ".",
        "",
        "Worst error is max |got - expected| / bound over every element of every example: below 1 passes,",
        "and a small value means the backend is that much more accurate than the tolerance model requires",
        "(conformance/TOLERANCE.md).",
        "",
        "**" + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + "**",
        "",
        "By size: the worst ratio per band of the largest dimension, worst-case bound / probable bound",
        "(random boundary cases; \"improbable\" fails it) where it was measured.",
        "",
        "| operation | dtype | status | examples | worst error / bound | by size | seconds |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    for r in results:
        examples = f"{r.examples}" + (f" (+{r.skipped} declined)" if r.skipped else "")
        lines.append(f"| `{r.op}` | {r.dtype} | {r.status} | {examples} | {_ratio(r)} | {_bands(r)} | {r.seconds:.1f} |")
    failures = [r for r in results if r.status in ("fail", "improbable", "expected failure")]
    if failures:
        lines += ["", "## Failures", ""]
        for r in failures:
            lines += [f"### `{r.id}` ({r.status})", "", r.message, ""]
            if r.reproducer and len(r.reproducer) <= INLINE_REPRODUCER:
                lines += ["```python", r.reproducer.rstrip(), "```", ""]
            elif r.reproducer:
                lines += [f"Reproducer (too long to show): `{reproducer_path(backend, r).name}`.", ""]
    return "\n".join(lines) + "\n"


def write(results, directory, profile: str) -> list[Path]:
    """Write ``<backend>.md`` and ``<backend>.json`` under ``directory`` (and the reproducers too
    long to show inline as ``<backend>-<test id>.py``); returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"profile": profile, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "environment": environment()}
    paths = []
    by_backend: dict = {}
    for r in results:
        by_backend.setdefault(r.backend, []).append(r)
    for backend, rows in by_backend.items():
        stem = directory / file_stem(backend)
        md, js = stem.with_suffix(".md"), stem.with_suffix(".json")
        md.write_text(markdown(backend, rows, meta), encoding="utf-8")
        for r in rows:
            if len(r.reproducer) > INLINE_REPRODUCER:
                path = reproducer_path(backend, r, directory)
                path.write_text(r.reproducer, encoding="utf-8")
                paths.append(path)
        payload = {**meta, "backend": backend, "summary": summary(rows),
                   "results": [{k: v for k, v in r.to_json().items() if k != "case"} for r in rows]}
        js.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        paths += [md, js]
    return paths
