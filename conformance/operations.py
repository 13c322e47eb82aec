"""The catalogue of checked operations: for each, the inputs to try, how to call a backend, the bound.

An :class:`Operation` ties together

- ``cases(limits, precision)``: a hypothesis strategy of cases, each a dict with ``arrays`` (named
  nested lists, rounded to the format under test before use), ``options`` (keyword values passed
  as they are, floats rounded to the compute precision) and ``layout`` (how torch arrays are laid
  out in memory);
- ``call(backend, args)``: calls the backend's method with the converted arrays and the options
  and names its results. The oracle is the same call on the ``reference`` backend;
- ``bound(args, expected, precision)``: the per-element error bound of the tolerance model, in
  the shape of the results.

Operation ids: ``activation[relu]``, ``activation_grad[relu]``, ``softmax``, ``log_softmax``,
``cross_entropy[mean|sum|none|all_ignored]`` and ``cross_entropy_grad[...]``,
``linear_cross_entropy[mean|sum|none]`` and ``linear_cross_entropy_grad[...]``, ``mse``,
``mse_grad``, ``squared_error``, ``squared_error_grad``, ``binary_cross_entropy``,
``binary_cross_entropy_grad``, ``categorical_cross_entropy``, ``categorical_cross_entropy_grad``,
``linear``, ``linear_act[σ]``, ``linear_act_backward[σ]``, ``mlp_forward``, ``mlp_backward``,
``optimizer_step[sgd|adam|adamw|rmsprop|adagrad]``, ``bad_input[cross_entropy|linear_cross_entropy|linear|
linear_act]`` (inputs a backend must reject), and ``untouched[F]``, ``repeatable[F]`` for the families F
softmax, log_softmax, cross_entropy, linear_cross_entropy, linear, linear_act (properties of the calls
on their cases: the caller's inputs untouched, repeated calls bitwise equal). A test id is
``<operation id>@<dtype>``.

Adding an operation (what linear_cross_entropy needed):

1. the oracle: a composition of ``reference`` functions in the reference backend (or a new
   reference function, standard library only);
2. the protocol: a row in the table of conformance/backends/__init__.py, and the method in the
   torch backend (and the triton one where the kernels have it);
3. here: ``cases`` (a hypothesis strategy; reuse ``_draw_ce``-style helpers), ``call``, ``bound``
   (from conformance.tolerance: compose the existing bounds, passing input errors along, rather
   than deriving a new one), ``boundary`` (strategies.Edges), ``expect`` where special values need
   a rule, ``option_defaults`` for its option classes, and the Operation in ``_all()``;
4. its entry in TOLERANCE.md, and the operation ids in this docstring;
5. a mutant in tests/test_conformance_mutants.py that the ci profile must catch.

The registry, ``--list``, the vectors (``python -m conformance export``), the reports and the known
failures' ids follow from the Operation by themselves.

>>> OPERATIONS["softmax"].method
'softmax'
>>> len([op for op in OPERATIONS if op.startswith("optimizer_step")])
5
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

from hypothesis import strategies as st

from reference import activations, losses
from reference.activations import ACTIVATIONS, get_activation
from reference import linear as reference_linear
from reference.optimizers import OPTIMIZERS

from . import strategies as S
from . import tolerance as T
from .backends import LAYOUTS


@dataclass(frozen=True)
class Operation:
    """One checked operation (see the module docstring)."""

    id: str
    method: str
    summary: str
    cases: Callable
    call: Callable
    bound: Callable
    integer_arrays: frozenset = field(default_factory=frozenset)
    boundary: Callable | None = None  # (edges, precision) -> the fixed boundary cases (strategies.Edges)
    expect: Callable | None = None  # args -> expected results, where special values need a rule
    probes: tuple = ()  # for a bad-input operation: (what is wrong, case) pairs the backend must reject
    option_defaults: dict = field(default_factory=dict)  # options whose use is an option class (option_classes)
    # "oracle": results held to the oracle; "untouched", "repeatable": a property of the calls themselves
    # (runner.check_property), on the cases of the operation each case names ("op")
    check: str = "oracle"
    trainable: tuple = ()  # for "untouched": the arrays a training step passes requiring grad


def _case(arrays: dict, options: dict | None = None, layout: str = "contiguous", *, tier: str = "worst",
          shapes: dict | None = None, layouts: dict | None = None, formats: dict | None = None,
          repeat: dict | None = None) -> dict:
    """A case. ``tier``: the bound it is held to besides the worst case, "probable" (random inputs,
    tolerance.probable) or "exact" (exact inputs: the correctly rounded result). Per array:
    ``shapes``, the shape that nested lists cannot express (N = 0 rows of V); ``layouts``, a layout
    of its own (backends.ARRAY_LAYOUTS) instead of ``layout``; ``formats``, a format of its own
    instead of the check's (16-bit class weights beside float32 logits); ``repeat``, how many times
    its rows are repeated for the backend (the oracle and the comparison take the last repetition:
    rows past 2^31 elements, without a float64 oracle over all of them)."""
    case = {"arrays": arrays, "options": options or {}, "layout": layout}
    if tier != "worst":
        case["tier"] = tier
    for key, value in (("shapes", shapes), ("layouts", layouts), ("formats", formats), ("repeat", repeat)):
        if value:
            case[key] = value
    return case


def _seed(*numbers: int) -> int:
    return hash(numbers) & 0xFFFFFFFF  # ints hash to themselves: the same on every run


# torch's rule at NaN (the oracle rejects non-finite inputs, and its relu(NaN) is 0): σ(NaN) is NaN,
# except step, which compares (NaN >= 0 is false: 0).
def _at_nan(name: str) -> float:
    return 0.0 if name == "step" else math.nan


def _nan_rows(x, poison) -> tuple[list, set]:
    """x with its rows that hold a ``poison`` value replaced by zeros, and those rows' indices."""
    bad = {i for i, row in enumerate(x) if any(map(poison, row))}
    return [[0.0] * len(row) if i in bad else row for i, row in enumerate(x)], bad


_layouts = S.choice(*LAYOUTS)


_UPSTREAM_VALUES = S.option_floats(1.0, -0.5, 3.0, low=-4.0, high=4.0)
_UPSTREAM_LAYOUTS = S.choice(None, "expanded", "strided")


def _upstream(draw, shape: tuple, values) -> tuple:
    """An upstream gradient of ``shape`` drawn from the strategy ``values``, and two times in three a
    layout of its own (else None: the other arrays'): ``expanded``, one value at stride 0, as
    autograd passes it after ``.sum()`` or ``.mean()``, or ``strided``, a slice ``buf[::2]``, beside
    inputs of any layout."""
    layout = draw(_UPSTREAM_LAYOUTS)
    if layout == "expanded":
        return S.reshape([draw(_UPSTREAM_VALUES)] * math.prod(shape), shape), layout
    return draw(values), layout


def _grad_output(draw, reduction: str, shape: tuple, p) -> tuple:
    """The upstream gradient of a loss and its own layout (_upstream): an array like the loss for
    "none", else a number (layout None)."""
    if reduction == "none":
        return _upstream(draw, shape, S.array(shape, p, cap=8.0, scale=1.0))
    return draw(_UPSTREAM_VALUES), None


def _given(**entries) -> dict:
    return {k: v for k, v in entries.items() if v is not None}

# ------------------------------------------------------------------------------------------------
# Activations
# ------------------------------------------------------------------------------------------------
# The parameters each activation takes, drawn at their default half of the time.
_PARAMS = {
    "leaky_relu": {"negative_slope": (0.01, S.option_floats(0.2, 0.0, -0.5, low=-1.0, high=1.0))},
    "sigmoid": {"lam": (1.0, S.option_floats(0.5, 2.0, 4.0, low=0.0625, high=8.0))},
}


@functools.lru_cache(maxsize=None)
def _params(name: str):
    """Parameters, each left out (the backend's default), given as the default, or another value."""
    specs = _PARAMS.get(name, {})
    return st.fixed_dictionaries({}, optional={k: st.one_of(st.just(default), other)
                                               for k, (default, other) in specs.items()})


def _act_params(name: str, args: dict) -> dict:
    """The activation parameters among a case's arguments (absent ones: the defaults)."""
    return {k: args[k] for k in _PARAMS.get(name, {}) if k in args}


def _activation_cases(name: str):
    @st.composite
    def cases(draw, limits: S.Limits, p: T.Precision):
        n = draw(S.sizes(limits.features * limits.rows))
        x = draw(S.array((n,), p, cap=min(1e4, p.max / 8)))
        return _case({"x": x}, draw(_params(name)), draw(_layouts))
    return cases


def _activation_boundary(grad: bool):
    """Every feature edge as a length (elementwise kernels have blocks too), then the special values:
    NaN and ±inf for σ only (torch's autograd formulas give NaN where σ' has a finite limit)."""
    def boundary(edges, p):
        out = [_case({"x": [4.0 * v for v in S.filled((n,), "normal", _seed(n))]}) for n in edges.features]
        specials = [v for v in S.special_values(p) if math.isfinite(v) or not grad]
        return out + [_case({"x": specials})]
    return boundary


def _activation_expect(name: str):
    f = get_activation(name).f

    def expect(a):
        params = _act_params(name, a)
        return {"y": [_at_nan(name) if math.isnan(v) else f(v, **params) for v in a["x"]]}
    return expect


def _activation_ops(name: str) -> list[Operation]:
    act = get_activation(name)

    def elementwise(method: str, result: str, terms):
        def call(b, a):
            return {result: getattr(b, method)(name, a["x"], **_act_params(name, a))}

        def bound(a, expected, p):
            params = _act_params(name, a)
            g = functools.partial(act.f if method == "activation" else act.df, **params)
            kinks = T.KINKS[name]
            return {result: [T.elementwise_bound(g, terms[name](v, **params), v, p, 0.0, kinks) for v in a["x"]]}

        return call, bound

    return [
        Operation(f"activation[{name}]", "activation", f"y = σ(x) elementwise, {act.formula.split(';')[0]}",
                  _activation_cases(name), *elementwise("activation", "y", T.VALUE_TERMS),
                  boundary=_activation_boundary(False), expect=_activation_expect(name)),
        Operation(f"activation_grad[{name}]", "activation_grad", f"σ'(x) elementwise for {name}",
                  _activation_cases(name), *elementwise("activation_grad", "dy", T.DERIVATIVE_TERMS),
                  boundary=_activation_boundary(True)),
    ]


# ------------------------------------------------------------------------------------------------
# Softmax and cross-entropy
# ------------------------------------------------------------------------------------------------

@st.composite
def _softmax_cases(draw, limits, p):
    m, v = draw(S.sizes(limits.rows)), draw(S.sizes(limits.features))
    return _case({"x": draw(S.logit_rows(m, v, p))}, layout=draw(_layouts))


def _softmax_boundary(edges, p):
    """Per feature edge v: rows whose largest logit sits at each block position, and a plain random
    row; per row edge m: m rows of 2 logits, the larger one last; then rows with NaN, ±inf,
    subnormals."""
    out = []
    for v in edges.features:
        peaks = S.block_positions(v)
        x = S.peaked_rows(peaks, v, _seed(v)) + S.filled((1, v), "normal", _seed(v, 1))
        out.append(_case({"x": x}, tier="probable"))
    for m in edges.rows:
        out.append(_case({"x": S.peaked_rows([1] * m, 2, _seed(m))}, tier="probable", shapes={"x": (m, 2)}))
    sp = S.special_values(p)
    out.append(_case({"x": [[sp[0], 1.0, 2.0], [sp[1], 0.0, 1.0], [sp[2], 0.0, 1.0], [sp[3], sp[4], sp[5]]]}))
    return out


def _softmax_expect(log: bool):
    """torch's rule: a row holding NaN or +inf is NaN throughout (exp(inf - inf)); -inf is a masked class."""
    def expect(a):
        clean, bad = _nan_rows(a["x"], lambda v: math.isnan(v) or v == math.inf)
        fn = activations.log_softmax if log else activations.softmax
        return {"y": [[math.nan] * len(row) if i in bad else fn(row) for i, row in enumerate(clean)]}
    return expect


_CE_OPTIONS = ("weight", "ignore_index", "reduction", "label_smoothing", "z_loss")
_CE_DEFAULTS = {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0, "z_loss": 0.0}
_CE_CLASSES = {k: v for k, v in _CE_DEFAULTS.items() if k != "reduction"}  # reduction: one operation each


@functools.lru_cache(maxsize=None)
def _valid_class(v: int, ignore_index: int):
    return st.integers(0, v - 1).filter(lambda c: c != ignore_index)


@functools.lru_cache(maxsize=None)
def _targets(n: int, v: int, ignore_index: int):
    """n class indices, about a third of them ignore_index."""
    valid = _valid_class(v, ignore_index)
    return st.lists(st.one_of(valid, valid, st.just(ignore_index)), min_size=n, max_size=n)


@functools.lru_cache(maxsize=None)
def _class_weights(v: int):
    return st.none() | st.lists(S.option_floats(1.0, 0.125, 8.0, low=0.125, high=8.0), min_size=v, max_size=v)


def _other_16bit(dtype: str) -> tuple:
    """The 16-bit formats class weights may have beside logits of ``dtype`` (torch raises for such a
    pair; a backend that accepts it must use the weights' values)."""
    return tuple(f for f in ("bfloat16", "float16") if f != dtype)


@functools.lru_cache(maxsize=None)
def _weight_formats(dtype: str):
    """The class weights' format: the check's (None) or a 16-bit one of its own."""
    return S.choice(None, *_other_16bit(dtype))


def _draw_ce(draw, n: int, v: int, variant: str, p, grad: bool, weight_name: str = "weight"):
    """The cross-entropy part of a case of n rows of v classes: targets (about a third ignore_index;
    at least one counted unless all_ignored), class weights or none (as ``weight_name``), sometimes
    in a 16-bit format of their own, options with their defaults sometimes left out (so that the
    backend's own defaults are checked too), and grad_output if ``grad``. Returns (arrays, options,
    the case's per-array ``layouts`` and ``formats``)."""
    ignore_index = draw(S.choice(-100, -1, 0) if v > 1 else S.choice(-100, -1))
    if variant == "all_ignored":
        reduction = draw(S.choice(*losses.REDUCTIONS))
        target = [ignore_index] * n
    else:
        reduction = variant
        target = list(draw(_targets(n, v, ignore_index)))
        if all(t == ignore_index for t in target):
            target[0] = draw(_valid_class(v, ignore_index))
    eps = draw(S.choice(0.0, 0.0, 0.1, 0.5, 1.0))
    z_loss = draw(S.choice(0.0, 0.0, 1e-4, 0.1))
    weight = draw(_class_weights(v))
    arrays = {"target": target, weight_name: weight}
    formats = {weight_name: draw(_weight_formats(p.torch_dtype))} if weight is not None else {}
    layouts = {}
    if grad:
        arrays["grad_output"], layouts["grad_output"] = _grad_output(draw, reduction, (n,), p)
    options = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": eps, "z_loss": z_loss}
    options = {k: v for k, v in options.items() if v != _CE_DEFAULTS[k] or draw(S.BOOLEANS)}
    if weight is None and draw(S.BOOLEANS):
        del arrays[weight_name]
    return arrays, options, {"layouts": _given(**layouts), "formats": _given(**formats)}


def _ce_cases(variant: str, grad: bool):
    @st.composite
    def cases(draw, limits, p):
        n, v = draw(S.sizes(limits.rows)), draw(S.sizes(limits.features))
        arrays, options, own = _draw_ce(draw, n, v, variant, p, grad)
        ignore_index = options.get("ignore_index", -100)
        protect = tuple(t if t != ignore_index else None for t in arrays["target"])
        arrays["logits"] = draw(S.logit_rows(n, v, p, allow_neg_inf=options.get("label_smoothing", 0.0) == 0.0,
                                             protect=protect))
        return _case(arrays, options, draw(_layouts), **own)
    return cases


def _in_layouts(case: dict) -> list:
    """``case`` in each layout but contiguous: every profile then tries each, whatever it draws."""
    return [{**case, "layout": layout} for layout in LAYOUTS[1:]]


def _boundary_grad_output(arrays: dict, n: int, seed: int, expanded: bool) -> dict | None:
    """Adds a boundary case's grad_output of n rows, N(0, 1), or one such value at stride 0
    (``expanded``, as .sum() passes it); returns the case's per-array layouts."""
    arrays["grad_output"] = S.filled((1,), "normal", seed) * n if expanded else S.filled((n,), "normal", seed)
    return {"grad_output": "expanded"} if expanded else None


def _ce_boundary(variant: str, grad: bool):
    """Per feature edge v and long row v beyond any tile (not for all_ignored): confident rows whose
    target sits at each block position, a row whose largest logit is the last one but whose target
    is 0, a plain random row with the last class as target; per row edge m: m random rows of 2
    classes (N = 0 only where the reduction has a value for it), their grad_output expanded (one
    value at stride 0, as after .sum()); for "none", per huge shape (N, V) a confident row with the
    last target and a random row, repeated to N rows (the last two, past 2^31 elements, are
    compared); 3 rows of 5 classes in each layout but contiguous, and weighted by class weights in
    each 16-bit format but the check's. Every other option at its default, left out."""
    def case(logits, target, v, seed, repeat=1, expanded=False, weight_format=None):
        n = len(target)
        arrays = {"logits": logits, "target": target}
        if weight_format:
            arrays["weight"] = S.filled((v,), "positive", seed)
        layouts = _boundary_grad_output(arrays, n, seed, expanded) if grad and variant == "none" else None
        options = {} if variant in ("mean", "all_ignored") else {"reduction": variant}
        return _case(arrays, options, tier="probable", shapes={"logits": (n, v)}, layouts=layouts,
                     formats={"weight": weight_format} if weight_format else None,
                     repeat=dict.fromkeys(arrays, repeat) if repeat > 1 else None)

    def boundary(edges, p):
        out = []
        if variant != "all_ignored":
            for v in edges.features + edges.long_rows:
                peaks = S.block_positions(v)
                logits = S.peaked_rows(peaks + [v - 1], v, _seed(v)) + S.filled((1, v), "normal", _seed(v, 1))
                out.append(case(logits, peaks + [0, v - 1], v, _seed(v, 2)))
            small = (S.filled((3, 5), "normal", _seed(5)), [0, 4, 2], 5, _seed(5, 1))
            out += _in_layouts(case(*small))
            out += [case(*small, weight_format=f) for f in _other_16bit(p.torch_dtype)]
        if variant == "none":
            for n, v in edges.huge:
                logits = S.peaked_rows([v - 1], v, _seed(n, v)) + S.filled((1, v), "normal", _seed(n, v, 1))
                out.append(case(logits, [v - 1, 0], v, _seed(n, v, 2), repeat=n // 2))
        for m in edges.rows:
            if m == 0 and variant == "mean":
                continue  # 0 / 0: the all_ignored operation's case
            target = [-100] * m if variant == "all_ignored" else [i % 2 for i in range(m)]
            out.append(case(S.filled((m, 2), "normal", _seed(m)), target, 2, _seed(m, 2), expanded=True))
        return out
    return boundary


def _ce_kwargs(a):
    return {k: a[k] for k in _CE_OPTIONS if k in a}


def _ce_args(a):
    """The options with the defaults filled in, for the bounds."""
    return {k: a.get(k, default) for k, default in _CE_DEFAULTS.items()}


def _ce_bound(a, expected, p):
    o = _ce_args(a)
    if not a["logits"]:
        return {"loss": [] if o["reduction"] == "none" else p.floor}
    rows = losses.cross_entropy(a["logits"], a["target"], **{**o, "reduction": "none"})
    return {"loss": T.cross_entropy_bound(a["logits"], a["target"], o["weight"], o["ignore_index"], o["reduction"],
                                          o["label_smoothing"], o["z_loss"], rows, expected["loss"], p)}


def _ce_grad_bound(a, expected, p):
    o = _ce_args(a)
    if not a["logits"]:
        return {"grad": []}
    return {"grad": T.cross_entropy_grad_bound(a["logits"], a["target"], o["weight"], o["ignore_index"],
                                               o["reduction"], o["label_smoothing"], o["z_loss"],
                                               a.get("grad_output", 1.0), expected["grad"], p)}


def _ce_grad_call(b, a):
    grad_output = {"grad_output": a["grad_output"]} if "grad_output" in a else {}
    return {"grad": b.cross_entropy_grad(a["logits"], a["target"], **_ce_kwargs(a), **grad_output)}


def _ce_ops() -> list[Operation]:
    out = []
    for variant in ("mean", "sum", "none", "all_ignored"):
        out.append(Operation(
            f"cross_entropy[{variant}]", "cross_entropy",
            "softmax cross-entropy from logits with class weights, ignore_index, label smoothing, z-loss",
            _ce_cases(variant, grad=False),
            lambda b, a: {"loss": b.cross_entropy(a["logits"], a["target"], **_ce_kwargs(a))},
            _ce_bound, frozenset({"target"}), boundary=_ce_boundary(variant, False), option_defaults=_CE_CLASSES))
        out.append(Operation(
            f"cross_entropy_grad[{variant}]", "cross_entropy_grad", "∂ cross_entropy / ∂ logits",
            _ce_cases(variant, grad=True), _ce_grad_call, _ce_grad_bound, frozenset({"target"}),
            boundary=_ce_boundary(variant, True), option_defaults=_CE_CLASSES))
    return out


# ------------------------------------------------------------------------------------------------
# Fused linear + cross-entropy
# ------------------------------------------------------------------------------------------------
# The cross-entropy's options; its class weights are ``class_weight`` (``weight`` is the layer's).
_LCE_CLASSES = {"class_weight": None, **{k: v for k, v in _CE_CLASSES.items() if k != "weight"}}


def _lce_cases(variant: str, grad: bool):
    @st.composite
    def cases(draw, limits, p):
        n, d, v = draw(S.sizes(limits.rows)), draw(S.sizes(limits.features)), draw(S.sizes(limits.features))
        arrays, options, own = _draw_ce(draw, n, v, variant, p, grad, weight_name="class_weight")
        cap = S.layer_cap(p, max(n, d, v))
        arrays.update({"x": draw(S.array((n, d), p, cap=cap, scale=1.0)),
                       "weight": draw(S.array((v, d), p, cap=cap, scale=1.0 / math.sqrt(d))),
                       "bias": draw(_optional(S.array((v,), p, cap=cap, scale=1.0)))})
        return _case(arrays, options, draw(_layouts), **own)
    return cases


def _lce_boundary(variant: str, grad: bool):
    """Per feature edge V: 3 rows of 8 features, targets 0, V - 1 and V // 2, and for V = 5 in each
    layout but contiguous; per row edge M (not 0): M rows of 4 features into 2 classes, grad_output
    expanded (stride 0). Normal fills (probable tier), options at their defaults."""
    def boundary(edges, p):
        shapes = [(3, 8, v, False) for v in edges.features + (5,)] + [(m, 4, 2, True) for m in edges.rows if m]
        out = []
        for m, d, v, expanded in shapes:
            seed = _seed(m, d, v)
            arrays = {"x": S.filled((m, d), "normal", seed),
                      "weight": [[w / math.sqrt(d) for w in row] for row in S.filled((v, d), "normal", seed + 1)],
                      "bias": S.filled((v,), "normal", seed + 2),
                      "target": [(0, v - 1, v // 2)[i % 3] for i in range(m)]}
            layouts = _boundary_grad_output(arrays, m, seed + 3, expanded) if grad and variant == "none" else None
            out.append(_case(arrays, {} if variant == "mean" else {"reduction": variant}, tier="probable",
                             layouts=layouts))
            if v == 5:
                out[-1:] = _in_layouts(out[-1])
        return out
    return boundary


def _lce_kwargs(a):
    return {k: a[k] for k in _LCE_CLASSES if k in a} | ({"reduction": a["reduction"]} if "reduction" in a else {})


def _lce_bound(grad: bool, identity=get_activation("identity")):
    def bound(a, expected, p):
        o = {**_CE_DEFAULTS, "class_weight": None, **_lce_kwargs(a)}
        logits = reference_linear.linear(a["x"], a["weight"], a["bias"])
        ce = {"weight": o["class_weight"], "ignore_index": o["ignore_index"], "label_smoothing": o["label_smoothing"],
              "z_loss": o["z_loss"]}
        rows = losses.cross_entropy(logits, a["target"], reduction="none", **ce)
        result = losses.cross_entropy(logits, a["target"], reduction=o["reduction"], **ce)
        g = losses.cross_entropy_grad(logits, a["target"], reduction=o["reduction"],
                                      grad_output=a.get("grad_output", 1.0), **ce) if grad else None
        bounds = T.linear_cross_entropy_bounds(a["x"], a["weight"], a["bias"], a["target"], o["class_weight"],
                                               o["ignore_index"], o["reduction"], o["label_smoothing"], o["z_loss"],
                                               rows, result, g, a.get("grad_output", 1.0), identity, p)
        return dict(zip(("dx", "dweight", "dbias"), bounds[1])) if grad else {"loss": bounds}
    return bound


def _lce_call(b, a):
    return {"loss": b.linear_cross_entropy(a["x"], a["weight"], a["target"], a["bias"], **_lce_kwargs(a))}


def _lce_grad_call(b, a):
    grad_output = {"grad_output": a["grad_output"]} if "grad_output" in a else {}
    grads = b.linear_cross_entropy_grad(a["x"], a["weight"], a["target"], a["bias"], **_lce_kwargs(a), **grad_output)
    return dict(zip(("dx", "dweight", "dbias"), grads))


def _lce_ops() -> list[Operation]:
    out = []
    for variant in ("mean", "sum", "none"):
        out.append(Operation(
            f"linear_cross_entropy[{variant}]", "linear_cross_entropy",
            "cross-entropy of the logits x W^T + b, fused (class weights as class_weight, ignore_index, label "
            "smoothing, z-loss)", _lce_cases(variant, False), _lce_call, _lce_bound(False), frozenset({"target"}),
            boundary=_lce_boundary(variant, False), option_defaults=_LCE_CLASSES))
        out.append(Operation(
            f"linear_cross_entropy_grad[{variant}]", "linear_cross_entropy_grad",
            "∂ linear_cross_entropy / ∂ (x, W, b)", _lce_cases(variant, True), _lce_grad_call, _lce_bound(True),
            frozenset({"target"}), boundary=_lce_boundary(variant, True), option_defaults=_LCE_CLASSES))
    return out


# ------------------------------------------------------------------------------------------------
# Elementwise losses
# ------------------------------------------------------------------------------------------------

def _flat(a):
    return [v for row in a for v in row] if a and isinstance(a[0], list) else list(a)


def _pair_cases(kind: str, grad: bool):
    """Cases (y, d) for mse / squared_error (any values), bce (probabilities) and cce (rows)."""
    @st.composite
    def cases(draw, limits, p):
        m, c = draw(S.sizes(limits.rows)), draw(S.sizes(limits.features))
        if kind == "regression":
            cap = min(1e4, math.sqrt(p.max / (16.0 * m * c)))
            y, d = draw(S.array((m, c), p, cap=cap)), draw(S.array((m, c), p, cap=cap))
        else:
            y, d = draw(S.probabilities((m, c), p)), draw(S.probabilities((m, c), p, labels=kind == "cce"))
            if kind == "cce":  # a class with d > 0 needs p > 0 (the loss is finite)
                d = [[dc if pc > 0.0 else 0.0 for pc, dc in zip(pr, dr)] for pr, dr in zip(y, d)]
        arrays = {"y": y, "d": d}
        options, layout = {}, None
        if kind != "squared_error":
            options["reduction"] = draw(S.choice(*losses.REDUCTIONS))
            if grad:
                shape = (m,) if kind == "cce" else (m, c)
                arrays["grad_output"], layout = _grad_output(draw, options["reduction"], shape, p)
        return _case(arrays, options, draw(_layouts), layouts=_given(grad_output=layout))
    return cases


def _mse_bound(a, expected, p):
    sq = [(y - d) ** 2 for y, d in zip(_flat(a["y"]), _flat(a["d"]))]
    b = T.reduced_bound([3.0 * v for v in sq], sq, a["reduction"], len(sq), expected["loss"], p)
    return {"loss": S.reshape(b, (len(a["y"]), len(a["y"][0]))) if a["reduction"] == "none" else b}


def _squared_error_bound(a, expected, p):
    half = [0.5 * (y - d) ** 2 for y, d in zip(_flat(a["y"]), _flat(a["d"]))]
    return {"loss": T.reduced_bound([4.0 * v for v in half], half, "sum", len(half), expected["loss"], p)}


def _bce_bound(a, expected, p):
    ps, ds = _flat(a["y"]), _flat(a["d"])
    rows = _flat(losses.binary_cross_entropy(a["y"], a["d"], reduction="none"))
    mags = [d * T.log_magnitude(q) + (1.0 - d) * T.log_magnitude(1.0 - q) + 3.0 * abs(r)
            for q, d, r in zip(ps, ds, rows)]
    b = T.reduced_bound(mags, rows, a["reduction"], len(rows), expected["loss"], p)
    return {"loss": S.reshape(b, (len(a["y"]), len(a["y"][0]))) if a["reduction"] == "none" else b}


def _cce_bound(a, expected, p):
    rows = losses.categorical_cross_entropy(a["y"], a["d"], reduction="none")
    c = len(a["y"][0])
    mags = [math.fsum(d * (T.log_magnitude(q) + p.terms(c) * abs(math.log(q))) for q, d in zip(pr, dr) if d > 0.0) + 2 * abs(r)
            for pr, dr, r in zip(a["y"], a["d"], rows)]
    return {"loss": T.reduced_bound(mags, rows, a["reduction"], len(rows), expected["loss"], p)}


def _grad_bound(units: float, divisor=None):
    """Bounds of a loss gradient of ``units`` roundings; ``divisor(y, d)`` names the denominator of
    a quotient (see tolerance.scaled_grad_bound)."""
    def bound(a, expected, p):
        rows = expected["grad"]
        if divisor is None:
            return {"grad": [T.scaled_grad_bound(row, units, p) for row in rows]}
        return {"grad": [T.scaled_grad_bound(row, units, p, [divisor(y, d) for y, d in zip(yr, dr)])
                         for row, yr, dr in zip(rows, a["y"], a["d"])]}
    return bound


def _loss_ops() -> list[Operation]:
    def red(a):
        return {"reduction": a["reduction"]}

    return [
        Operation("mse", "mse", "mean squared error (1/n) Σ (y - d)², as torch's mse_loss",
                  _pair_cases("regression", False),
                  lambda b, a: {"loss": b.mse(a["y"], a["d"], **red(a))}, _mse_bound),
        Operation("mse_grad", "mse_grad", "∂ mse / ∂ y = 2 (y - d) / n", _pair_cases("regression", True),
                  lambda b, a: {"grad": b.mse_grad(a["y"], a["d"], **red(a), grad_output=a["grad_output"])},
                  _grad_bound(4.0)),
        Operation("squared_error", "squared_error", "E = ½ Σ (y - d)²", _pair_cases("squared_error", False),
                  lambda b, a: {"loss": b.squared_error(a["y"], a["d"])}, _squared_error_bound),
        Operation("squared_error_grad", "squared_error_grad", "∂E/∂y = y - d", _pair_cases("squared_error", True),
                  lambda b, a: {"grad": b.squared_error_grad(a["y"], a["d"])}, _grad_bound(1.0)),
        Operation("binary_cross_entropy", "binary_cross_entropy", "-(d log p + (1 - d) log(1 - p)), logs ≥ -100",
                  _pair_cases("bce", False),
                  lambda b, a: {"loss": b.binary_cross_entropy(a["y"], a["d"], **red(a))}, _bce_bound),
        Operation("binary_cross_entropy_grad", "binary_cross_entropy_grad", "(p - d) / max(p (1 - p), 1e-12)",
                  _pair_cases("bce", True),
                  lambda b, a: {"grad": b.binary_cross_entropy_grad(a["y"], a["d"], **red(a),
                                                                    grad_output=a["grad_output"])},
                  _grad_bound(6.0, lambda q, d: max(q * (1.0 - q), 1e-12))),
        Operation("categorical_cross_entropy", "categorical_cross_entropy", "-Σ_c d_c log p_c per row",
                  _pair_cases("cce", False),
                  lambda b, a: {"loss": b.categorical_cross_entropy(a["y"], a["d"], **red(a))}, _cce_bound),
        Operation("categorical_cross_entropy_grad", "categorical_cross_entropy_grad", "-d / p",
                  _pair_cases("cce", True),
                  lambda b, a: {"grad": b.categorical_cross_entropy_grad(a["y"], a["d"], **red(a),
                                                                         grad_output=a["grad_output"])},
                  _grad_bound(3.0, lambda q, d: q if d > 0.0 else 1.0)),
    ]


# ------------------------------------------------------------------------------------------------
# Layers and MLP
# ------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _optional(strategy):
    return st.none() | strategy


def _layer_cases(name: str | None, backward: bool):
    @st.composite
    def cases(draw, limits, p):
        m, k, n = draw(S.layer_shape(limits))
        cap = S.layer_cap(p, max(k, n, m))
        arrays = {"x": draw(S.array((m, k), p, cap=cap)), "weight": draw(S.array((n, k), p, cap=cap)),
                  "bias": draw(_optional(S.array((n,), p, cap=cap)))}
        layout = None
        if backward:
            arrays["grad_y"], layout = _upstream(draw, (m, n), S.array((m, n), p, cap=cap))
        options = draw(_params(name)) if name else {}
        return _case(arrays, options, draw(_layouts), layouts=_given(grad_y=layout))
    return cases


# Where a layer's result is exact for integer inputs (its exact tier): the sums, relu of them, and
# the backward of the identity (relu's derivative at an exact 0 may be either one-sided value).
_EXACT_LAYERS = {("linear", False), ("identity", False), ("relu", False), ("identity", True)}


def _layer_boundary(name: str, backward: bool):
    """(M, K, N) = (2, K, 3) for each feature edge K, (M, 2, 3) for each row edge M, (1, 3, N) for
    each feature edge N up to 1025 (the output width, a reduction only of dx), M·K·N within
    ``edges.backward_work`` for the backward: random normal fills (probable tier) and, where the result is exact,
    integer fills (exact tier); then saturating values, subnormals and (forward) NaN in a K = 1
    layer. Activation parameters are left out (the defaults)."""
    fills = ("normal", "integers") if (name, backward) in _EXACT_LAYERS else ("normal",)

    def boundary(edges, p):
        shapes = [(2, k, 3) for k in edges.features] + [(m, 2, 3) for m in edges.rows]
        shapes += [(1, 3, n) for n in edges.features if n <= 1025]
        if backward:
            shapes = [s for s in shapes if math.prod(s) <= edges.backward_work]
        out = []
        for m, k, n in shapes:
            for fill in fills:
                seed = _seed(m, k, n, len(fill))
                arrays = {"x": S.filled((m, k), fill, seed), "weight": S.filled((n, k), fill, seed + 1),
                          "bias": S.filled((n,), fill, seed + 2)}
                if backward:
                    arrays["grad_y"] = S.filled((m, n), fill, seed + 3)
                out.append(_case(arrays, tier="exact" if fill == "integers" else "probable",
                                 shapes={"x": (m, k), "grad_y": (m, n)} if backward else {"x": (m, k)}))
        specials = [[v] for v in S.special_values(p) if math.isfinite(v) or (math.isnan(v) and not backward)]
        arrays = {"x": specials, "weight": [[1.0], [0.5], [-2.0]], "bias": [0.0, 0.25, -0.5]}
        if backward:
            arrays["grad_y"] = [[1.0, -1.0, 0.5]] * len(specials)
        return out + [_case(arrays)]
    return boundary


def _layer_expect(name: str | None):
    """torch's rule: a row of x holding NaN gives a row of σ(NaN); the oracle elsewhere."""
    def expect(a):
        clean, bad = _nan_rows(a["x"], math.isnan)
        params = _act_params(name, a) if name else {}
        y = (reference_linear.linear(clean, a["weight"], a.get("bias")) if name is None else
             reference_linear.linear_act(clean, a["weight"], a.get("bias"), name, **params))
        fill = _at_nan(name or "identity")
        return {"y": [[fill] * len(row) if i in bad else row for i, row in enumerate(y)]}
    return expect


def _layer_ops(name: str) -> list[Operation]:
    act = get_activation(name)

    def fwd_call(b, a):
        return {"y": b.linear_act(a["x"], a["weight"], a["bias"], name, **_act_params(name, a))}

    def fwd_bound(a, expected, p):
        return {"y": T.linear_act_bound(a["x"], a["weight"], a["bias"], act, _act_params(name, a), p)}

    def bwd_call(b, a):
        grads = b.linear_act_backward(a["x"], a["weight"], a["bias"], name, a["grad_y"], **_act_params(name, a))
        return dict(zip(("dx", "dweight", "dbias"), grads))

    def bwd_bound(a, expected, p):
        params = _act_params(name, a)
        bounds = T.linear_act_backward_bound(a["x"], a["weight"], a["bias"], act, params, a["grad_y"], p)
        return dict(zip(("dx", "dweight", "dbias"), bounds))

    return [
        Operation(f"linear_act[{name}]", "linear_act", f"y = σ(x W^T + b), σ = {name}", _layer_cases(name, False),
                  fwd_call, fwd_bound, boundary=_layer_boundary(name, False), expect=_layer_expect(name)),
        Operation(f"linear_act_backward[{name}]", "linear_act_backward",
                  f"dx = δ W, dW = δ^T x, db = Σ δ with δ = dy σ'(ξ), σ = {name}", _layer_cases(name, True),
                  bwd_call, bwd_bound, boundary=_layer_boundary(name, True)),
    ]


_MLP_DEPTHS = st.integers(1, 3)
_MLP_ACTIVATIONS = S.choice(*ACTIVATIONS)


def _mlp_cases(backward: bool):
    @st.composite
    def cases(draw, limits, p):
        n_layers = draw(_MLP_DEPTHS)
        widths = [draw(S.sizes(min(limits.features, math.isqrt(limits.work)))) for _ in range(n_layers + 1)]
        work = sum(a * b for a, b in zip(widths, widths[1:]))
        batch = draw(S.sizes(max(1, min(limits.rows, limits.work // work))))
        names = [draw(_MLP_ACTIVATIONS) for _ in range(n_layers)]
        cap = min(4.0, S.layer_cap(p, max(widths)))
        arrays = {"x": draw(S.array((batch, widths[0]), p, cap=cap, scale=1.0))}
        for l, (k, n) in enumerate(zip(widths, widths[1:])):
            arrays[f"weight{l}"] = draw(S.array((n, k), p, cap=cap, scale=1.0 / math.sqrt(k)))
            arrays[f"bias{l}"] = draw(S.array((n,), p, cap=cap, scale=0.5))
        layout = None
        if backward:
            shape = (batch, widths[-1])
            arrays["grad_output"], layout = _upstream(draw, shape, S.array(shape, p, cap=cap, scale=1.0))
        return _case(arrays, {"activations": names}, draw(_layouts), layouts=_given(grad_output=layout))
    return cases


def _layers(a):
    return [(a[f"weight{l}"], a[f"bias{l}"]) for l in range(len(a["activations"]))]


def _mlp_backward_call(b, a):
    dx, grads = b.mlp_backward(a["x"], _layers(a), a["activations"], a["grad_output"])
    out = {"dx": dx}
    for l, (dw, db) in enumerate(grads):
        out[f"dweight{l}"], out[f"dbias{l}"] = dw, db
    return out


def _mlp_bound(backward: bool):
    def bound(a, expected, p):
        acts = [get_activation(n) for n in a["activations"]]
        if not backward:
            return {"y": T.mlp_bounds(a["x"], _layers(a), acts, None, p)}
        edx, grads = T.mlp_bounds(a["x"], _layers(a), acts, a["grad_output"], p)
        out = {"dx": edx}
        for l, (edw, edb) in enumerate(grads):
            out[f"dweight{l}"], out[f"dbias{l}"] = edw, edb
        return out
    return bound


# ------------------------------------------------------------------------------------------------
# Optimizers
# ------------------------------------------------------------------------------------------------
_COMMON = {
    "weight_decay": S.choice(0.0, 0.0, 0.01, 0.1),
    "decoupled_weight_decay": S.BOOLEANS,
    "decay": S.choice(0.0, 0.0, 0.1, 1.0),
}


@st.composite
def _optimizer_options(draw, name: str):
    o = {"lr": draw(S.option_floats(0.1, 0.01, 1e-3, low=1e-4, high=1.0))}
    o.update({k: draw(v) for k, v in _COMMON.items()})
    if name == "sgd":
        o["momentum"] = draw(S.choice(0.0, 0.9, 0.5, 0.99))
        o["momentum_form"] = draw(S.choice("lr_outside", "lr_inside"))
        o["dampening"] = 0.0 if o["momentum_form"] == "lr_inside" else draw(S.choice(0.0, 0.0, 0.1))
        o["nesterov"] = o["momentum"] > 0.0 and o["dampening"] == 0.0 and draw(S.BOOLEANS)
    elif name in ("adam", "adamw"):
        o["betas"] = (draw(S.choice(0.9, 0.0, 0.5, 0.99)), draw(S.choice(0.999, 0.9, 0.99)))
        o["eps"] = draw(S.choice(1e-8, 1e-3, 1e-12))
        o["amsgrad"] = draw(S.BOOLEANS)
        o["eps_placement"] = draw(S.choice("after_bias_correction", "before_bias_correction"))
        if name == "adamw":
            del o["decoupled_weight_decay"]
            o["weight_decay"] = draw(S.choice(0.01, 0.0, 0.1))
    elif name == "rmsprop":
        o["alpha"] = draw(S.choice(0.99, 0.9, 0.5))
        o["eps"] = draw(S.choice(1e-8, 1e-3))
        o["momentum"] = draw(S.choice(0.0, 0.9))
        o["centered"] = draw(S.BOOLEANS)
        o["eps_placement"] = draw(S.choice("outside_sqrt", "inside_sqrt"))
        o["momentum_form"] = draw(S.choice("lr_outside", "lr_inside"))
    elif name == "adagrad":
        o["eps"] = draw(S.choice(1e-10, 1e-3))
        o["initial_accumulator_value"] = draw(S.choice(0.0, 0.1))
        o["eps_placement"] = draw(S.choice("outside_sqrt", "inside_sqrt"))
    return o


def _state_arrays(draw, name, o, shape, p, cap):
    """Buffers a state after at least one step holds, drawn consistent (v >= 0, v_max >= v,
    grad_avg² < square_avg, sum >= initial value)."""
    def any_values():
        return draw(S.array(shape, p, cap=cap))

    def squares():
        return draw(S.array(shape, p, cap=cap * cap, positive=True))

    s = {}
    if name == "sgd" and o["momentum"]:
        s["momentum_buffer" if o["momentum_form"] == "lr_outside" else "velocity"] = any_values()
    elif name in ("adam", "adamw"):
        s["m"], s["v"] = any_values(), squares()
        if o["amsgrad"]:
            s["v_max"] = [[v + e for v, e in zip(vr, er)] for vr, er in zip(s["v"], squares())]
    elif name == "rmsprop":
        s["square_avg"] = squares()
        if o["centered"]:
            frac = draw(S.array(shape, p, cap=0.9, scale=0.5))
            s["grad_avg"] = [[f * math.sqrt(v) for f, v in zip(fr, vr)] for fr, vr in zip(frac, s["square_avg"])]
        if o["momentum"]:
            s["momentum_buffer"] = any_values()
    elif name == "adagrad":
        s["sum"] = [[o["initial_accumulator_value"] + v for v in row] for row in squares()]
    return s


_PARAM_ROWS = st.integers(1, 3)


def _optimizer_cases(name: str):
    @st.composite
    def cases(draw, limits, p):
        shape = (draw(_PARAM_ROWS), draw(S.sizes(limits.features)))
        cap = min(1e3, math.sqrt(p.max) / 4.0)
        o = draw(_optimizer_options(name))
        t = draw(S.choice(0, 1, 2, 10, 1000))
        arrays = {"params": draw(S.array(shape, p, cap=cap)), "grads": draw(S.array(shape, p, cap=cap))}
        if t:
            arrays.update({f"state.{k}": v for k, v in _state_arrays(draw, name, o, shape, p, cap).items()})
        return _case(arrays, {"optimizer_options": o, "step": t}, draw(_layouts))
    return cases


def _optimizer_state(a):
    return {"step": a["step"], **{k[len("state."):]: v for k, v in a.items() if k.startswith("state.")}}


def _optimizer_ops() -> list[Operation]:
    def make(name):
        def call(b, a):
            params, state = b.optimizer_step(name, a["optimizer_options"], a["params"], a["grads"], _optimizer_state(a))
            return {"params": params, **{k: v for k, v in state.items() if k != "step"}}

        def bound(a, expected, p):
            state = _optimizer_state(a)
            return T.optimizer_step_bounds(name, a["optimizer_options"], a["params"], a["grads"], state, p)

        return Operation(f"optimizer_step[{name}]", "optimizer_step", f"one step of {name} from a given state",
                         _optimizer_cases(name), call, bound)

    return [make(name) for name in OPTIMIZERS]


# ------------------------------------------------------------------------------------------------
# Bad input: each probe must raise (any exception); a result is "accepts silently", a failure
# ------------------------------------------------------------------------------------------------
_LOGITS = [[0.5, -1.0, 2.0, 0.0, 1.0]] * 3
_X, _W, _B = [[1.0, 2.0, -1.0]] * 2, [[0.5, -0.5, 1.0]] * 4, [0.0, 0.25, -0.5, 1.0]


def _ce_probes():
    def ce(target=(0, 4, 2), **options):
        arrays = {k: options.pop(k) for k in ("weight",) if k in options}
        return _case({"logits": _LOGITS, "target": list(target), **arrays}, options)

    return (("target = V (out of range)", ce(target=(0, 5, 2))),
            ("target = -2 (negative, not ignore_index)", ce(target=(0, -2, 2))),
            ("2 targets for 3 rows", ce(target=(0, 1))),
            ("4 targets for 3 rows", ce(target=(0, 1, 2, 3))),
            ("4 class weights for V = 5", ce(weight=[1.0] * 4)),
            ("reduction 'avg'", ce(reduction="avg")),
            ("label_smoothing 1.5", ce(label_smoothing=1.5)),
            ("label_smoothing -0.1", ce(label_smoothing=-0.1)))


_LX, _LW = [[1.0, 2.0, -1.0]] * 3, [[0.5, -0.5, 1.0], [1.0, 0.0, 0.25], [0.0, 1.0, -1.0], [2.0, 1.0, 0.5],
                                      [-1.0, 0.5, 0.0]]


def _lce_probes():
    def lce(target=(0, 4, 2), x=_LX, weight=_LW, bias=(0.0,) * 5, **options):
        arrays = {"x": x, "weight": weight, "target": list(target), "bias": list(bias)}
        arrays.update({k: options.pop(k) for k in ("class_weight",) if k in options})
        return _case(arrays, options)

    return (("target = V (out of range)", lce(target=(0, 5, 2))),
            ("2 targets for 3 rows", lce(target=(0, 1))),
            ("4 targets for 3 rows", lce(target=(0, 1, 2, 3))),
            ("x with 2 features for weight [5, 3]", lce(x=[[1.0, 2.0]] * 3)),
            ("bias of 4 for V = 5", lce(bias=(0.0,) * 4)),
            ("4 class weights for V = 5", lce(class_weight=[1.0] * 4)))


def _layer_probes(name: str | None):
    def layer(x=_X, weight=_W, bias=_B):
        return _case({"x": x, "weight": weight, "bias": bias})

    probes = (("x with 2 features for weight [4, 3]", layer(x=[[1.0, 2.0]] * 2)),
              ("bias of 3 for 4 outputs", layer(bias=_B[:3])))
    if name is not None:
        probes += (("activation 'swish' (unknown)", _case({"x": _X, "weight": _W, "bias": _B}, {"activation": "swish"})),)
    return probes


def _bad_input_ops() -> list[Operation]:
    def ce_call(b, a):
        return {"loss": b.cross_entropy(a["logits"], a["target"], **_ce_kwargs(a))}

    def linear_call(b, a):
        return {"y": b.linear(a["x"], a["weight"], a["bias"])}

    def linear_act_call(b, a):
        return {"y": b.linear_act(a["x"], a["weight"], a["bias"], a.get("activation", "relu"))}

    return [
        Operation("bad_input[cross_entropy]", "cross_entropy", "raises for out-of-range targets, mismatched "
                  "shapes, invalid options", None, ce_call, None, frozenset({"target"}), probes=_ce_probes()),
        Operation("bad_input[linear_cross_entropy]", "linear_cross_entropy", "raises for out-of-range targets, "
                  "mismatched shapes", None, _lce_call, None, frozenset({"target"}), probes=_lce_probes()),
        Operation("bad_input[linear]", "linear", "raises for mismatched shapes", None, linear_call, None,
                  probes=_layer_probes(None)),
        Operation("bad_input[linear_act]", "linear_act", "raises for mismatched shapes, an unknown activation",
                  None, linear_act_call, None, probes=_layer_probes("relu")),
    ]


# ------------------------------------------------------------------------------------------------
# Properties of the calls: the caller's inputs untouched, repeated calls bitwise equal
# ------------------------------------------------------------------------------------------------
# Each family's operations (forward and gradient) and the arrays a training step passes requiring grad.
_FAMILIES = {"softmax": ("x",), "log_softmax": ("x",), "cross_entropy": ("logits",),
             "linear_cross_entropy": ("x", "weight", "bias"), "linear": ("x", "weight", "bias"),
             "linear_act": ("x", "weight", "bias")}
_PROPERTIES = {"untouched": "the caller's inputs keep their values, requires_grad and grad, with grad mode on and off",
               "repeatable": "two calls on the same inputs give bitwise equal results"}


def _members(family: str, ops: list) -> list:
    """The operations of ``family``: ``cross_entropy`` is cross_entropy[*] and cross_entropy_grad[*]."""
    return [op for op in ops if not op.probes and op.id.split("[")[0] in (family, family + "_grad",
                                                                          family + "_backward")]


def _property_ops(ops: list) -> list[Operation]:
    """untouched[F] and repeatable[F] for each family F: the cases of F's operations, each tagged
    with its operation ("op"), but those repeated past 2^31 elements."""
    def tag(op_id, case):
        return {**case, "op": op_id}

    def make(check, family, members):
        def cases(limits, p):
            return st.one_of(*[m.cases(limits, p).map(functools.partial(tag, m.id)) for m in members])

        def boundary(edges, p):
            return [tag(m.id, c) for m in members if m.boundary for c in m.boundary(edges, p) if "repeat" not in c]

        first = members[0]
        return Operation(f"{check}[{family}]", first.method, f"{family}: {_PROPERTIES[check]}", cases, first.call,
                         None, first.integer_arrays, boundary=boundary, option_defaults=first.option_defaults,
                         check=check, trainable=_FAMILIES[family])

    return [make(check, family, _members(family, ops)) for check in _PROPERTIES for family in _FAMILIES]


def _all() -> dict[str, Operation]:
    ops = []
    for name in ACTIVATIONS:
        ops += _activation_ops(name)
    ops.append(Operation("softmax", "softmax", "p_j = e^{x_j} / Σ_k e^{x_k} per row", _softmax_cases,
                         lambda b, a: {"y": b.softmax(a["x"])},
                         lambda a, e, p: {"y": T.softmax_bound(a["x"], e["y"], p)},
                         boundary=_softmax_boundary, expect=_softmax_expect(False)))
    ops.append(Operation("log_softmax", "log_softmax", "x_j - log Σ_k e^{x_k} per row", _softmax_cases,
                         lambda b, a: {"y": b.log_softmax(a["x"])},
                         lambda a, e, p: {"y": T.log_softmax_bound(a["x"], e["y"], p)},
                         boundary=_softmax_boundary, expect=_softmax_expect(True)))
    ops += _ce_ops()
    ops += _lce_ops()
    ops += _loss_ops()
    ops.append(Operation("linear", "linear", "y = x W^T + b", _layer_cases(None, False),
                         lambda b, a: {"y": b.linear(a["x"], a["weight"], a["bias"])},
                         lambda a, e, p: {"y": T.linear_bound(a["x"], a["weight"], a["bias"], p)},
                         boundary=_layer_boundary("linear", False), expect=_layer_expect(None)))
    for name in ACTIVATIONS:
        ops += _layer_ops(name)
    ops.append(Operation("mlp_forward", "mlp_forward", "an MLP's output, layer by layer y = σ_l(y W_l^T + b_l)",
                         _mlp_cases(False), lambda b, a: {"y": b.mlp_forward(a["x"], _layers(a), a["activations"])},
                         _mlp_bound(False)))
    ops.append(Operation("mlp_backward", "mlp_backward", "back-propagation through an MLP: dx and every dW, db",
                         _mlp_cases(True), _mlp_backward_call, _mlp_bound(True)))
    ops += _optimizer_ops()
    ops += _bad_input_ops()
    ops += _property_ops(ops)
    return {op.id: op for op in ops}


OPERATIONS: dict[str, Operation] = _all()
