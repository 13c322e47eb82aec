"""The conformance report: one Markdown and one JSON file per backend.

The header gives the counts, the device and whether Triton's interpreter ran. Each row is an
operation x dtype with its status, the examples tried, the worst observed error as a fraction of
the tolerance bound and the time taken: failures (fail, improbable, unexpected pass) first, then
expected failures, then passes; the operations not implemented fold into one line, the checks not
meaningful here (a format Triton's CPU interpreter computes wrongly) into one per dtype, the examples
the backend declined into one line per reason. Failures follow, each failing option class with its
message and a reproducing snippet, and the worst case met where shrinking ended at a milder one.
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

from . import interpreter, option_classes
from .runner import MAX_FAILING_CLASSES

STATUSES = ("pass", "fail", "improbable", "not implemented", "not meaningful", "expected failure", "unexpected pass")
FOLDED = ("not implemented", "not meaningful")  # summarized below the table, not a row each


def environment() -> dict:
    """Versions and device, for the report header. ``triton_interpreter``: whether Triton's kernels
    ran under its CPU interpreter (TRITON_INTERPRET=1, read when they were defined) rather than
    compiled for a GPU; present only when triton was loaded."""
    env = {"python": platform.python_version(), "platform": platform.platform(), "hypothesis": hypothesis.__version__}
    for name in ("torch", "triton"):  # versions of what the backends loaded (nothing is imported here)
        module = sys.modules.get(name)
        if module is not None:
            env[name] = getattr(module, "__version__", "?")
    torch = sys.modules.get("torch")
    env["device"] = torch.cuda.get_device_name(0) if torch is not None and torch.cuda.is_available() else "cpu"
    if "triton" in sys.modules:
        env["triton_interpreter"] = interpreter.active()
    return env


def _device_line(env: dict) -> str:
    line = f"Device: **{env.get('device', 'cpu')}**"
    if "triton_interpreter" in env:
        line += ("; Triton's kernels ran under its CPU interpreter (TRITON_INTERPRET=1: correctness only, "
                 "no GPU code generation checked)" if env["triton_interpreter"] else
                 "; Triton's kernels were compiled for the GPU")
    return line + "."


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


def reproducer_path(backend: str, result, directory=Path("."), kind: str = "") -> Path:
    return Path(directory) / f"{file_stem(backend)}-{file_stem(result.id)}{'-' + kind if kind else ''}.py"


def long_reproducers(backend: str, result, directory) -> dict:
    """{path: code} for the reproducers of ``result`` too long to show inline."""
    codes = [(f"{i}" if i else "", f["reproducer"]) for i, f in enumerate(result.failures)]
    codes = (codes or [("", result.reproducer)]) + [("worst", result.worst_reproducer)]
    return {reproducer_path(backend, result, directory, kind): code for kind, code in codes
            if len(code) > INLINE_REPRODUCER}


# Row order: what needs attention first, then the passes.
_ORDER = {"fail": 0, "improbable": 0, "unexpected pass": 0, "expected failure": 1, "pass": 2}


def _reason(message: str) -> str:
    """The reason of a "not implemented" message without its per-check detail (counts, method)."""
    if message.startswith("no method"):
        return "no method"
    return re.sub(r"^the backend declined all \d+ examples tried", "declined every example", message)


def _not_implemented(results) -> list[str]:
    """The operations the backend lacks, one line per reason: each id once, with its dtypes unless all."""
    dtypes = list(dict.fromkeys(r.dtype for r in results))
    by_reason: dict = {}
    for r in results:
        if r.status == "not implemented":
            by_reason.setdefault(_reason(r.message), {}).setdefault(r.op, []).append(r.dtype)
    if not by_reason:
        return []
    n = sum(len(ds) for missing in by_reason.values() for ds in missing.values())
    lines = ["", f"**Not implemented** ({n} checks; an operation the backend has no method for, or whose every "
             "example it declined, is not a failure):"]
    for reason, missing in by_reason.items():
        names = [f"`{op}`" + ("" if ds == dtypes else f" ({', '.join(ds)})") for op, ds in missing.items()]
        lines.append(f"- {reason}: " + ", ".join(names) + ".")
    return lines


def _declined(results) -> list[str]:
    """The reasons the backend gave for the examples it declined (options it does not support, a
    difference of semantics its adapter states), with the checks they came from."""
    reasons: dict = {}
    for r in results:
        for reason, n in r.declined.items():
            entry = reasons.setdefault(reason, [0, []])
            entry[0] += n
            entry[1].append(r.id)
    if not reasons:
        return []
    lines = ["", "**Declined examples**, by the reason the backend gave (not failures):"]
    for reason, (n, ids) in reasons.items():
        shown = ", ".join(f"`{i}`" for i in ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
        lines.append(f"- {reason} ({n} examples: {shown})")
    return lines


def _failure_lines(backend: str, r) -> list[str]:
    """A failing check: each failing option class with its message and reproducer, then the worst
    case met where shrinking ended at a milder one."""
    lines = [f"### `{r.id}` ({r.status})", ""]
    failures = r.failures or [{"option_class": [], "message": r.message, "reproducer": r.reproducer}]
    for i, f in enumerate(failures):
        if len(failures) > 1 or f["option_class"]:
            lines += [f"**{option_classes.describe(tuple(f['option_class']))}**"
                      + (option_classes.SPECIAL_NOTE if option_classes.SPECIAL in f["option_class"] else "") + ":", ""]
        lines += [f["message"], ""] + _snippet(backend, r, f["reproducer"], str(i) if i else "")
    last = failures[-1]["option_class"]
    if last and len(failures) < MAX_FAILING_CLASSES:
        lines += ["Every other example passed (the search went on without the classes above).", ""]
    if r.worst_reproducer:
        lines += [f"Worst case met ({_ratio(r)} x the bound; the example above is where shrinking ended):", ""]
        lines += _snippet(backend, r, r.worst_reproducer, "worst")
    return lines


def _snippet(backend: str, r, code: str, kind: str = "") -> list[str]:
    if not code:
        return []
    if len(code) <= INLINE_REPRODUCER:
        return ["```python", code.rstrip(), "```", ""]
    return [f"Reproducer (too long to show): `{reproducer_path(backend, r, kind=kind).name}`.", ""]


def _not_meaningful(results) -> list[str]:
    """One line per dtype whose checks were not run because their results would not be meaningful
    here (Triton's interpreter computing that format wrongly), with the reason."""
    reasons: dict = {}
    for r in results:
        if r.status == "not meaningful":
            reasons.setdefault(r.dtype, [r.message, 0])[1] += 1
    return [line for dtype, (reason, n) in reasons.items()
            for line in ("", f"**Not meaningful here** ({n} checks in {dtype}, not run): {reason}.")]


def markdown(backend: str, results, meta: dict) -> str:
    counts = summary(results)
    env = dict(meta["environment"])
    lines = [
        f"# Conformance report: `{backend}`",
        "",
        "**" + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + f"** (profile `{meta['profile']}`).",
        "",
        _device_line(env),
        f"{meta['date']}; " + ", ".join(f"{k} {v}" for k, v in env.items()
                                         if k not in ("device", "triton_interpreter")) + ".",
        "",
        "Worst error is max |got - expected| / bound over every element of every example: below 1 passes,",
        "and a small value means the backend is that much more accurate than the tolerance model requires",
        "(conformance/TOLERANCE.md). By size: the worst ratio per band of the largest dimension,",
        "worst-case bound / probable bound (random boundary cases; \"improbable\" fails it) where measured.",
        "\"+k declined\": examples the backend declined by raising NotImplementedError for their arguments",
        "(an option it does not support); they are neither passes nor failures. Failures first, then passes.",
        "",
        "| operation | dtype | status | examples | worst error / bound | by size | seconds |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    shown = sorted((r for r in results if r.status not in FOLDED), key=lambda r: _ORDER[r.status])
    for r in shown:
        examples = f"{r.examples}" + (f" (+{r.skipped} declined)" if r.skipped else "")
        status = f"**{r.status}**" if _ORDER[r.status] == 0 else r.status
        lines.append(f"| `{r.op}` | {r.dtype} | {status} | {examples} | {_ratio(r)} | {_bands(r)} | {r.seconds:.1f} |")
    lines += _not_implemented(results) + _not_meaningful(results) + _declined(results)
    failures = [r for r in shown if _ORDER[r.status] < 2]
    if failures:
        lines += ["", "## Failures", ""]
        for r in failures:
            lines += _failure_lines(backend, r)
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
        # not with_suffix: "torch.compile" would lose ".compile" and overwrite torch's reports
        md, js = directory / f"{file_stem(backend)}.md", directory / f"{file_stem(backend)}.json"
        md.write_text(markdown(backend, rows, meta), encoding="utf-8")
        for r in rows:
            for path, code in long_reproducers(backend, r, directory).items():
                path.write_text(code, encoding="utf-8")
                paths.append(path)
        payload = {**meta, "backend": backend, "summary": summary(rows),
                   "results": [{k: v for k, v in r.to_json().items() if k != "case"} for r in rows]}
        js.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        paths += [md, js]
    return paths
