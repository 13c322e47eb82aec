"""The results file: one JSON document per run, the only input the renderer needs.

Layout (``SCHEMA`` names the version)::

    {"schema": "oracle-kernels-report/1",
     "synthetic": false,                     # true only in test fixtures, never in a committed report
     "environment": {"date": ..., "device": ..., "driver": ..., "torch": ..., "triton": ..., ...},
     "sections": {NAME: {"status": "ok" | "partial" | "skipped" | "error",
                         "notes": [str, ...],          # why something was skipped, peers missing, ...
                         "rows": [ROW, ...],
                         "autotune": [TUNING, ...]}}}  # optional: report.autotuning's log

A row is one measurement. Every row has ``impl`` and exactly one of ``ms`` (a time), ``error``
(the case raised) and ``skipped`` (why it was not run). On a GPU ``ms`` is the median milliseconds, with ``ms_p20``/``ms_p80`` for the spread; on the
CPU it is the minimum over ``rounds``, with ``ms_median``/``ms_max`` for the spread. Kernel rows carry
``rel_err``, the relative error of what was timed against float64 (None if it could not be
computed, "nan" or "inf" if it is not finite), and forward+backward rows ``peak_extra_bytes``
where device memory was measured.
Section-specific keys (shape, dtype, mode, minimal bytes and FLOPs) are listed in ``ROW_KEYS``.
Derived numbers (bandwidth, fractions of the ceilings, speedups) are not stored: the renderer
computes them from the rows, so a re-render can never disagree with the raw data.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

SCHEMA = "oracle-kernels-report/1"
SECTIONS = ("ceilings", "cross_entropy", "linear_act", "mlp_step", "cpu_reference")
STATUSES = ("ok", "partial", "skipped", "error")

# Keys every row of a section must have (besides impl and ms-or-error).
ROW_KEYS = {
    "ceilings": ("name",),
    "cross_entropy": ("n", "v", "dtype", "mode", "bytes"),
    "linear_act": ("m", "k", "n", "activation", "dtype", "mode", "bytes", "flops"),
    "mlp_step": ("batch", "layers", "device"),
    "cpu_reference": ("name",),
}
# The keys that identify a measurement: a later run's row with the same key replaces an earlier one.
ROW_ID = {
    "ceilings": ("name",),
    "cross_entropy": ("n", "v", "dtype", "mode", "impl"),
    "linear_act": ("m", "k", "n", "activation", "dtype", "mode", "impl"),
    "mlp_step": ("batch", "impl", "device"),
    "cpu_reference": ("name",),
}


# JSON has no NaN or infinity: a non-finite error is stored as one of these strings.
NON_FINITE = ("nan", "inf")


def finite_or_text(value):
    """``value`` if it is a finite float, else "nan" or "inf" (so a broken kernel's error is kept)."""
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else "inf"


def new_results(environment: dict) -> dict:
    """An empty results document for ``environment``; every section starts as skipped."""
    return {
        "schema": SCHEMA,
        "synthetic": False,
        "environment": dict(environment),
        "sections": {name: section("skipped", ["not run"]) for name in SECTIONS},
    }


def section(status: str, notes=(), rows=()) -> dict:
    """A section record; ``status`` is one of :data:`STATUSES`."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    return {"status": status, "notes": list(notes), "rows": list(rows)}


def section_status(rows: list) -> str:
    """"ok" when no row failed ("skipped" rows are not failures), else "partial"."""
    return "partial" if any("error" in r for r in rows) else "ok"


def _fail(where: str, what: str):
    raise ValueError(f"invalid results file: {where}: {what}")


def _check_number(value, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(where, f"expected a finite number, got {value!r}")


def validate(doc) -> dict:
    """Check ``doc`` against the schema and return it; ValueError naming the first bad field."""
    if not isinstance(doc, dict):
        _fail("top level", f"expected an object, got {type(doc).__name__}")
    if doc.get("schema") != SCHEMA:
        _fail("schema", f"expected {SCHEMA!r}, got {doc.get('schema')!r}")
    if not isinstance(doc.get("synthetic"), bool):
        _fail("synthetic", "expected true or false")
    env = doc.get("environment")
    if not isinstance(env, dict) or not isinstance(env.get("date"), str):
        _fail("environment", "expected an object with a 'date' string")
    sections = doc.get("sections")
    if not isinstance(sections, dict):
        _fail("sections", "expected an object")
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        _fail("sections", f"unknown section(s) {sorted(unknown)}; known: {list(SECTIONS)}")
    for name, sec in sections.items():
        where = f"sections.{name}"
        if not isinstance(sec, dict) or sec.get("status") not in STATUSES:
            _fail(where, f"expected an object with status in {STATUSES}")
        if not isinstance(sec.get("notes"), list) or not all(isinstance(n, str) for n in sec["notes"]):
            _fail(f"{where}.notes", "expected a list of strings")
        if not isinstance(sec.get("rows"), list):
            _fail(f"{where}.rows", "expected a list")
        for i, tuning in enumerate(sec.get("autotune", [])):
            if not (isinstance(tuning, dict) and isinstance(tuning.get("kernel"), str)
                    and isinstance(tuning.get("key"), list) and isinstance(tuning.get("best"), dict)
                    and isinstance(tuning.get("candidates"), list)):
                _fail(f"{where}.autotune[{i}]", "expected an object with kernel, key, best and candidates")
        for i, row in enumerate(sec["rows"]):
            rwhere = f"{where}.rows[{i}]"
            if not isinstance(row, dict):
                _fail(rwhere, "expected an object")
            for key in ("impl",) + ROW_KEYS[name]:
                if key not in row:
                    _fail(rwhere, f"missing key {key!r}")
            outcomes = [k for k in ("ms", "error", "skipped") if k in row]
            if len(outcomes) != 1:
                _fail(rwhere, f"expected exactly one of 'ms' (a time), 'error' (the case failed) or 'skipped' "
                              f"(why it was not run), got {outcomes or 'none'}")
            if "ms" in row:
                _check_number(row["ms"], f"{rwhere}.ms")
                if row["ms"] <= 0:
                    _fail(f"{rwhere}.ms", f"expected a positive time, got {row['ms']!r}")
            elif not isinstance(row.get("error", row.get("skipped")), str):
                _fail(rwhere, f"expected the reason for '{outcomes[0]}' as a string")
            for key in ("ms_p20", "ms_p80", "ms_median", "ms_max", "bytes", "flops", "peak_extra_bytes",
                        "inputs_bytes"):
                if key in row:
                    _check_number(row[key], f"{rwhere}.{key}")
            for key in ("rel_err", "loss"):  # computed values: a broken kernel may make them non-finite
                if row.get(key) is not None and row[key] not in NON_FINITE:
                    _check_number(row[key], f"{rwhere}.{key}")
    return doc


def save(doc: dict, path) -> None:
    """Validate and write ``doc`` as indented JSON (stable key order, so diffs stay readable)."""
    validate(doc)
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def load(path) -> dict:
    """Read and validate a results file."""
    try:
        doc = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid results file {path}: not JSON ({e})") from None
    return validate(doc)


def merge(docs: list) -> dict:
    """Combine the results of several runs on ONE device (e.g. sections split over several calls).

    Rows are keyed by :data:`ROW_ID`; a later document's row replaces an earlier one with the same
    key, and a section that ran replaces one that was skipped. Mixing devices is refused: ratios
    between numbers from different cards would mean nothing.
    """
    if not docs:
        raise ValueError("merge needs at least one results document")
    devices = {d["environment"].get("device") for d in docs if d["environment"].get("device")}
    if len(devices) > 1:
        raise ValueError(f"cannot merge results from different devices: {sorted(devices)}")
    out = json.loads(json.dumps(docs[0]))
    out["synthetic"] = any(d["synthetic"] for d in docs)
    runs = [d["environment"] for d in docs]
    # The environment of the run that had the device describes the GPU rows.
    out["environment"] = dict(next((e for e in runs if e.get("device")), runs[-1]))
    if len(docs) > 1:
        out["environment"]["merged_from"] = [e["date"] for e in runs]
    for doc in docs[1:]:
        for name, sec in doc["sections"].items():
            mine = out["sections"].setdefault(name, section("skipped", ["not run"]))
            if sec["status"] == "skipped":
                continue
            if mine["status"] == "skipped":
                out["sections"][name] = json.loads(json.dumps(sec))
                continue
            rows = {tuple(r.get(k) for k in ROW_ID[name]): r for r in mine["rows"]}
            rows.update({tuple(r.get(k) for k in ROW_ID[name]): r for r in sec["rows"]})
            mine["rows"] = list(rows.values())
            mine["notes"] = list(dict.fromkeys(mine["notes"] + sec["notes"]))
            if "autotune" in sec:
                mine["autotune"] = mine.get("autotune", []) + sec["autotune"]
            mine["status"] = "ok" if mine["status"] == sec["status"] == "ok" else "partial"
    return validate(out)
