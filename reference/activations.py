"""Activation functions σ(ξ) of the inner potential ξ, each with its derivative σ'(ξ).

Every activation is an :class:`Activation` with ``.f(xi, **params)`` and ``.df(xi, **params)``;
``ACTIVATIONS`` maps the project-wide names to them. At a kink the derivative takes the value
torch's autograd uses (ReLU'(0) = 0, LeakyReLU'(0) = negative_slope, saturated linear'(0) =
saturated linear'(1) = 0), so gradients can be compared with torch exactly.

Formulations are chosen for accuracy over the whole float64 range: the logistic sigmoid never
evaluates exp of a positive number, 1 - σ is computed as σ(-ξ) and 1 - tanh² as sech², so
every function and derivative here has a relative error of a few ulp, even for |ξ| in the
hundreds, where a naive formula overflows or cancels to 0.

>>> relu = get_activation("relu")
>>> relu.f(-2.0), relu.f(3.0), relu.df(3.0)
(0.0, 3.0, 1.0)
>>> ACTIVATIONS["sigmoid"].f(0.0), ACTIVATIONS["sigmoid"].f(2.0, lam=0.0)
(0.5, 0.5)
>>> ACTIVATIONS["sigmoid"].f(-800.0)  # exp(800) would overflow
0.0
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_C = math.sqrt(2.0 / math.pi)
_GELU_TANH_A = 0.044715


@dataclass(frozen=True)
class Activation:
    """An activation σ with its derivative; ``params`` holds the default of each parameter."""

    name: str
    formula: str
    _f: Callable[..., float] = field(repr=False)
    _df: Callable[..., float] = field(repr=False)
    params: dict = field(default_factory=dict, compare=False)  # names are unique; keeps it hashable

    def _check(self, params: dict) -> None:
        for key, value in params.items():
            if key not in self.params:
                allowed = ", ".join(self.params) or "no parameters"
                raise TypeError(f"activation {self.name!r} takes {allowed}; got unexpected parameter {key!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"parameter {key!r} of activation {self.name!r} must be a finite number, got {value!r}")

    def f(self, xi: float, **params) -> float:
        """σ(ξ)."""
        if params:
            self._check(params)
        return self._f(xi, **params)

    def df(self, xi: float, **params) -> float:
        """dσ/dξ at ξ."""
        if params:
            self._check(params)
        return self._df(xi, **params)


def _logistic(z: float) -> float:
    """1 / (1 + e^-z), evaluating exp only at non-positive arguments (no overflow, no cancellation)."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _sech2(z: float) -> float:
    """sech²(z) = 1 - tanh²(z) = 4 e^{-2|z|} / (1 + e^{-2|z|})², accurate where 1 - tanh² cancels."""
    e = math.exp(-2.0 * abs(z))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def _phi(x: float) -> float:
    """Standard normal cdf Φ(x) = ½ erfc(-x/√2) (erfc keeps the left tail accurate)."""
    return 0.5 * math.erfc(-x / _SQRT_2)


def _gelu_tanh_u(x: float) -> float:
    return _GELU_TANH_C * (x + _GELU_TANH_A * x * x * x)


def _gelu_tanh(x: float) -> float:
    # ½ x (1 + tanh u) = x σ(2u): the logistic form has no cancellation for x << 0.
    return x * _logistic(2.0 * _gelu_tanh_u(x))


def _gelu_tanh_df(x: float) -> float:
    u = _gelu_tanh_u(x)
    s = _logistic(2.0 * u)
    slope = s * _logistic(-2.0 * u)  # σ(2u) (1 - σ(2u)); 0.0 in both tails
    if slope == 0.0:  # avoids 0 * inf when x³ overflows
        return s
    return s + 2.0 * x * slope * _GELU_TANH_C * (1.0 + 3.0 * _GELU_TANH_A * x * x)


def _sigmoid(xi: float, lam: float = 1.0) -> float:
    return _logistic(lam * xi)


def _sigmoid_df(xi: float, lam: float = 1.0) -> float:
    z = lam * xi
    return lam * _logistic(z) * _logistic(-z)


def _leaky_relu(xi: float, negative_slope: float = 0.01) -> float:
    return xi if xi > 0.0 else negative_slope * xi


def _leaky_relu_df(xi: float, negative_slope: float = 0.01) -> float:
    return 1.0 if xi > 0.0 else negative_slope


def _softplus(xi: float) -> float:
    # log(1 + e^ξ) = max(ξ, 0) + log1p(e^-|ξ|)
    return max(xi, 0.0) + math.log1p(math.exp(-abs(xi)))


def _silu_df(xi: float) -> float:
    s = _logistic(xi)
    return s + xi * s * _logistic(-xi)


# Named module-level functions, not lambdas: pickle stores a function by its qualified name, so an
# Activation, and every model holding one, can be saved and loaded.
def _identity(xi: float) -> float:
    return xi


def _one(xi: float) -> float:
    return 1.0


def _zero(xi: float) -> float:
    return 0.0


def _relu(xi: float) -> float:
    return xi if xi > 0.0 else 0.0


def _relu_df(xi: float) -> float:
    return 1.0 if xi > 0.0 else 0.0


def _gelu(xi: float) -> float:
    return xi * _phi(xi)


def _gelu_df(xi: float) -> float:
    return _phi(xi) + xi * _INV_SQRT_2PI * math.exp(-0.5 * xi * xi)


def _silu(xi: float) -> float:
    return xi * _logistic(xi)


def _step(xi: float) -> float:
    return 1.0 if xi >= 0.0 else 0.0


def _saturated_linear(xi: float) -> float:
    return min(max(xi, 0.0), 1.0)


def _saturated_linear_df(xi: float) -> float:
    return 1.0 if 0.0 < xi < 1.0 else 0.0


def _bipolar_sigmoid(xi: float) -> float:
    return math.tanh(0.5 * xi)


def _bipolar_sigmoid_df(xi: float) -> float:
    return 0.5 * _sech2(0.5 * xi)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", "σ(ξ) = ξ;  σ' = 1", _identity, _one),
        Activation(
            "relu", "σ(ξ) = max(0, ξ);  σ' = 1 if ξ > 0 else 0",
            _relu, _relu_df,
        ),
        Activation(
            "leaky_relu", "σ(ξ) = ξ if ξ > 0 else a ξ  (a = negative_slope);  σ' = 1 or a",
            _leaky_relu, _leaky_relu_df, {"negative_slope": 0.01},
        ),
        Activation(
            "sigmoid", "σ(ξ) = 1 / (1 + e^{-λξ});  σ' = λ σ(ξ) (1 - σ(ξ))",
            _sigmoid, _sigmoid_df, {"lam": 1.0},
        ),
        Activation("tanh", "σ(ξ) = tanh ξ;  σ' = 1 - tanh² ξ", math.tanh, _sech2),
        Activation(
            "gelu", "σ(ξ) = ξ Φ(ξ) = ½ ξ (1 + erf(ξ/√2));  σ' = Φ(ξ) + ξ φ(ξ)",
            _gelu, _gelu_df,
        ),
        Activation(
            "gelu_tanh", "σ(ξ) = ½ ξ (1 + tanh(√(2/π) (ξ + 0.044715 ξ³)))",
            _gelu_tanh, _gelu_tanh_df,
        ),
        Activation(
            "silu", "σ(ξ) = ξ / (1 + e^{-ξ});  σ' = s (1 + ξ (1 - s)),  s = 1 / (1 + e^{-ξ})",
            _silu, _silu_df,
        ),
        Activation(
            "step", "σ(ξ) = 1 if ξ >= 0 else 0 (threshold);  σ' = 0 (almost everywhere)",
            _step, _zero,
        ),
        Activation("softplus", "σ(ξ) = log(1 + e^ξ);  σ' = 1 / (1 + e^{-ξ})", _softplus, _logistic),
        Activation(
            "saturated_linear", "σ(ξ) = 0 if ξ < 0, ξ if 0 <= ξ <= 1, 1 if ξ > 1;  σ' = 1 on (0, 1) else 0",
            _saturated_linear, _saturated_linear_df,
        ),
        Activation(
            "bipolar_sigmoid", "σ(ξ) = (1 - e^{-ξ}) / (1 + e^{-ξ}) = tanh(ξ/2);  σ' = (1 - σ²) / 2",
            _bipolar_sigmoid, _bipolar_sigmoid_df,
        ),
    )
}


def get_activation(name) -> Activation:
    """The activation called ``name`` (an :class:`Activation` is returned unchanged).

    >>> get_activation("tanh").df(0.0)
    1.0
    >>> get_activation("swish")
    Traceback (most recent call last):
    ...
    ValueError: unknown activation 'swish'; expected one of identity, relu, leaky_relu, sigmoid, tanh, gelu, gelu_tanh, silu, step, softplus, saturated_linear, bipolar_sigmoid
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str), got {type(name).__name__}")
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}") from None


def _check_logits(xs) -> list[float]:
    if isinstance(xs, (str, bytes)) or not hasattr(xs, "__len__"):
        raise TypeError(f"xs must be a list of numbers, got {type(xs).__name__}")
    if len(xs) == 0:
        raise ValueError("xs must not be empty")
    out = []
    for i, x in enumerate(xs):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"xs[{i}] must be a real number, got {type(x).__name__}")
        if math.isnan(x) or x == math.inf:
            raise ValueError(f"xs[{i}] must be finite or -inf, got {x}")
        out.append(float(x))
    return out


def _lse_split(xs: list[float]) -> tuple[float, float]:
    """(m, r) with logsumexp(xs) = m + log1p(r): m = max_i x_i, r = Σ_{i ≠ argmax} e^{x_i - m}.

    Keeping the argmax term (exactly 1) out of r lets log1p resolve r even when r < 2^-53, which is
    what the log-probability of a confident class, -log p = (m - x_t) + log1p(r), needs.
    """
    m = max(xs)
    if m == -math.inf:
        return m, 0.0
    j = xs.index(m)
    return m, math.fsum(math.exp(x - m) for i, x in enumerate(xs) if i != j)


def logsumexp(xs) -> float:
    """log Σ_i e^{x_i}, computed as m + log1p(Σ_{i ≠ argmax} e^{x_i - m}) with m = max_i x_i.

    No exp overflows; -inf entries contribute e^{-inf} = 0, and if every entry is -inf the result
    is -inf. Error: a few ulp of max(|m|, 1), as the inner sum is correctly rounded.

    >>> logsumexp([1000.0, 1000.0])  # 1000 + log 2; exp(1000) alone overflows
    1000.6931471805599
    >>> logsumexp([0.0, -math.inf])
    0.0
    """
    m, r = _lse_split(_check_logits(xs))
    return m if m == -math.inf else m + math.log1p(r)


def log_softmax(xs) -> list[float]:
    """log p_i = x_i - logsumexp(x) = (x_i - m) - log1p(r) (see :func:`logsumexp`); -inf for -inf entries.

    The split form keeps log p of a confident class accurate to a few ulp of itself, where
    x_i - logsumexp(x) would lose everything below ulp(m). ValueError if every entry is -inf.

    >>> [round(v, 6) for v in log_softmax([0.0, math.log(3.0)])]
    [-1.386294, -0.287682]
    >>> log_softmax([0.0, -40.0])[0]  # -log(1 + e^-40), far below ulp(1)
    -4.248354255291589e-18
    """
    xs = _check_logits(xs)
    m, r = _lse_split(xs)
    if m == -math.inf:
        raise ValueError("log_softmax is undefined when every entry of xs is -inf")
    shift = math.log1p(r)
    return [(x - m) - shift for x in xs]


def softmax(xs) -> list[float]:
    """p_i = e^{x_i - m} / Σ_j e^{x_j - m} with m = max_j x_j; Σ_i p_i = 1 up to rounding.

    Each p_i has relative error of a few ulp. ValueError if every entry is -inf (the
    distribution is undefined).

    >>> softmax([0.0, math.log(3.0)])
    [0.25, 0.75]
    >>> softmax([1000.0, -math.inf])
    [1.0, 0.0]
    """
    xs = _check_logits(xs)
    m = max(xs)
    if m == -math.inf:
        raise ValueError("softmax is undefined when every entry of xs is -inf")
    e = [math.exp(x - m) for x in xs]
    total = math.fsum(e)
    return [ei / total for ei in e]
