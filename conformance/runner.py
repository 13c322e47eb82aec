"""Running the checks: hypothesis drives each (backend, operation, dtype) and the results are kept.

One check draws cases from the operation's strategy, rounds their arrays to the dtype, computes
the oracle on exactly those inputs, calls the backend, and requires every output element to lie
within the tolerance model's bound (see total_bound). It records how many
examples ran, the worst |got - expected| / bound, and on failure the minimal failing case that
hypothesis shrank to, with a snippet that reproduces it. The same function serves the CLI and
pytest (tests/test_conformance.py).
"""
from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import asdict, dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisWarning, Unsatisfiable

from .backends import load_backend, to_backend, to_lists
from .backends.reference import ReferenceBackend
from .operations import OPERATIONS, Operation
from .strategies import Limits
from .tolerance import FLOAT32, FLOAT64, Precision, get_precision


@dataclass(frozen=True)
class Profile:
    """How hard to look: examples per check (``slow_examples`` for slow backends), input limits,
    and whether the examples are the same on every run (``derandomize``, for CI)."""

    name: str
    examples: int
    slow_examples: int
    limits: Limits
    derandomize: bool


PROFILES = {
    "ci": Profile("ci", 20, 8, Limits(rows=5, features=20, work=1200), True),
    "gpu": Profile("gpu", 40, 40, Limits(rows=64, features=4100, work=100_000), False),
    "thorough": Profile("thorough", 400, 40, Limits(rows=9, features=130, work=20_000), False),
}
ORACLE = ReferenceBackend()


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; expected one of {', '.join(PROFILES)}") from None


def _glob(pattern: str) -> re.Pattern:
    """A glob with ``*`` and ``?`` only: brackets in operation ids are literal."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")


def select_operations(patterns=None) -> list[Operation]:
    """Operations whose id matches any of the glob ``patterns`` (``*``, ``?``; all when None);
    ValueError if a pattern matches none.

    >>> [op.id for op in select_operations(["linear_act[relu]", "softmax*"])]
    ['linear_act[relu]', 'softmax']
    """
    if not patterns:
        return list(OPERATIONS.values())
    chosen = []
    for pattern in patterns:
        rx = _glob(pattern)
        hits = [op for op_id, op in OPERATIONS.items() if rx.match(op_id)]
        if not hits:
            raise ValueError(f"--ops {pattern!r} matches no operation; see `python -m conformance --list`")
        chosen += [op for op in hits if op not in chosen]
    return chosen


def check_id(op_id: str, dtype: str) -> str:
    return f"{op_id}@{dtype}"


def is_known_failure(backend, op_id: str, dtype: str) -> bool:
    known = set(getattr(backend, "known_failures", ()) or ())
    return op_id in known or check_id(op_id, dtype) in known


# ------------------------------------------------------------------------------------------------
# One example
# ------------------------------------------------------------------------------------------------

def _round_nested(value, fn):
    if isinstance(value, list):
        return [_round_nested(v, fn) for v in value]
    if isinstance(value, tuple):
        return tuple(_round_nested(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _round_nested(v, fn) for k, v in value.items()}
    if isinstance(value, float):
        return fn(value)
    return value


def round_case(op: Operation, case: dict, p: Precision) -> dict:
    """The call arguments as lists: float arrays rounded to p's storage format, float options to
    its compute format (float32 unless p is float64), integer arrays and other options as they are."""
    compute = FLOAT64 if p.compute == FLOAT64.compute else FLOAT32
    args = {name: (value if name in op.integer_arrays else _round_nested(value, p.round))
            for name, value in case["arrays"].items()}
    args.update({name: _round_nested(value, compute.round) for name, value in case["options"].items()})
    return args


def backend_args(op: Operation, case: dict, args: dict, backend, p: Precision) -> dict:
    """``args`` with the arrays converted to the backend's array type and the case's layout."""
    out = dict(args)
    for name in case["arrays"]:
        out[name] = to_backend(args[name], backend, p, integer=name in op.integer_arrays, layout=case["layout"])
    return out


@dataclass
class Comparison:
    """The outcome of one example: the worst error as a fraction of its bound, and where."""

    ratio: float = 0.0
    where: str = ""
    got: float = 0.0
    expected: float = 0.0
    bound: float = 0.0
    n_elements: int = 0
    n_bad: int = 0
    problem: str = ""  # a structural mismatch or an exception, which fails the example outright

    @property
    def ok(self) -> bool:
        return not self.problem and self.ratio <= 1.0

    def describe(self) -> str:
        if self.problem:
            return self.problem
        return (f"{self.n_bad} of {self.n_elements} elements outside their bound; worst at {self.where}: "
                f"got {self.got!r}, expected {self.expected!r}, |error| = {abs(self.got - self.expected):.3g}, "
                f"bound {self.bound:.3g} (ratio {self.ratio:.3g})")


def _walk(expected, got, bound, path, cmp: Comparison, largest: float) -> None:
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            n = len(got) if isinstance(got, list) else "a scalar"
            cmp.problem = cmp.problem or f"{path}: expected {len(expected)} entries, got {n}"
            return
        for i, (e, g, b) in enumerate(zip(expected, got, bound)):
            _walk(e, g, b, f"{path}[{i}]", cmp, largest)
        return
    if expected is None or got is None:
        if expected is not got:
            cmp.problem = cmp.problem or f"{path}: expected {expected!r}, got {got!r}"
        return
    if isinstance(got, list):
        cmp.problem = cmp.problem or f"{path}: expected a scalar, got {len(got)} entries"
        return
    cmp.n_elements += 1
    if math.isfinite(expected):
        err = abs(got - expected) if math.isfinite(got) else math.inf
        if math.isinf(got) and got * expected > 0 and abs(expected) + bound > largest:
            err = 0.0  # beyond the format's range: overflowing to inf is the right rounding
        ratio = err / bound if bound > 0.0 else (0.0 if err == 0.0 else math.inf)
    else:  # inf, -inf, nan must be reproduced exactly
        same = got == expected or (math.isnan(expected) and math.isnan(got))
        ratio = 0.0 if same else math.inf
    if ratio > 1.0:
        cmp.n_bad += 1
    if ratio > cmp.ratio or (ratio == cmp.ratio and not cmp.where):
        cmp.ratio, cmp.where, cmp.got, cmp.expected, cmp.bound = ratio, path, got, expected, bound


def compare(expected: dict, got: dict, bound: dict, largest: float = math.inf) -> Comparison:
    """Compare named results element by element: |got - expected| <= bound, non-finite exactly,
    and ±inf accepted where the expected value plus its bound exceeds ``largest``, the format's
    largest finite number (overflow is then the correctly rounded result)."""
    cmp = Comparison()
    if set(got) != set(expected):
        cmp.problem = f"results {sorted(got)}, expected {sorted(expected)}"
        return cmp
    for name in expected:
        _walk(expected[name], got[name], bound[name], name, cmp, largest)
    return cmp


def _add(a, b):
    if a is None:
        return None
    if isinstance(a, list):
        return [_add(x, y) for x, y in zip(a, b)]
    return a + b


def total_bound(op: Operation, args: dict, expected: dict, p: Precision) -> dict:
    """The operation's bound in p, plus the oracle's own (float64) bound when p is float64 too;
    for the other formats the oracle's error, 2^29 or more times smaller, is neglected."""
    bound = op.bound(args, expected, p)
    if p.compute != FLOAT64.compute:
        return bound
    oracle = op.bound(args, expected, FLOAT64)
    return {k: _add(bound[k], oracle[k]) for k in bound}


class _Unsupported(Exception):
    """The backend raised NotImplementedError for this example's arguments."""


def evaluate(backend, op: Operation, case: dict, p: Precision) -> Comparison:
    """Run one case on the backend and compare it with the oracle. Raises _Unsupported if the
    backend declines the arguments (NotImplementedError)."""
    args = round_case(op, case, p)
    inputs = backend_args(op, case, args, backend, p)
    try:
        got = {k: to_lists(v) for k, v in op.call(backend, inputs).items()}
    except NotImplementedError as e:
        raise _Unsupported(str(e)) from None
    except Exception as e:  # noqa: BLE001 - any crash of the backend fails the example
        return Comparison(ratio=math.inf, problem=f"raised {type(e).__name__}: {e}")
    for name in case["arrays"]:
        if to_lists(inputs[name]) != to_lists(args[name]):
            return Comparison(ratio=math.inf, problem=f"modified its input {name!r}")
    expected = {k: to_lists(v) for k, v in op.call(ORACLE, args).items()}
    return compare(expected, got, total_bound(op, args, expected, p), p.max)


# ------------------------------------------------------------------------------------------------
# One check: an operation x dtype on a backend, driven by hypothesis
# ------------------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    backend: str
    op: str
    dtype: str
    status: str  # pass, fail, not implemented, expected failure, unexpected pass
    examples: int = 0
    skipped: int = 0  # examples the backend declined (NotImplementedError)
    worst_ratio: float | None = None
    worst: str = ""
    seconds: float = 0.0
    message: str = ""
    reproducer: str = ""
    case: dict | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return check_id(self.op, self.dtype)

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_json(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        if d["worst_ratio"] is not None and not math.isfinite(d["worst_ratio"]):
            d["worst_ratio"] = str(d["worst_ratio"])
        return d


class _Failure(AssertionError):
    pass


class _Declined(BaseException):
    """Stops hypothesis at once (it lets BaseException through): the backend declines the operation."""


# A backend that declines this many examples before accepting one does not implement the operation.
DECLINED_LIMIT = 10


def run_check(backend, spec: str, op: Operation, dtype: str, profile: Profile, seed: int | None = None) -> CheckResult:
    """Check one operation in one dtype on ``backend`` (``spec`` is how to load it again, for the
    reproducer). Never raises for a failing backend: the result says what happened."""
    p = get_precision(dtype)
    result = CheckResult(getattr(backend, "name", spec), op.id, dtype, "pass")
    start = time.perf_counter()
    if not callable(getattr(backend, op.method, None)):
        result.status, result.message = "not implemented", f"no method {op.method!r}"
        return result
    if hasattr(backend, "set_dtype"):
        backend.set_dtype(dtype)
    state = {"worst": None, "failing": None}

    def check(case):
        try:
            cmp = evaluate(backend, op, case, p)
        except _Unsupported as e:
            result.skipped += 1
            if result.examples == 0 and result.skipped >= DECLINED_LIMIT:
                raise _Declined(str(e)) from None
            reject()
        result.examples += 1
        if state["worst"] is None or cmp.ratio > state["worst"].ratio:
            state["worst"] = cmp
        if not cmp.ok:
            state["failing"] = (case, cmp)
            raise _Failure(cmp.describe())

    slow = getattr(backend, "slow", False)
    test = settings(
        max_examples=profile.slow_examples if slow else profile.examples,
        derandomize=profile.derandomize and seed is None,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )(given(case=op.cases(profile.limits, p))(check))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    try:
        with warnings.catch_warnings():  # numpy's notes on masked lanes of interpreted kernels, and
            warnings.simplefilter("ignore", RuntimeWarning)  # hypothesis' on the repr of large cases
            warnings.simplefilter("ignore", HypothesisWarning)
            test()
    except (Unsatisfiable, _Declined) as e:
        result.status = "not implemented"
        reason = f": {e}" if isinstance(e, _Declined) else ""
        result.message = f"the backend declined all {result.skipped} examples tried{reason}"
    except _Failure:
        result.status = "fail"
    except Exception as e:  # noqa: BLE001 - an error in the harness is reported, not hidden
        result.status = "fail"
        result.message = f"the check itself raised {type(e).__name__}: {e}"
    result.seconds = time.perf_counter() - start
    worst = state["worst"]
    if worst is not None:
        result.worst_ratio = worst.ratio
        result.worst = worst.describe() if worst.problem or worst.ratio > 0 else ""
    if state["failing"] is not None and result.status == "fail":
        case, cmp = state["failing"]
        result.case = case
        result.message = cmp.describe()
        result.worst_ratio = max(result.worst_ratio or 0.0, cmp.ratio)
        result.reproducer = reproducer(spec, op.id, dtype, case)
    if is_known_failure(backend, op.id, dtype):
        result.status = {"fail": "expected failure", "pass": "unexpected pass"}.get(result.status, result.status)
    return result


def run(specs, ops, profile: Profile, dtypes=None, seed=None, progress=None) -> list[CheckResult]:
    """Every check of every backend in ``specs``; ``progress(result, index, total)`` after each."""
    plan = []
    for spec in specs:
        backend = load_backend(spec)
        chosen = [d for d in backend.dtypes if dtypes is None or d in dtypes]
        plan += [(spec, backend, op, d) for op in ops for d in chosen]
    results = []
    for i, (spec, backend, op, dtype) in enumerate(plan):
        result = run_check(backend, spec, op, dtype, profile, seed)
        results.append(result)
        if progress:
            progress(result, i + 1, len(plan))
    return results


# ------------------------------------------------------------------------------------------------
# Reproducing a failure
# ------------------------------------------------------------------------------------------------

def _literal(value) -> str:
    """Python source for a case value; non-finite floats as float('inf') etc."""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def reproducer(spec: str, op_id: str, dtype: str, case: dict) -> str:
    """A Python snippet that re-runs one failing case and prints the comparison."""
    return (
        "from conformance import reproduce\n"
        f"case = {_literal(case)}\n"
        f"reproduce({spec!r}, {op_id!r}, {dtype!r}, case)\n"
    )


def reproduce(spec: str, op_id: str, dtype: str, case: dict) -> Comparison:
    """Run one case of ``op_id`` in ``dtype`` on the backend ``spec``, print the outcome and raise
    AssertionError if it fails."""
    if op_id not in OPERATIONS:
        raise ValueError(f"unknown operation {op_id!r}")
    cmp = evaluate(load_backend(spec), OPERATIONS[op_id], case, get_precision(dtype))
    print(f"{spec} {check_id(op_id, dtype)}: {'ok' if cmp.ok else 'FAIL'}: {cmp.describe()}")
    if not cmp.ok:
        raise AssertionError(cmp.describe())
    return cmp
