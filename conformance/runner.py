"""Running the checks: hypothesis drives each (backend, operation, dtype) and the results are kept.

One check draws cases from the operation's strategy, rounds their arrays to the dtype, computes
the oracle on exactly those inputs, calls the backend, and requires every output element to lie
within the tolerance model's bound (see total_bound). It records how many
examples ran, the worst |got - expected| / bound, and on failure the minimal failing case that
hypothesis shrank to, with a snippet that reproduces it. The same function serves the CLI and
pytest (tests/test_conformance.py, for a backend named in CONFORMANCE_BACKENDS).
"""
from __future__ import annotations

import contextlib
import math
import re
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisWarning, Unsatisfiable

from . import device_memory, interpreter, option_classes
from .backends import load_backend, to_backend, to_lists
from .backends.reference import ReferenceBackend
from .operations import OPERATIONS, Operation
from .strategies import Edges, Limits, power_edges
from .tolerance import FLOAT32, FLOAT64, PROBABLE_LAMBDA, Precision, get_precision, probable


@dataclass(frozen=True)
class Profile:
    """How hard to look: examples per check (``slow_examples`` for slow backends), input limits,
    whether the examples are the same on every run (``derandomize``, for CI), and the boundary
    shapes tried first (``edges``; ``slow_edges`` for slow backends)."""

    name: str
    examples: int
    slow_examples: int
    limits: Limits
    derandomize: bool
    edges: Edges
    slow_edges: Edges


# Boundary shapes. ci: a sample reaching 4097 (the layers' backward to 257: its oracle and bound
# take seconds beyond), and for an interpreted kernel (0.3-30 s a call at these sizes; most of the
# ci profile's CPU time) the smallest size and one past its 16-wide tiles; gpu and thorough: every 2^k ± 1 up to 16385 and a few past
# 32768. Rows cross 8, 16, 64, 128 and 1024; N = 0 everywhere. Cross-entropy adds a few rows longer
# than any tile (65537 classes: a second or two a check, interpreted kernels included), and in gpu
# and thorough 32770 rows of 65537 classes, past 2^31 elements (declined without a GPU).
_ALL_ROWS = (0, 1) + power_edges(1025, start=3)
_CI = Edges(features=(1, 2, 16, 17, 257, 4097), rows=(0, 1, 9, 65, 1025), backward_work=2000, long_rows=(65537,))
_SLOW = Edges(features=(1, 17), rows=(0, 17), long_rows=(65537,))
_FULL = Edges(features=(1,) + power_edges(16385) + (32767, 32769, 65537), rows=_ALL_ROWS, long_rows=(131073,),
              huge=((32770, 65537),))
_SLOW_FULL = Edges(features=(1,) + power_edges(129), rows=_ALL_ROWS, long_rows=(65537,))
PROFILES = {
    "ci": Profile("ci", 20, 8, Limits(rows=5, features=20, work=1200), True, _CI, _SLOW),
    "gpu": Profile("gpu", 40, 40, Limits(rows=64, features=4100, work=100_000), False, _FULL, _SLOW_FULL),
    "thorough": Profile("thorough", 400, 40, Limits(rows=9, features=130, work=20_000), False, _FULL, _SLOW_FULL),
}
ORACLE = ReferenceBackend()
# The one hypothesis configuration of the suite's checks and of the vectors' draws (each adds its
# example count and phases): no example database (a run depends on its profile and seed only), no
# deadline (an interpreted kernel takes seconds a call), no health checks (large cases are slow to
# draw by design), quiet (the runner reports).
settings.register_profile("conformance", database=None, deadline=None, verbosity=Verbosity.quiet,
                          suppress_health_check=list(HealthCheck))


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


def _format(case: dict, name: str, p: Precision) -> Precision:
    """The format of array ``name``: its own (the case's ``formats``) or the check's."""
    own = case.get("formats", {}).get(name)
    return get_precision(own) if own else p


def round_case(op: Operation, case: dict, p: Precision) -> dict:
    """The call arguments as lists: float arrays rounded to their storage format (p's unless the case
    gives one its own), float options to p's compute format (float32 unless p is float64), integer
    arrays and other options as they are."""
    compute = FLOAT64 if p.compute == FLOAT64.compute else FLOAT32
    args = {name: (value if name in op.integer_arrays else _round_nested(value, _format(case, name, p).round))
            for name, value in case["arrays"].items()}
    args.update({name: _round_nested(value, compute.round) for name, value in case["options"].items()})
    return args


def backend_args(op: Operation, case: dict, args: dict, backend, p: Precision) -> dict:
    """``args`` with the arrays converted to the backend's array type, each in its format, layout,
    shape and repetition (operations._case)."""
    out = dict(args)
    own = {key: case.get(key, {}) for key in ("shapes", "layouts", "repeat")}
    for name in case["arrays"]:
        out[name] = to_backend(args[name], backend, _format(case, name, p), integer=name in op.integer_arrays,
                               layout=own["layouts"].get(name, case["layout"]), shape=own["shapes"].get(name),
                               repeat=own["repeat"].get(name, 1))
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
    tier: str = "worst"  # the bound the ratio is of: worst (case), probable or exact
    probable_ratio: float | None = None  # for a probable-tier case within its worst-case bound

    @property
    def ok(self) -> bool:
        return not self.problem and self.ratio <= 1.0

    def describe(self) -> str:
        if self.problem:
            return self.problem
        what = {"worst": "bound", "probable": "probable bound (λ √n u: a correct implementation "
                                              "exceeds it with probability < 1e-20 on these random inputs)",
                "exact": "bound for exact inputs (the correctly rounded result)"}[self.tier]
        return (f"{self.n_bad} of {self.n_elements} elements outside their {what}; worst at {self.where}: "
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
    """The operation's bound in p, doubled when p computes in float64: the oracle's own error is then
    as large (it is the same bound); for the other formats it is 2^29 or more times smaller and
    neglected."""
    bound = op.bound(args, expected, p)
    if p.compute != FLOAT64.compute:
        return bound
    return {k: _map(lambda b: 2.0 * b, v) for k, v in bound.items()}


def _map(fn, value):
    if isinstance(value, list):
        return [_map(fn, v) for v in value]
    return None if value is None else fn(value)


def _same(a, b, bitwise: bool = False) -> bool:
    """a == b for nested lists, NaN equal to NaN (an input holding NaN is not thereby modified);
    ``bitwise``: 0.0 and -0.0 differ too."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, bitwise) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and (not bitwise or math.copysign(1.0, a) == math.copysign(1.0, b))
    return a == b


def exact_bound(expected: dict, p: Precision) -> dict:
    """The bound of the exact tier: |round(e) - e|, the correctly rounded result's own distance."""
    return {k: _map(lambda e: abs(p.round(e) - e), v) for k, v in expected.items()}


def held_to(op: Operation, case: dict, args: dict, expected: dict, got: dict, p: Precision) -> Comparison:
    """Compare with the worst-case bound; then, for a case of the probable tier that passed it, with
    the probable bound (tolerance.probable), and for one of the exact tier with the correctly
    rounded result's distance |round(e) - e| alone."""
    tier = case.get("tier", "worst")
    if tier == "exact":
        cmp = compare(expected, got, exact_bound(expected, p), p.max)
        cmp.tier = "exact"
        return cmp
    cmp = compare(expected, got, total_bound(op, args, expected, p), p.max)
    if tier == "probable" and cmp.ok and max_extent(case) <= PROBABLE_LAMBDA ** 2:
        cmp.probable_ratio = cmp.ratio  # no accumulation long enough for the tiers to differ
    elif tier == "probable" and cmp.ok:
        second = compare(expected, got, total_bound(op, args, expected, probable(p)), p.max)
        if not second.ok:
            second.tier = "probable"
            return second
        cmp.probable_ratio = second.ratio
    return cmp


class _Unsupported(Exception):
    """The example is declined: the backend raised NotImplementedError for its arguments, or see
    _call and evaluate for the other reasons."""


# Cases past this many elements (64-bit offsets) run on a GPU only: on a CPU they would take many GB
# and minutes (under Triton's interpreter, hours).
GPU_ELEMENTS = 2 ** 31


def _elements(value) -> int:
    return sum(map(_elements, value)) if isinstance(value, list) else 1


def _on_gpu(backend) -> bool:
    return str(getattr(backend, "device", "cpu")).startswith("cuda")


def _last_rows(value, rows: int):
    """The last ``rows`` rows of a result of a repeated case (the repetition the oracle computes)."""
    return value[len(value) - rows:] if getattr(value, "dim", lambda: 0)() else value


def _call(backend, op: Operation, case: dict, inputs: dict) -> dict:
    """The backend's results as lists. Raises _Unsupported if it declines the arguments
    (NotImplementedError), or raises at all for an array in a format of its own (torch raises for
    class weights whose format is not the logits'; accepting them is fine too, then with their values),
    or that format is not meaningful for it here (a bfloat16 array under Triton's interpreter)."""
    for name, fmt in case.get("formats", {}).items():
        if interpreter.not_meaningful(backend, fmt):
            raise _Unsupported(f"{name} in {fmt}: not meaningful here (Triton's CPU interpreter computes "
                               f"{fmt} wrongly)")
    try:
        got = op.call(backend, inputs)
    except NotImplementedError as e:
        raise _Unsupported(str(e)) from None
    except Exception as e:  # noqa: BLE001 - for an array in a format of its own, raising is torch's answer
        if not case.get("formats"):
            raise
        raise _Unsupported(f"raised {type(e).__name__} for {_own_formats(case)}, as torch does") from None
    rows = min((len(case["arrays"][name]) for name in case.get("repeat", {})), default=None)
    return {k: to_lists(v if rows is None else _last_rows(v, rows)) for k, v in got.items()}


def _own_formats(case: dict) -> str:
    return ", ".join(f"{name} in {fmt}" for name, fmt in case["formats"].items())


def evaluate(backend, op: Operation, case: dict, p: Precision) -> Comparison:
    """Run one case on the backend and compare it with the oracle (or, for an operation that checks a
    property of the calls, check it: check_property). Raises _Unsupported if the backend declines
    the arguments (NotImplementedError), or where a case of more than GPU_ELEMENTS elements would run
    on a CPU."""
    if op.check != "oracle":
        return check_property(backend, op, case, p)
    args = round_case(op, case, p)
    size = sum(_elements(args[name]) * n for name, n in (case.get("repeat") or {}).items())
    if size > GPU_ELEMENTS and not _on_gpu(backend):
        raise _Unsupported(f"more than 2^31 elements ({size}, 64-bit offsets): a case for a GPU")
    # Gigabytes on the GPU: one such case at a time among the processes sharing it.
    with device_memory.exclusive() if size > GPU_ELEMENTS else contextlib.nullcontext():
        try:
            got = _call(backend, op, case, backend_args(op, case, args, backend, p))
        except _Unsupported:
            raise
        except Exception as e:  # noqa: BLE001 - any crash of the backend fails the example
            return Comparison(ratio=math.inf, problem=f"raised {type(e).__name__}: {e}")
    expected = op.expect(args) if op.expect else op.call(ORACLE, args)
    return held_to(op, case, args, {k: to_lists(v) for k, v in expected.items()}, got, p)


# ------------------------------------------------------------------------------------------------
# Properties of the calls (operations untouched[...] and repeatable[...])
# ------------------------------------------------------------------------------------------------

def _state(value) -> tuple:
    """What a call must not change in an input besides its values: requires_grad, and no .grad."""
    return (value.requires_grad, value.grad is None) if hasattr(value, "requires_grad") else ()


def _property_call(backend, op: Operation, case: dict, inputs: dict) -> dict:
    """_call, where any exception declines the example: the checks of values report crashes."""
    if not callable(getattr(backend, op.method, None)):
        raise _Unsupported(f"no method {op.method!r}")
    try:
        return _call(backend, op, case, inputs)
    except _Unsupported:
        raise
    except Exception as e:  # noqa: BLE001
        raise _Unsupported(f"raised {type(e).__name__} (the check of its values reports it)") from None


def _modes(backend, base: Operation, trainable: tuple) -> list:
    """(grad mode, arrays requiring grad) pairs the untouched check calls in: for a torch backend's
    forward, grad mode on and off, each with plain inputs and with the ``trainable`` ones requiring
    grad (as in a training step); a gradient is taken with grad mode on, from plain inputs."""
    if getattr(backend, "array_type", "list") != "torch":
        return [(True, ())]
    if base.method.endswith(("_grad", "_backward")):
        return [(True, ())]
    return [(grad, needs) for needs in ((), trainable) for grad in (True, False)]


def _describe_mode(grad: bool, needs: tuple) -> str:
    return f"grad mode {'on' if grad else 'off'}" + (f", {', '.join(needs)} requiring grad" if needs else "")


def _grad_mode(backend, grad: bool):
    if getattr(backend, "array_type", "list") != "torch":
        return contextlib.nullcontext()
    import torch

    return torch.set_grad_enabled(grad)


def _touched(case: dict, args: dict, inputs: dict, before: dict, mode: str) -> str:
    """What a call changed in its inputs, or ""."""
    for name in case["arrays"]:
        if not _same(to_lists(inputs[name]), args[name]):
            return f"modified its input {name!r} ({mode})"
        if _state(inputs[name]) != before[name]:
            return f"changed requires_grad or left a .grad on its input {name!r} ({mode})"
    return ""


def check_property(backend, op: Operation, case: dict, p: Precision) -> Comparison:
    """``untouched``: after each call (in each of _modes), every input has its values (NaN equal to
    NaN), requires_grad and no .grad, as before, even where the call raised. ``repeatable``: two
    calls, each on its own inputs made from the same values and layout, give bitwise equal results
    (0.0 and -0.0 differ, NaN payloads do not). Raises _Unsupported where the call raises or declines."""
    base = OPERATIONS[case["op"]]
    args = round_case(base, case, p)
    if op.check == "repeatable":
        first, second = (_property_call(backend, base, case, backend_args(base, case, args, backend, p))
                         for _ in range(2))
        differ = [name for name in first if not _same(first[name], second.get(name), bitwise=True)]
        if differ:
            return Comparison(ratio=math.inf, problem=f"two calls on the same inputs gave different {differ[0]!r}")
        return Comparison(n_elements=len(first))
    for grad, needs in _modes(backend, base, op.trainable):
        inputs = backend_args(base, case, args, backend, p)
        for name in needs:
            if inputs.get(name) is not None:
                inputs[name].requires_grad_()
        before = {name: _state(inputs[name]) for name in case["arrays"]}
        declined = None
        try:
            with _grad_mode(backend, grad):
                _property_call(backend, base, case, inputs)
        except _Unsupported as e:
            declined = e
        problem = _touched(case, args, inputs, before, _describe_mode(grad, needs))
        if problem:
            return Comparison(ratio=math.inf, problem=problem)
        if declined:
            raise declined
    return Comparison(n_elements=len(case["arrays"]))


# ------------------------------------------------------------------------------------------------
# One check: an operation x dtype on a backend, driven by hypothesis
# ------------------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    backend: str
    op: str
    dtype: str
    status: str  # pass, fail, improbable, not implemented, not meaningful, expected failure, unexpected pass
    examples: int = 0
    skipped: int = 0  # examples the backend declined (NotImplementedError)
    worst_ratio: float | None = None
    worst: str = ""
    seconds: float = 0.0
    message: str = ""
    reproducer: str = ""
    bands: dict = field(default_factory=dict)  # size band -> {"worst": ratio, "probable": ratio}
    case: dict | None = field(default=None, repr=False)
    # each failing option class: option_class, tier, ratio, message, reproducer, case (the first is
    # message, reproducer and case above)
    failures: list = field(default_factory=list)
    worst_reproducer: str = ""  # the worst case met, where shrinking ended at a milder one
    declined: dict = field(default_factory=dict)  # the backend's reason -> examples declined for it

    @property
    def id(self) -> str:
        return check_id(self.op, self.dtype)

    @property
    def failed(self) -> bool:
        """Known failures are strict: one that passes fails too, so a stale entry is noticed."""
        return self.status in ("fail", "improbable", "unexpected pass")

    def note(self, case: dict, cmp: Comparison) -> None:
        """Keep the worst ratios of the size band of ``case`` (its largest dimension)."""
        band = self.bands.setdefault(size_band(case), {})
        for tier, ratio in ((cmp.tier, cmp.ratio), ("probable", cmp.probable_ratio)):
            if ratio is not None and ratio > band.get(tier, -1.0):
                band[tier] = ratio

    def to_json(self) -> dict:
        d = asdict(self)
        d["id"] = self.id
        d["failures"] = [{k: (str(v) if k == "ratio" and not math.isfinite(v) else v)
                          for k, v in f.items() if k != "case"} for f in self.failures]
        if d["worst_ratio"] is not None and not math.isfinite(d["worst_ratio"]):
            d["worst_ratio"] = str(d["worst_ratio"])
        d["bands"] = {b: {t: r if math.isfinite(r) else str(r) for t, r in v.items()} for b, v in self.bands.items()}
        return d


# Size bands for the report's headroom: the largest dimension of a case's arrays.
BANDS = ((16, "<=16"), (256, "<=256"), (4096, "<=4096"), (math.inf, ">4096"))


def _extent(value) -> int:
    if not isinstance(value, list):
        return 0
    return max(len(value), max(map(_extent, value), default=0))


def max_extent(case: dict) -> int:
    """The largest dimension of a case's arrays."""
    shapes = case.get("shapes", {})
    return max([_extent(v) for v in case["arrays"].values()] + [max(s) for s in shapes.values() if s], default=0)


def size_band(case: dict) -> str:
    n = max_extent(case)
    return next(label for top, label in BANDS if n <= top)


class _Failure(AssertionError):
    pass


class _Declined(BaseException):
    """Stops hypothesis at once (it lets BaseException through): the backend declines the operation."""


def run_probes(backend, op: Operation, p: Precision, result: CheckResult) -> CheckResult:
    """A bad-input operation: every probe must raise (any exception); one that returns is reported
    as accepted silently, and fails the check."""
    accepted = []
    for what, case in op.probes:
        args = round_case(op, case, p)
        try:
            got = op.call(backend, backend_args(op, case, args, backend, p))
        except Exception:  # noqa: BLE001 - any exception is a rejection
            result.examples += 1
            continue
        result.examples += 1
        accepted.append(f"{what} (returned {to_lists(next(iter(got.values())))!r:.60})")
        result.case = result.case or case
    if accepted:
        result.status = "fail"
        result.message = "accepts silently: " + "; ".join(accepted)
    else:
        result.message = f"raises for all {len(op.probes)} bad inputs"
    return result


# A backend that declines this many examples before accepting one does not implement the operation.
DECLINED_LIMIT = 10


# A check that fails searches again without the failing case's option class (option_classes), at
# most this many times: an empty batch or special values failing must not hide every other result.
MAX_FAILING_CLASSES = 4


def run_check(backend, spec: str, op: Operation, dtype: str, profile: Profile, seed: int | None = None) -> CheckResult:
    """Check one operation in one dtype on ``backend`` (``spec`` is how to load it again, for the
    reproducer). Never raises for a failing backend: the result says what happened, with each
    failing option class and, where the search met a worse case than the one it shrank to, that
    case's own reproducer."""
    p = get_precision(dtype)
    result = CheckResult(getattr(backend, "name", spec), op.id, dtype, "pass")
    start = time.perf_counter()
    if not callable(getattr(backend, op.method, None)):
        result.status, result.message = "not implemented", f"no method {op.method!r}"
        return result
    if dtype in getattr(backend, "unsupported_dtypes", {}):
        result.status, result.message = "not implemented", f"{dtype}: {backend.unsupported_dtypes[dtype]}"
        return result
    reason = interpreter.not_meaningful(backend, dtype)
    if reason:
        result.status, result.message = "not meaningful", reason
        return result
    if hasattr(backend, "set_dtype"):
        backend.set_dtype(dtype)
    if op.probes:
        result = run_probes(backend, op, p, result)
        result.seconds = time.perf_counter() - start
        return _known(backend, result)
    search = _Search(backend, op, p, profile, seed, result)
    with warnings.catch_warnings():  # numpy's notes on masked lanes of interpreted kernels, and
        warnings.simplefilter("ignore", RuntimeWarning)  # hypothesis' on the repr of large cases
        warnings.simplefilter("ignore", HypothesisWarning)
        for _ in range(MAX_FAILING_CLASSES):
            failing = search.run()
            if failing is None:
                break
            features = option_classes.of(op, failing[0])
            result.failures.append(_failure(spec, op.id, dtype, features, *failing))
            if not features or features in search.excluded:
                break  # plain inputs fail: there is no other class to look at
            search.excluded.append(features)
        if failing is not None and math.isfinite(search.worst.ratio):
            search.run(measure=True)  # the search stopped at a failure: its worst ratio is found as a pass's is
    result.seconds = time.perf_counter() - start
    # A class found later within an earlier one (transposed layout, after transposed layout + z_loss)
    # explains it: the earlier, with more options, is left out; plain inputs explain nothing (a failure
    # at special values stays beside the finite one).
    classes = [set(f["option_class"]) for f in result.failures]
    result.failures = [f for f in result.failures if not any(c and c < set(f["option_class"]) for c in classes)]
    worst, worst_case = search.worst, search.worst_case
    if worst is not None:
        result.worst_ratio = worst.ratio
        result.worst = worst.describe() if worst.problem or worst.ratio > 0 else ""
    if result.failures:
        first = result.failures[0]
        result.status = "improbable" if all(f["tier"] == "probable" for f in result.failures) else "fail"
        result.case, result.message, result.reproducer = first["case"], first["message"], first["reproducer"]
        result.worst_ratio = max([result.worst_ratio or 0.0] + [f["ratio"] for f in result.failures])
        if worst is not None and worst.ratio > max(f["ratio"] for f in result.failures):
            result.worst_reproducer = reproducer(spec, op.id, dtype, worst_case)  # shrinking found a milder one
    return _known(backend, result)


def _failure(spec, op_id, dtype, features, case, cmp) -> dict:
    return {"option_class": list(features), "tier": cmp.tier, "ratio": cmp.ratio, "message": cmp.describe(),
            "reproducer": reproducer(spec, op_id, dtype, case), "case": case}


class _Search:
    """One operation x dtype on a backend: the boundary cases, then hypothesis' search, skipping the
    option classes in ``excluded``; run() returns the (case, comparison) of the failure it stopped
    at (shrunk), or None. Boundary cases that passed are not run again in a later search."""

    def __init__(self, backend, op, p, profile, seed, result):
        self.backend, self.op, self.p, self.result = backend, op, p, result
        self.excluded: list = []
        self.worst = self.worst_case = self.failing = None
        self.measure = False  # failures only raise the worst ratio, as passes do, instead of ending the search
        self.declined, self.last = "", 0.0
        slow = getattr(backend, "slow", False)
        self.boundary = op.boundary((profile.slow_edges if slow else profile.edges), p) if op.boundary else []
        self.passed: set = set()
        test = settings(
            settings.get_profile("conformance"),
            max_examples=profile.slow_examples if slow else profile.examples,
            derandomize=profile.derandomize and seed is None,
            phases=(Phase.explicit, Phase.generate, Phase.target, Phase.shrink),
        )(given(case=op.cases(profile.limits, p))(self._check))
        self.test = test if seed is None else hypothesis_seed(seed)(test)

    def _skip(self, case) -> bool:
        return bool(self.excluded) and option_classes.excluded(option_classes.of(self.op, case), self.excluded)

    def _record(self, case) -> bool:
        """Run one case; False if the backend declined it. Raises _Failure if it fails."""
        result = self.result
        try:
            cmp = evaluate(self.backend, self.op, case, self.p)
        except _Unsupported as e:
            result.skipped += 1
            self.declined = str(e)
            result.declined[self.declined] = result.declined.get(self.declined, 0) + 1
            return False
        result.examples += 1
        result.note(case, cmp)
        self.last = cmp.ratio
        if self.worst is None or cmp.ratio > self.worst.ratio:
            self.worst, self.worst_case = cmp, case
        if not cmp.ok and not self.measure:
            self.failing = (case, cmp)
            raise _Failure(cmp.describe())
        return True

    def _check(self, case):
        if self._skip(case) or not self._record(case):
            if self.result.examples == 0 and self.result.skipped >= DECLINED_LIMIT:
                raise _Declined(self.declined)
            reject()
        # the search climbs towards the headline number (hypothesis takes finite numbers: a measuring
        # search meets failures of infinite ratio)
        target(min(self.last, sys.float_info.max), label="error / bound")

    def run(self, measure: bool = False):
        """Search; with ``measure``, through every example of the budget, failing or not."""
        result = self.result
        self.failing, self.measure = None, measure
        try:
            for i, case in enumerate(self.boundary):  # fixed cases, minimal as they are: no shrinking
                if i not in self.passed and not self._skip(case):
                    self._record(case)
                    self.passed.add(i)
            self.test()
        except (Unsatisfiable, _Declined) as e:
            if result.examples == 0 and not result.failures:
                result.status = "not implemented"
                reason = f": {e}" if isinstance(e, _Declined) else ""
                result.message = f"the backend declined all {result.skipped} examples tried{reason}"
        except _Failure:
            return self.failing
        except Exception as e:  # noqa: BLE001 - an error in the harness is reported, not hidden
            result.failures.append({"option_class": [], "tier": "worst", "ratio": math.inf, "case": None,
                                    "message": f"the check itself raised {type(e).__name__}: {e}", "reproducer": ""})
        return None


def _known(backend, result: CheckResult) -> CheckResult:
    """A known failure that failed is expected; one that passed is an unexpected pass (a failure)."""
    if not is_known_failure(backend, result.op, result.dtype):
        return result
    if result.status == "pass":
        result.status = "unexpected pass"
        result.message = ("listed as a known failure but passed: remove its entry from the backend's known "
                          "failures (conformance/known_failures/<backend>.txt for the built-in ones)")
    elif result.failed:
        result.status = "expected failure"
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
