"""Golden test vectors: the suite's cases as JSON files, and a stdin/stdout protocol to check any program.

``python -m conformance export DIR [--size small|large]`` writes, for every operation and dtype
(float64 and float32 by default), ``DIR/<dtype>/<operation>.json`` with cases drawn from fixed
seeds (small: at most 4 rows and 12 features, about 1 MB; large adds the suite's boundary cases:
reductions and class counts of 2^k - 1, 2^k, 2^k + 1 up to 4097, up to 1025 rows, the target or
largest logit at a block's end, NaN, ±inf and subnormal inputs; float32 only unless asked, about
30 MB), and this text as
``DIR/FORMAT.md``. conformance/vectors/ holds the small set. ``python -m conformance check-vectors DIR --command "CMD"`` runs CMD once per
file, feeds it the file's cases on stdin and checks what it prints, like the in-process suite.

Vector files
------------
One JSON object per file::

    {"format": "conformance-vectors/1", "op": "softmax", "dtype": "float32",
     "summary": "...", "arguments": ["x"], "array_arguments": ["x"], "results": ["y"],
     "unit_roundoff": {"storage": 5.96e-08, "compute": 5.96e-08},
     "cases": [{"arguments": {"x": [[0.5, -1.0]]}, "expected": {"y": [[0.81, 0.18]]},
                "bound": {"y": [[1.1e-07, 4.2e-08]]}}, ...]}

``arguments`` holds every argument by name: arrays (named in ``array_arguments``) as nested lists,
row-major, or a number for a 0-d array; options as numbers, strings, lists of strings, or for
optimizers a dict; an absent optional array (no bias, no class weights) is null, an absent option
takes the operation's default (that of the ``reference`` function of the same name). Inputs are
exactly representable in ``dtype``. ``expected`` is the float64 oracle's result, ``bound`` the
largest acceptable |result - expected| per element (the tolerance model for ``dtype``,
conformance/TOLERANCE.md). Non-finite numbers are the strings "inf", "-inf",
"nan"; an expected non-finite value must be reproduced exactly. A result may be null (dbias
without a bias). A case with random inputs may also carry ``probable_bound``, a tighter bound a
correct implementation meets with overwhelming probability (error growing like √n, not n; a
result beyond it is reported as "improbable", a failure); for a case of small integers, whose
result is exact, ``bound`` is the distance of the expected value to its correctly rounded one.

Protocol of check-vectors
-------------------------
The program reads requests from stdin until end of file and answers each, in order, on stdout.
Everything is whitespace-separated tokens (line breaks are only for readability), so a C program
can read it with ``scanf("%s")`` and ``scanf("%lf")``. A request::

    request <operation> <dtype>
    option <name> <count> <token> ...       (strings, numbers, true/false; dict options flattened)
    array <name> <ndim> <dim_1> ... <dim_ndim> <value> ...   (prod(dims) values, row-major;
                                                              ndim 0: one value)
    end

with the options and arrays in the order of the file's ``arguments`` (absent ones omitted). The
answer is either ``unsupported`` (the operation is reported as not implemented), or::

    result
    array <name> <ndim> <dims> <values>     (one per result, named as the file's ``results``)
    end

Numbers are printed with 17 significant digits (``%.17g``); ``inf``, ``-inf``, ``nan`` as C's
printf writes them. conformance/examples/ has a C and a Python implementation of ``softmax`` and
``log_softmax`` speaking this protocol.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from hypothesis import Phase, given, settings

from .operations import Operation
from .runner import ORACLE, PROFILES, CheckResult, compare, exact_bound, round_case, total_bound
from .strategies import Limits
from .tolerance import get_precision, probable

FORMAT = "conformance-vectors/1"
DEFAULT_DTYPES = ("float64", "float32")
VECTOR_LIMITS = Limits(rows=4, features=12, work=200)


def file_name(op_id: str) -> str:
    """The file of an operation's vectors.

    >>> file_name("linear_act[relu]")
    'linear_act.relu.json'
    """
    return op_id.replace("[", ".").replace("]", "") + ".json"


def _encode(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value):
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    return value


def draw_cases(op: Operation, dtype: str, n: int) -> list[dict]:
    """``n`` distinct cases of ``op`` from hypothesis with a fixed seed (the same on every run of
    the same hypothesis version)."""
    p = get_precision(dtype)
    cases, seen = [], set()

    @settings(settings.get_profile("conformance"), max_examples=4 * n, derandomize=True, phases=(Phase.generate,))
    @given(case=op.cases(VECTOR_LIMITS, p))
    def collect(case):
        key = json.dumps(_encode(case), sort_keys=True)
        if len(cases) < n and key not in seen:
            seen.add(key)
            cases.append(case)

    collect()
    return cases


def boundary_cases(op: Operation, dtype: str) -> list[dict]:
    """The ci profile's boundary cases of ``op`` (block sizes ± 1 up to 4097, rows across 8, 64 and
    1024, special values) but those with an empty array: nested lists cannot give N = 0 its V."""
    cases = op.boundary(PROFILES["ci"].edges, get_precision(dtype)) if op.boundary else []
    return [c for c in cases if all(0 not in shape for shape in c.get("shapes", {}).values())]


def vector_case(op: Operation, case: dict, dtype: str) -> dict:
    """One vector: the rounded arguments, the oracle's results (by the operation's special-value rule
    where it has one) and the bound; a boundary case of the exact tier gets the exact bound, one
    of the probable tier its probable bound besides."""
    p = get_precision(dtype)
    args = round_case(op, case, p)
    expected = {k: _to_plain(v) for k, v in (op.expect(args) if op.expect else op.call(ORACLE, args)).items()}
    tier = case.get("tier", "worst")
    bound = exact_bound(expected, p) if tier == "exact" else total_bound(op, args, expected, p)
    out = {"arguments": args, "expected": expected, "bound": bound, "arrays": sorted(case["arrays"])}
    if tier == "probable":
        out["probable_bound"] = total_bound(op, args, expected, probable(p))
    return out


def _to_plain(value):
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value if value is None else float(value)


SIZES = ("small", "large")


def export(directory, ops, dtypes=DEFAULT_DTYPES, examples: int = 10, progress=None, size: str = "small") -> list[Path]:
    """Write the vector files and FORMAT.md; returns the paths written. ``size`` "small": ``examples``
    drawn cases per file, at most 4 rows and 12 features; "large" adds the boundary cases
    (:func:`boundary_cases`). ``progress(path, index, total, seconds)`` is called after each file."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    directory = Path(directory)
    paths = []
    for dtype in dtypes:
        p = get_precision(dtype)
        (directory / dtype).mkdir(parents=True, exist_ok=True)
        for op in (op for op in ops if op.cases):  # not the bad-input probes
            start = time.perf_counter()
            cases = draw_cases(op, dtype, examples) + (boundary_cases(op, dtype) if size == "large" else [])
            vectors = [vector_case(op, c, dtype) for c in cases]
            arrays = sorted({name for v in vectors for name in v.pop("arrays")})
            data = {
                "format": FORMAT, "op": op.id, "dtype": dtype, "summary": op.summary,
                "arguments": list(vectors[0]["arguments"]), "array_arguments": arrays,
                "results": list(vectors[0]["expected"]),
                "unit_roundoff": {"storage": p.storage, "compute": p.compute},
                "cases": vectors,
            }
            path = directory / dtype / file_name(op.id)
            lines = [json.dumps({k: v for k, v in data.items() if k != "cases"})[:-1] + ', "cases": [']
            lines += [json.dumps(_encode(v), separators=(",", ":")) + "," for v in vectors]
            lines[-1] = lines[-1][:-1]
            path.write_text("\n".join(lines) + "\n]}\n", encoding="utf-8")
            paths.append(path)
            if progress:
                progress(path, len(paths), len(dtypes) * len(ops), time.perf_counter() - start)
    fmt = directory / "FORMAT.md"
    fmt.write_text("# Conformance vectors\n\n" + __doc__.split("\n", 1)[1], encoding="utf-8")
    return paths + [fmt]


def load(path) -> dict:
    data = _decode(json.loads(Path(path).read_text(encoding="utf-8")))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (format {data.get('format')!r})")
    return data


# ------------------------------------------------------------------------------------------------
# The text protocol
# ------------------------------------------------------------------------------------------------

def _token(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def _shape(value) -> list[int]:
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return shape


def _flatten(value) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return [value]


def _array_lines(name: str, value) -> list[str]:
    shape = _shape(value)
    head = f"array {name} {len(shape)}" + "".join(f" {d}" for d in shape)
    return [head, " ".join(_token(v) for v in _flatten(value))]


def encode_request(op_id: str, dtype: str, arguments: dict, arrays) -> str:
    """The request text for one case (see the module docstring); ``arrays`` names the arguments
    sent as arrays (the others are options)."""
    lines = [f"request {op_id} {dtype}"]
    for name, value in arguments.items():
        if value is None:
            continue
        if name in arrays:
            lines += _array_lines(name, value)
        elif isinstance(value, dict):
            for key, v in value.items():
                vals = list(v) if isinstance(v, (list, tuple)) else [v]
                lines.append(f"option {key} {len(vals)} " + " ".join(_token(x) for x in vals))
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            lines.append(f"option {name} {len(value)} " + " ".join(value))
        else:
            lines.append(f"option {name} 1 {_token(value)}")
    lines.append("end")
    return "\n".join(lines) + "\n"


def _unflatten(flat: list, shape: list[int]):
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    step = math.prod(shape[1:])
    return [_unflatten(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


class ProtocolError(ValueError):
    pass


def parse_responses(text: str) -> list:
    """The answers in a program's output: a dict of results per request, or the string
    ``"unsupported"``. ProtocolError on malformed output."""
    tokens = text.split()
    pos, out = 0, []

    def take():
        nonlocal pos
        if pos >= len(tokens):
            raise ProtocolError("output ended in the middle of an answer")
        pos += 1
        return tokens[pos - 1]

    while pos < len(tokens):
        word = take()
        if word == "unsupported":
            out.append("unsupported")
            continue
        if word != "result":
            raise ProtocolError(f"expected 'result' or 'unsupported', got {word!r}")
        results = {}
        while (word := take()) != "end":
            if word != "array":
                raise ProtocolError(f"expected 'array' or 'end', got {word!r}")
            name, ndim = take(), int(take())
            shape = [int(take()) for _ in range(ndim)]
            try:
                flat = [float(take()) for _ in range(math.prod(shape))]
            except ValueError as e:
                raise ProtocolError(f"result {name!r}: {e}") from None
            results[name] = _unflatten(flat, shape)
        out.append(results)
    return out


def check(directory, command: str, ops=None, dtypes=None, timeout: float = 120.0, progress=None) -> list[CheckResult]:
    """Run ``command`` on every vector file under ``directory`` (optionally only ``ops`` ids and
    ``dtypes``) and compare its answers with the expected results and bounds."""
    files = sorted(Path(directory).glob("*/*.json"))
    if not files:
        raise ValueError(f"no vector files under {directory}; write them with `python -m conformance export`")
    _check_runnable(command)
    wanted = {op.id for op in ops} if ops is not None else None
    plan = []
    for path in files:
        data = load(path)
        if (wanted is None or data["op"] in wanted) and (dtypes is None or data["dtype"] in dtypes):
            plan.append(data)
    results = []
    for i, data in enumerate(plan):
        results.append(_check_file(data, command, timeout))
        if progress:
            progress(results[-1], i + 1, len(plan))
    return results


def _check_runnable(command: str) -> None:
    """ValueError naming the command and the cause when it cannot start at all (so that the run
    says so once, instead of failing every vector file with the same OS error)."""
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise ValueError(f"--command {command!r} is not a valid shell-style command line: {e}") from None
    if not argv:
        raise ValueError("--command is empty: give the program to run, e.g. --command ./softmax")
    if shutil.which(argv[0]) is None:
        where = Path(argv[0])
        cause = ("it is not executable (chmod +x?)" if where.is_file() else
                 "no such file" if os.sep in argv[0] or where.exists() else "not found on PATH")
        raise ValueError(f"cannot run --command {command!r}: {argv[0]!r}: {cause}")


def _check_file(data: dict, command: str, timeout: float) -> CheckResult:
    result = CheckResult("external", data["op"], data["dtype"], "pass")
    start = time.perf_counter()
    arrays = set(data["array_arguments"])
    requests = "".join(encode_request(data["op"], data["dtype"], c["arguments"], arrays) for c in data["cases"])
    try:
        proc = subprocess.run(shlex.split(command), input=requests, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        result.status, result.message = "fail", f"could not run {command!r}: {e}"
        return result
    result.seconds = time.perf_counter() - start
    if proc.returncode != 0:
        result.status = "fail"
        result.message = f"{command!r} exited with status {proc.returncode}: {proc.stderr.strip()[-500:]}"
        return result
    try:
        answers = parse_responses(proc.stdout)
    except ProtocolError as e:
        result.status, result.message = "fail", f"malformed output: {e}"
        return result
    if len(answers) != len(data["cases"]):
        result.status = "fail"
        result.message = f"{len(answers)} answers to {len(data['cases'])} requests"
        return result
    worst = None
    for case, answer in zip(data["cases"], answers):
        if answer == "unsupported":
            result.skipped += 1
            continue
        result.examples += 1
        got = {name: answer.get(name) for name in case["expected"]}
        extra = sorted(set(answer) - set(case["expected"]))
        largest = get_precision(data["dtype"]).max
        cmp = compare(case["expected"], got, case["bound"], largest)
        if cmp.ok and "probable_bound" in case:
            second = compare(case["expected"], got, case["probable_bound"], largest)
            if not second.ok:
                second.tier = "probable"
                cmp = second
        if extra:
            cmp.problem = f"unexpected results {extra}"
        if worst is None or cmp.ratio > worst.ratio or not cmp.ok:
            worst = cmp
        if not cmp.ok:
            result.status = "improbable" if cmp.tier == "probable" else "fail"
            result.message = cmp.describe()
            result.case = case["arguments"]
            result.reproducer = encode_request(data["op"], data["dtype"], case["arguments"], arrays)
            break
    if result.examples == 0:
        result.status, result.message = "not implemented", "the program answered 'unsupported' to every case"
    elif worst is not None:
        result.worst_ratio = worst.ratio
    return result
