"""The tolerance model: how far from the float64 oracle a result in a given precision may be.

A check passes when every output element satisfies |got - expected| <= bound, where the bound is a
first-order rounding-error analysis of the operation (derivations in conformance/TOLERANCE.md):

    bound = SLACK * u_c * M  +  u_s * |expected|  +  floor

- u_s, the unit roundoff of the *storage* format (inputs arrive in it, outputs leave in it):
  float64 2^-53, float32 2^-24, bfloat16 2^-8, float16 2^-11;
- u_c, the unit roundoff of the *compute* precision: float64 for float64 data, float32 for the
  other formats (a bf16/fp16 kernel must accumulate and evaluate its math in float32, as every
  serious kernel does; one that accumulates in bf16 fails at long reductions, as it should);
- ``tf32`` is float32 storage whose matrix products round their inputs to 10 mantissa bits
  (u_m = 2^-11): each product gets an extra relative error 2 u_m;
- M, the *magnitude* of the computation: the sum of the absolute values of every intermediate
  quantity that is rounded, each weighted by how often. For a dot product of length K it is
  (K + 1) Σ_k |x_k w_k| (the standard γ_K bound); for softmax it involves the row length, the
  spread of the logits and the entropy-like sum Σ p_k |x_k - m|; see each function below;
- SLACK = 2 absorbs second-order terms and the freedom of evaluation order (blocked, pairwise or
  online reductions, exp evaluated as exp2 of a rounded product, one vs two passes);
- floor, the absolute error allowed where results underflow: the subnormal spacing of the
  storage format plus the smallest normal number of the compute format (flush-to-zero).

The oracle is itself a float64 computation: for float64 backends the same bound in float64 is
added (conformance.runner.total_bound), holding them to a few ulp; for the other formats the
oracle's error is 2^29 or more times smaller than the bound and neglected.

Elementary functions (exp, log, tanh, erf) are allowed ELEMENTARY_ULPS units of roundoff each,
the CUDA math library's documented maximum for expf/logf/tanhf/erff and its exp2-based fast
intrinsics. Elementwise functions (activations, their derivatives) use one rule, see
:func:`elementwise_bound`: ELEMENTWISE_UNITS units relative to the function's value and the
magnitudes of the terms of its textbook formula, plus the change of the function when its
argument moves by as much (which also covers kinks: at a kink either one-sided value passes).

The error of a check is reported as the worst |got - expected| / bound over all elements: a
backend far more accurate than needed shows a small fraction, a failing one a ratio above 1.

>>> FLOAT32.round(0.1) == 0.100000001490116119384765625
True
>>> BFLOAT16.round(1.0 + 2.0 ** -9), BFLOAT16.round(1.0 + 3 * 2.0 ** -9)  # ties to even
(1.0, 1.0078125)
>>> FLOAT16.round(70000.0)
inf
>>> gamma(10, FLOAT32.compute) == 10 * 2.0 ** -24 / (1 - 10 * 2.0 ** -24)
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from operator import mul

SLACK = 2.0
ELEMENTARY_ULPS = 2.0
# An elementwise function is a handful of roundings and at most a couple of elementary functions:
# four units, doubled by SLACK.
ELEMENTWISE_UNITS = 4.0 * SLACK


@dataclass(frozen=True)
class Precision:
    """A floating-point format as the tolerance model sees it.

    ``storage`` is the unit roundoff of the stored values, ``compute`` of the arithmetic,
    ``multiply`` the extra rounding of matrix-product inputs (tf32; 0 when products are formed in
    the compute precision). ``bits`` is the significand length, ``min_spacing_exp`` the exponent of
    the subnormal spacing, ``tiny`` the smallest normal and ``max`` the largest finite number of
    the storage format. ``torch_dtype`` names the torch dtype that stores it.
    """

    name: str
    storage: float
    compute: float
    multiply: float
    bits: int
    min_spacing_exp: int
    tiny: float
    max: float
    compute_tiny: float
    torch_dtype: str
    tier: str = "worst"

    def terms(self, n: int) -> float:
        """The number of roundings an accumulation of n terms is charged: n in the worst-case tier,
        min(n, λ √n) with λ = PROBABLE_LAMBDA in the probable tier (see :func:`probable`)."""
        return n if self.tier == "worst" else min(n, PROBABLE_LAMBDA * math.sqrt(n))

    @property
    def floor(self) -> float:
        """Absolute error allowed for underflowing results: subnormal spacing + flush-to-zero."""
        return math.ldexp(1.0, self.min_spacing_exp) + self.compute_tiny

    def round(self, x: float) -> float:
        """x rounded to the nearest value of the storage format (ties to even; inf on overflow)."""
        if x == 0.0 or not math.isfinite(x) or self.bits == 53:
            return float(x)
        _, e = math.frexp(x)
        q = max(e - self.bits, self.min_spacing_exp)  # the spacing of the format around x is 2^q
        y = math.ldexp(round(math.ldexp(x, -q)), q)
        return y if abs(y) <= self.max else math.copysign(math.inf, x)


_F64_TINY = 2.0 ** -1022
_F32_TINY = 2.0 ** -126
FLOAT64 = Precision("float64", 2.0 ** -53, 2.0 ** -53, 0.0, 53, -1074, _F64_TINY, 1.7976931348623157e308,
                    _F64_TINY, "float64")
FLOAT32 = Precision("float32", 2.0 ** -24, 2.0 ** -24, 0.0, 24, -149, _F32_TINY, 3.4028234663852886e38,
                    _F32_TINY, "float32")
TF32 = Precision("tf32", 2.0 ** -24, 2.0 ** -24, 2.0 ** -11, 24, -149, _F32_TINY, 3.4028234663852886e38,
                 _F32_TINY, "float32")
BFLOAT16 = Precision("bfloat16", 2.0 ** -8, 2.0 ** -24, 0.0, 8, -133, _F32_TINY, 3.3895313892515355e38,
                     _F32_TINY, "bfloat16")
FLOAT16 = Precision("float16", 2.0 ** -11, 2.0 ** -24, 0.0, 11, -24, 2.0 ** -14, 65504.0, _F32_TINY, "float16")

PRECISIONS: dict[str, Precision] = {p.name: p for p in (FLOAT64, FLOAT32, TF32, BFLOAT16, FLOAT16)}


def get_precision(name: str) -> Precision:
    """The :class:`Precision` called ``name`` (float64, float32, tf32, bfloat16, float16)."""
    try:
        return PRECISIONS[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {', '.join(PRECISIONS)}") from None


# The probable tier (Higham & Mary, "A new approach to probabilistic rounding error analysis",
# SIAM J. Sci. Comput. 41(5), 2019): if the rounding errors δ_i of an accumulation are independent
# with mean zero, |Π(1 + δ_i) - 1| <= λ √n u + O(u²) except with probability at most
# 2 exp(-λ² (1 - u)² / 2) per product, 4e-22 for λ = 10: over every element of every check, a
# correct implementation never reaches it on random inputs, while a systematic error of a few
# hundred units (a dropped term, a low-precision accumulator, a 0.1% scale error) does.
PROBABLE_LAMBDA = 10.0


def probable(p: Precision) -> Precision:
    """p in the probable tier: every accumulation of n terms charged λ √n roundings instead of n
    (for random inputs only: structured data can make rounding errors correlate)."""
    return replace(p, tier="probable")


def gamma(n: float, u: float) -> float:
    """γ_n = n u / (1 - n u): the relative error bound of n successive roundings (Higham)."""
    nu = n * u
    if nu >= 1.0:
        return math.inf
    return nu / (1.0 - nu)


def _finite_abs(x: float) -> float:
    return abs(x) if math.isfinite(x) else 0.0


# ------------------------------------------------------------------------------------------------
# Elementwise functions
# ------------------------------------------------------------------------------------------------

def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _gelu_tanh_inner_slope(x: float) -> float:
    """½ x s'(x), s(x) = √(2/π)(x + 0.044715 x³): the factor on 1 - tanh²(s) in gelu_tanh'."""
    return 0.5 * abs(x) * math.sqrt(2.0 / math.pi) * (1.0 + 3.0 * 0.044715 * x * x)


# The magnitude of the terms of each activation's textbook formula beyond its value, A(x, params):
# where that formula cancels (1 + erf(x/√2) for x << 0, 1 - σ for x >> 0, (1 - e^-x)/(1 + e^-x)
# near 0), an implementation is entitled to an error of a few units of A rather than of |value|.
VALUE_TERMS = {
    "identity": lambda x, **p: 0.0,
    "relu": lambda x, **p: 0.0,
    "leaky_relu": lambda x, **p: 0.0,
    "step": lambda x, **p: 0.0,
    "saturated_linear": lambda x, **p: 0.0,
    "sigmoid": lambda x, **p: 0.0,
    "silu": lambda x, **p: 0.0,
    "tanh": lambda x, **p: 1.0,  # (1 - e^-2x) / (1 + e^-2x)
    "bipolar_sigmoid": lambda x, **p: 1.0,  # (1 - e^-x) / (1 + e^-x)
    "softplus": lambda x, **p: 1.0,  # log(1 + e^x)
    "gelu": lambda x, **p: abs(x),  # ½ x (1 + erf(x/√2))
    "gelu_tanh": lambda x, **p: abs(x),  # ½ x (1 + tanh(s))
}
DERIVATIVE_TERMS = {
    "identity": lambda x, **p: 0.0,
    "relu": lambda x, **p: 0.0,
    "leaky_relu": lambda x, **p: 0.0,
    "step": lambda x, **p: 0.0,
    "saturated_linear": lambda x, **p: 0.0,
    "softplus": lambda x, **p: 0.0,  # σ(x)
    "sigmoid": lambda x, lam=1.0, **p: abs(lam) * _sigmoid(lam * x),  # λ σ (1 - σ)
    "tanh": lambda x, **p: 1.0,  # 1 - tanh²
    "bipolar_sigmoid": lambda x, **p: 1.0,  # (1 - σ²) / 2
    "silu": lambda x, **p: _sigmoid(x) * (1.0 + abs(x)),  # σ (1 + x (1 - σ))
    "gelu": lambda x, **p: 1.0,  # ½ (1 + erf(x/√2)) + x φ(x)
    "gelu_tanh": lambda x, **p: 1.0 + _gelu_tanh_inner_slope(x),  # ½ (1 + tanh s) + ½ x (1 - tanh² s) s'
}


# Where each activation or its derivative jumps or has a kink: the spread below looks at both
# sides of every such point within reach, however narrow the piece between them.
KINKS = {name: () for name in VALUE_TERMS}
KINKS.update({"relu": (0.0,), "leaky_relu": (0.0,), "step": (0.0,), "saturated_linear": (0.0, 1.0)})


def elementwise_bound(g, terms: float, x: float, p: Precision, input_error: float = 0.0, kinks=()) -> float:
    """Bound on |ĝ(x̂) - g(x)| for an elementwise function g evaluated in precision ``p``.

    ``terms`` is A(x), the magnitude of the formula's terms beyond |g(x)| (VALUE_TERMS,
    DERIVATIVE_TERMS); ``input_error`` an absolute error already in the argument (e.g. from the
    matrix product that computed it); ``kinks`` the points where g jumps (KINKS). With
    δ = E u_c |x| + input_error + floor, E = ELEMENTWISE_UNITS and S = max |g(t) - g(x)| over t in
    [x - δ, x + δ] (sampled at ±δ, ±δ/2 and on both sides of each kink in the interval):

        (E u_c + u_s)(|g(x)| + S)  +  E u_c A(x)  +  S  +  floor (1 + |x| + 4 A(x))

    S is the argument's rounding propagated through g (≈ δ |g'(x)|); at a discontinuity or kink
    within δ it is the jump, so either one-sided value is accepted, and that value is rounded too
    (the (|g| + S) factor). floor (1 + |x| + 4 A(x)): an intermediate may underflow before it is
    scaled, σ(x) by x in x σ(x), and 1 - tanh² s = 4 σ(2s) σ(-2s) (formed either way) by the
    factor ½ x s' of gelu_tanh's A(x).
    """
    y = g(x)
    if not (math.isfinite(y) and math.isfinite(x)):  # ±inf, NaN results and ±inf arguments: exactly
        return 0.0
    delta = ELEMENTWISE_UNITS * p.compute * abs(x) + input_error + p.floor
    points = [x - delta, x - 0.5 * delta, x + 0.5 * delta, x + delta]
    points += [k + side for k in kinks if x - delta <= k <= x + delta for side in (-p.floor, p.floor)]
    spread = max(_finite_abs(g(t) - y) for t in points)
    units = ELEMENTWISE_UNITS * p.compute + p.storage
    return units * (abs(y) + spread) + ELEMENTWISE_UNITS * p.compute * terms + spread + p.floor * (1.0 + abs(x) + 4.0 * terms)


# ------------------------------------------------------------------------------------------------
# Layers: linear, linear + activation, their backward, a whole MLP
# ------------------------------------------------------------------------------------------------

def dot_error(abs_products: float, n_terms: int, p: Precision) -> float:
    """Error of a sum of n_terms products whose absolute values sum to ``abs_products``, before
    the final storage rounding: γ_n u_c Σ|x w| + 2 u_m Σ|x w| (tf32 inputs) + n floor."""
    return (gamma(p.terms(n_terms), p.compute) + 2.0 * p.multiply) * abs_products + n_terms * p.floor


def _matmul_nt(a, ea, b, eb, p: Precision, extra=None):
    """c = a b^T (a [M][K], b [N][K]) with its error: the dot-product bound of each entry, the
    inputs' errors propagated (|ea| |b| + |a| |eb|), then ``extra`` (a [N] vector added to each
    row, as a bias) and a final storage rounding u_s |c|."""
    k = len(b[0]) if b else 0
    n_terms = k + (extra is not None)
    abs_b = [list(map(abs, row)) for row in b]
    a_exact = not any(map(any, ea))
    b_exact = not any(map(any, eb))
    c, ec = [], []
    for ar, ear in zip(a, ea):
        abs_a = list(map(abs, ar))
        crow, erow = [], []
        for n, (br, ebr, abr) in enumerate(zip(b, eb, abs_b)):
            bias = extra[n] if extra is not None else 0.0
            val = math.fsum([bias, *map(mul, ar, br)])
            e = dot_error(math.fsum(map(mul, abs_a, abr)) + abs(bias), n_terms, p)
            if not a_exact:
                e += math.fsum(map(mul, ear, abr))
            if not b_exact:
                e += math.fsum(map(mul, abs_a, ebr))
            crow.append(val)
            erow.append(e + p.storage * (abs(val) + e) + p.floor)
        c.append(crow)
        ec.append(erow)
    return c, ec


def _zeros_like(a):
    return [[0.0] * len(r) for r in a]


def _transpose(a, cols: int):
    return [list(c) for c in zip(*a)] if a else [[] for _ in range(cols)]


def layer_forward(x, ex, weight, bias, act, params, p: Precision):
    """ξ = x W^T + b and y = σ(ξ) with their error bounds, given the error ``ex`` of x.

    e_ξ = γ_{K+1} (Σ_k |x_k w_k| + |b|) + 2 u_m Σ|x w| + Σ_k e_x |w_k| + u_s |ξ| (ξ may be stored
    before σ is applied), and e_y is σ's elementwise bound at ξ with e_ξ as its input error.
    Returns (ξ, e_ξ, y, e_y).
    """
    zero_w = _zeros_like(weight)
    xi, exi = _matmul_nt(x, ex, weight, zero_w, p, bias)
    f = (lambda t: act.f(t, **params))
    terms = VALUE_TERMS[act.name]
    y = [[f(z) for z in row] for row in xi]
    kinks = KINKS[act.name]
    ey = [[elementwise_bound(f, terms(z, **params), z, p, e, kinks) for z, e in zip(zr, er)]
          for zr, er in zip(xi, exi)]
    return xi, exi, y, ey


def layer_backward(x, ex, weight, xi, exi, act, params, g, eg, p: Precision):
    """Gradients of y = σ(x W^T + b) given g = ∂L/∂y with error ``eg``, and their bounds.

    δ = g σ'(ξ) has error (|g| + e_g) E_σ'(ξ; e_ξ) + e_g |σ'(ξ)| + (u_c + u_s)|δ| + floor (σ' anywhere
    in ξ's interval, its rounding, a possible storage rounding before the two products, a possible
    flush to zero); dx = δ W,
    dW = δ^T x, db = Σ_m δ then get the dot-product bound of their reduction with the errors of
    δ, W and x propagated.
    Returns ((dx, e_dx), (dW, e_dW), (db, e_db)).
    """
    df = (lambda t: act.df(t, **params))
    terms = DERIVATIVE_TERMS[act.name]
    d = [[gi * df(z) for gi, z in zip(gr, zr)] for gr, zr in zip(g, xi)]
    kinks = KINKS[act.name]
    # (|g| + e_g) E_σ': the gradient as the backend has it meets σ' anywhere in ξ's interval,
    # a kink included (where the cross term e_g E_σ' is not second order).
    ed = [[(abs(gi) + e) * elementwise_bound(df, terms(z, **params), z, p, ez, kinks) + e * abs(df(z))
           + (p.compute + p.storage) * abs(di) + p.floor
           for gi, z, ez, e, di in zip(gr, zr, er, egr, dr)]
          for gr, zr, er, egr, dr in zip(g, xi, exi, eg, d)]
    n_out, k_in = len(weight), len(weight[0])
    wt = _transpose(weight, k_in)
    dx, edx = _matmul_nt(d, ed, wt, _zeros_like(wt), p)
    dt, edt = _transpose(d, n_out), _transpose(ed, n_out)
    xt, ext = _transpose(x, k_in), _transpose(ex, k_in)
    dw, edw = _matmul_nt(dt, edt, xt, ext, p)
    m = len(x)
    db = [math.fsum(col) for col in dt]
    edb = [gamma(p.terms(m), p.compute) * math.fsum(abs(v) for v in col) + math.fsum(ecol) + p.storage * abs(s) + p.floor
           for col, ecol, s in zip(dt, edt, db)]
    return (dx, edx), (dw, edw), (db, edb)


def linear_bound(x, weight, bias, p: Precision):
    """Bound for ξ = x W^T + b: γ_{K+1} (Σ_k |x_mk w_nk| + |b_n|) + 2 u_m Σ|x w| + u_s |ξ| + floor."""
    return _matmul_nt(x, _zeros_like(x), weight, _zeros_like(weight), p, bias)[1]


def linear_act_bound(x, weight, bias, act, params, p: Precision):
    """Bound for y = σ(x W^T + b) (see :func:`layer_forward`)."""
    return layer_forward(x, _zeros_like(x), weight, bias, act, params, p)[3]


def linear_act_backward_bound(x, weight, bias, act, params, grad_y, p: Precision):
    """Bounds for (dx, dweight, dbias) of y = σ(x W^T + b) given an exact grad_y."""
    xi, exi, _, _ = layer_forward(x, _zeros_like(x), weight, bias, act, params, p)
    (_, edx), (_, edw), (_, edb) = layer_backward(x, _zeros_like(x), weight, xi, exi, act, params, grad_y,
                                                  _zeros_like(grad_y), p)
    return edx, edw, (edb if bias is not None else None)


def mlp_bounds(x, layers, acts, grad_output, p: Precision):
    """Bounds for an MLP's output and, if ``grad_output`` is given, for (dx, [(dW, db)]): each
    layer's bound (above) with the errors of its input carried forward, and of ∂L/∂y back."""
    ex = _zeros_like(x)
    saved = []
    y, ey = x, ex
    for (weight, bias), act in zip(layers, acts):
        xi, exi, y_next, ey_next = layer_forward(y, ey, weight, bias, act, {}, p)
        saved.append((y, ey, xi, exi))
        y, ey = y_next, ey_next
    if grad_output is None:
        return ey
    g, eg = grad_output, _zeros_like(grad_output)
    grads = []
    for (weight, bias), act, (inp, einp, xi, exi) in reversed(list(zip(layers, acts, saved))):
        (g, eg), (_, edw), (_, edb) = layer_backward(inp, einp, weight, xi, exi, act, {}, g, eg, p)
        grads.append((edw, edb if bias is not None else None))
    return eg, grads[::-1]


# ------------------------------------------------------------------------------------------------
# Softmax, log-softmax, cross-entropy
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    """A logit row's softmax quantities and error magnitudes (float64).

    lam: the magnitude of the error of the computed lse, Λ = |m| + log S + V + 2 + Σ_k p_k |z_k - m|
    (the max, the log of the sum, the V roundings of the sum and the exp arguments' roundings
    weighted by the probabilities they feed). A probability p_j = exp(z_j - lse) then has relative
    error (|z_j| + Λ + 1 + ELEMENTARY_ULPS) units.
    """

    p: list
    lse: float
    lam: float

    def rel_p(self, z: float) -> float:
        return abs(z) + self.lam + 1.0 + ELEMENTARY_ULPS


def _row(z, p: Precision) -> _Row:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = math.fsum(e)
    probs = [ei / s for ei in e]
    spread = math.fsum(pi * (m - v) for pi, v in zip(probs, z) if pi > 0.0)
    log_s = math.log(s)
    lam = abs(m) + log_s + p.terms(len(z)) + 2.0 + spread + ELEMENTARY_ULPS
    return _Row(probs, m + log_s, lam)


def softmax_bound(x, y, p: Precision) -> list[list[float]]:
    """Bound for p_j = softmax(x)_j per row: SLACK u_c p_j (|x_j| + Λ + 1 + 2) + u_s p_j + floor."""
    out = []
    for z, yr in zip(x, y):
        r = _row(z, p)
        out.append([SLACK * p.compute * pj * r.rel_p(zj) + p.storage * abs(yj) + p.floor if pj > 0.0 else p.floor
                    for pj, zj, yj in zip(r.p, z, yr)])
    return out


def log_softmax_bound(x, y, p: Precision) -> list[list[float]]:
    """Bound for y_j = x_j - lse: SLACK u_c (|x_j| + Λ + |y_j|) + u_s |y_j| + floor (exact for -inf)."""
    out = []
    for z, yr in zip(x, y):
        r = _row(z, p)
        out.append([SLACK * p.compute * (abs(zj) + r.lam + abs(yj)) + p.storage * abs(yj) + p.floor
                    if math.isfinite(yj) else 0.0 for zj, yj in zip(z, yr)])
    return out


def _ce_row_magnitude(z, t, w, eps, zeta, loss, p: Precision) -> float:
    """Error magnitude of one counted row's loss (1-ε) w_t nll_t + (ε/V) Σ_c w_c nll_c + ζ lse².

    nll_c = lse - z_c has error (Λ + |z_c| + |nll_c|) units; the smoothing sum of V terms adds
    γ_V of its terms; the z term 2 ζ |lse| Λ + ζ lse²; combining the three terms 3 |loss|.
    """
    r = _row(z, p)
    v = len(z)
    mag = (1.0 - eps) * w[t] * (r.lam + abs(z[t]) + abs(r.lse - z[t]))
    if eps:
        nll = [r.lse - zc for zc in z]
        mag += eps / v * math.fsum(wc * (r.lam + abs(zc) + p.terms(v + 1) * abs(nc)) for wc, zc, nc in zip(w, z, nll))
    if zeta:
        mag += zeta * (2.0 * abs(r.lse) * r.lam + r.lse * r.lse)
    return mag + 3.0 * abs(loss)


def _propagated_loss_error(z, t, w, eps, zeta, e) -> float:
    """Error of one row's loss from errors e_c in its logits (not rounding errors). lse is
    1-Lipschitz in the largest change, so it moves by at most E = max_c e_c, and each
    lse - z_c by E + e_c: (1-ε) w_t (E + e_t) + (ε/V) Σ_c w_c (E + e_c) + ζ (2 |lse| E + E²)."""
    big = max(e)
    out = (1.0 - eps) * w[t] * (big + e[t])
    if eps:
        out += eps / len(z) * math.fsum(wc * (big + ec) for wc, ec in zip(w, e))
    if zeta:
        out += zeta * (2.0 * abs(_row(z, FLOAT64).lse) + big) * big
    return out


def _moved_probability(pj: float, a: float) -> float:
    """How far p_j = exp(z_j - lse) can move when z_j - lse moves by at most a (not only to first
    order: a logit stored in bfloat16 at 2e4 is off by up to 64): p_j (e^a - 1), at most 1."""
    return 1.0 if a > 700.0 else min(1.0, pj * math.expm1(a))


def cross_entropy_bound(logits, target, weight, ignore_index, reduction, eps, zeta, losses, result, p: Precision,
                        logit_error=None):
    """Bound for the cross-entropy value: per-row magnitudes, then the reduction.

    ``losses`` are the oracle's per-row losses, ``result`` its reduced value. none: per row
    SLACK u_c M_i + u_s |loss_i| + floor; sum: SLACK u_c (Σ M_i + N Σ|loss_i|) + u_s |L| + floor;
    mean: as sum divided by D, plus N Σ|loss_i| / D for the rounding of D = Σ w_{t_i} itself.
    ``logit_error`` [N][V]: the logits' own errors (a fused linear + cross-entropy computes them),
    carried through each row (_propagated_loss_error) and reduced like the losses.
    """
    v = len(logits[0])
    w = weight if weight is not None else [1.0] * v
    mags = [_ce_row_magnitude(z, t, w, eps, zeta, loss, p) if t != ignore_index else 0.0
            for z, t, loss in zip(logits, target, losses)]
    carried = [0.0] * len(logits) if logit_error is None else [
        _propagated_loss_error(z, t, w, eps, zeta, e) if t != ignore_index else 0.0
        for z, t, e in zip(logits, target, logit_error)]
    if reduction == "none":
        return [SLACK * p.compute * mi + ci + p.storage * abs(li) + p.floor
                for mi, ci, li in zip(mags, carried, losses)]
    n = len(logits)
    total = math.fsum(mags) + p.terms(n) * math.fsum(abs(li) for li in losses)
    if reduction == "sum":
        return SLACK * p.compute * total + math.fsum(carried) + p.storage * abs(result) + p.floor
    kept = [t for t in target if t != ignore_index]
    if not kept:
        return p.floor
    d = math.fsum(w[t] for t in kept)
    return ((SLACK * p.compute * (total + p.terms(n) * math.fsum(abs(li) for li in losses)) + math.fsum(carried)) / d
            + p.storage * abs(result) + p.floor)


def cross_entropy_grad_bound(logits, target, weight, ignore_index, reduction, eps, zeta, grad_output, grad, p,
                             logit_error=None):
    """Bound for ∂loss/∂z_ij = s_i [(1-ε) w_t (p_j - [j=t]) + (ε/V)(W p_j - w_j) + 2 ζ lse_i p_j].

    Each p_j carries its relative error (|z_j| + Λ + 3) units, lse its Λ units; the subtraction
    p_t - 1 may cancel (an absolute error of one unit of (1-ε) w_t), as may W p_j - w_j; combining
    the terms and the scale s_i costs 3 |g| more, and for the mean the scale 1/D another N |g|.
    The result may be rounded to storage twice (2 u_s |g|): a fused kernel can store the gradient
    for grad_output = 1 in the forward pass and rescale it in the backward. A probability below the
    floor may be flushed to 0 (a GPU's exponential flushes float32 subnormals) before it is scaled:
    |s_i| coef floor, the floor carried through the scaling. ``logit_error`` [N][V]:
    the logits' own errors e; with E = max_c e_c, lse moves by at most E and p_j by Δp_j =
    p_j (e^{e_j + E} - 1) (at most 1), which adds |s_i| [coef Δp_j + 2 ζ E (p_j + Δp_j)] (coef below).
    """
    n, v = len(logits), len(logits[0])
    w = weight if weight is not None else [1.0] * v
    w_total = math.fsum(w)
    kept = [t for t in target if t != ignore_index]
    if reduction == "mean":
        d = math.fsum(w[t] for t in kept) if kept else 1.0
        scales = [grad_output / d] * n
        extra = p.terms(n)
    elif reduction == "sum":
        scales, extra = [grad_output] * n, 0
    else:
        scales, extra = list(grad_output), 0
    errors = logit_error if logit_error is not None else [[0.0] * v for _ in logits]
    out = []
    for z, t, s, gr, e in zip(logits, target, scales, grad, errors):
        if t == ignore_index:
            out.append([p.floor] * v)
            continue
        r = _row(z, p)
        coef = (1.0 - eps) * w[t] + eps * w_total / v + 2.0 * zeta * abs(r.lse)
        big = max(e)
        row = []
        for j, (pj, zj, g, ej) in enumerate(zip(r.p, z, gr, e)):
            mag = (1.0 - eps) * w[t] * (j == t) + eps * w[j] / v
            if pj > 0.0:
                mag += coef * pj * r.rel_p(zj) + 2.0 * zeta * pj * r.lam
            mag = abs(s) * mag + (3.0 + extra) * abs(g)
            moved = _moved_probability(pj, ej + big) if big else 0.0
            carried = abs(s) * (coef * moved + 2.0 * zeta * big * (pj + moved))
            # Stored twice: a fused kernel writes the gradient for grad_output = 1 during the
            # forward pass and rescales that stored value in the backward.
            row.append(SLACK * p.compute * mag + carried + 2.0 * (p.storage * abs(g) + p.floor)
                       + abs(s) * coef * p.floor)
        out.append(row)
    return out


def linear_cross_entropy_bounds(x, weight, bias, target, class_weight, ignore_index, reduction, eps, zeta, losses,
                                result, grad, grad_output, identity, p: Precision):
    """Bounds for the fused linear + cross-entropy, composed: the logits ξ = x W^T + b with their
    dot-product errors e_ξ (layer_forward, the logits possibly stored in the storage format), the
    cross-entropy's bound with e_ξ as its input error, and, given the oracle's ∂loss/∂ξ ``grad``
    (None: the value only), that gradient's bound with e_ξ carried, through the ``identity``
    activation's layer_backward (dx = g W over V, dW = g^T x over N, db = Σ_n g). Returns the loss bound, or
    (loss bound, (e_dx, e_dW, e_db)) with ``grad``."""
    zero = _zeros_like(x)
    xi, exi = _matmul_nt(x, zero, weight, _zeros_like(weight), p, bias)
    loss = cross_entropy_bound(xi, target, class_weight, ignore_index, reduction, eps, zeta, losses, result, p, exi)
    if grad is None:
        return loss
    eg = cross_entropy_grad_bound(xi, target, class_weight, ignore_index, reduction, eps, zeta, grad_output, grad, p,
                                  exi)
    (_, edx), (_, edw), (_, edb) = layer_backward(x, zero, weight, xi, exi, identity, {}, grad, eg, p)
    return loss, (edx, edw, edb if bias is not None else None)


# ------------------------------------------------------------------------------------------------
# Elementwise losses
# ------------------------------------------------------------------------------------------------

def reduced_bound(mags: list[float], values: list[float], reduction: str, count: float, result, p: Precision):
    """Reduce per-element error magnitudes like the values: none keeps them, sum adds them plus
    the sum's own γ_n Σ|values|, mean divides that by ``count`` (exact: the element count) and
    adds the division's rounding."""
    if reduction == "none":
        return [SLACK * p.compute * m + p.storage * abs(v) + p.floor for m, v in zip(mags, values)]
    n = len(values)
    total = math.fsum(mags) + p.terms(n) * math.fsum(abs(v) for v in values)
    if reduction == "mean":
        total = total / count + abs(result)
    return SLACK * p.compute * total + p.storage * abs(result) + p.floor


def scaled_grad_bound(grad: list[float], units: float, p: Precision, divisors=None) -> list[float]:
    """Bound for a gradient computed by a few roundings from exact inputs: SLACK u_c units |g|
    + u_s |g| + floor (used where the formula does not cancel, e.g. 2 (y - d) / n). With
    ``divisors`` (the denominators of a quotient, e.g. p in -d/p), floor / divisor more: the
    numerator may be formed first and underflow before the division."""
    divisors = divisors or [1.0] * len(grad)
    return [SLACK * p.compute * units * abs(g) + p.storage * abs(g) + p.floor * (1.0 + 1.0 / q)
            for g, q in zip(grad, divisors)]


def log_magnitude(q: float) -> float:
    """Error magnitude of log q for an exact q in [0, 1], clamped at -100 like torch:
    ELEMENTARY_ULPS units of |log q| plus one unit (log near 1 from a rounded argument)."""
    if q <= 0.0:
        return 0.0
    return ELEMENTARY_ULPS * min(abs(math.log(q)), 100.0) + 1.0


# ------------------------------------------------------------------------------------------------
# Optimizer steps: running error analysis of the update formulas
# ------------------------------------------------------------------------------------------------

class Tracked:
    """A value with a first-order bound ``e`` on its absolute rounding error (running error
    analysis): every operation adds u |result| plus the operands' errors propagated, and each
    product or quotient ``floor`` (it may underflow). A quotient's dividend also gets ``floor``:
    it may have been evaluated as a product that underflowed (η g / r as (η g) / r).

    Plain floats are exact (inputs and hyperparameters are exactly representable by construction).

    >>> a = Tracked(3.0, 0.0, 2.0 ** -24)
    >>> (a * 0.5 + 1.0).e == 2.0 ** -24 * (1.5 + 2.5)
    True
    """

    __slots__ = ("v", "e", "u", "floor")

    def __init__(self, v: float, e: float, u: float, floor: float = 0.0):
        self.v, self.e, self.u, self.floor = v, e, u, floor

    def _new(self, v: float, e: float):
        return Tracked(v, e, self.u, self.floor)

    def _lift(self, other):
        return other if isinstance(other, Tracked) else self._new(float(other), 0.0)

    def __add__(self, other):
        o = self._lift(other)
        v = self.v + o.v
        return self._new(v, self.e + o.e + self.u * abs(v))

    __radd__ = __add__

    def __neg__(self):
        return self._new(-self.v, self.e)

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        o = self._lift(other)
        v = self.v * o.v
        return self._new(v, abs(self.v) * o.e + abs(o.v) * self.e + self.u * abs(v) + self.floor)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        v = self.v / o.v
        return self._new(v, (self.e + self.floor + abs(v) * o.e) / abs(o.v) + self.u * abs(v) + self.floor)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def sqrt(self):
        """√a: error min(e / (2√a), √e) (the second for a near 0) plus the evaluation's own."""
        v = math.sqrt(max(self.v, 0.0))
        prop = math.sqrt(self.e) if v == 0.0 else min(self.e / (2.0 * v), math.sqrt(self.e))
        return self._new(v, prop + ELEMENTARY_ULPS * self.u * v)

    def maximum(self, other):
        o = self._lift(other)
        return self._new(max(self.v, o.v), max(self.e, o.e))


def optimizer_step_bounds(name: str, options: dict, params, grads, state: dict, p: Precision) -> dict:
    """Bounds for one optimizer step: {"params": [...], buffer: [...]} shaped like params.

    The oracle's own step (the reference backend's ``optimizer_step``, i.e. reference.optimizers'
    update rules) is run on :class:`Tracked` values in the compute precision, with the format's
    underflow floor (hyperparameter arithmetic such as 1 - β^t and η / (1 + decay t) is exact: done
    once, on the host, in float64); each output then gets SLACK e + u_s |value| + floor.
    """
    from .backends.reference import ReferenceBackend  # the backends import this module

    def tracked(rows):
        return [[Tracked(v, 0.0, p.compute, p.floor) for v in row] for row in rows]

    state = {k: v if k == "step" else tracked(v) for k, v in state.items()}
    new_params, new_state = ReferenceBackend().optimizer_step(name, options, tracked(params), tracked(grads), state)
    return {key: [[SLACK * val.e + p.storage * abs(val.v) + p.floor for val in row] for row in rows]
            for key, rows in (("params", new_params), *new_state.items()) if key != "step"}
