"""Initial weights of a layer of N neurons with K inputs (fan_in = K, fan_out = N).

Why the scale matters: with inputs of unit variance, the inner potential ξ_j = Σ_i w_ji y_i of a
neuron has variance K · Var(w). Weights that are too large saturate σ (sigmoid, tanh) or blow up
through the layers; too small and the signal (and the gradient) vanishes. Each scheme picks
Var(w) so that the variance of ξ (and, for Glorot, of the back-propagated δ) stays about 1:

    scheme            distribution                       Var(w)              for
    uniform           U(-1/√K, 1/√K)                      1 / (3K)            torch's nn.Linear default
    glorot_uniform    U(-a, a),  a = g √(6 / (K + N))     2 g² / (K + N)      sigmoid, tanh (Glorot & Bengio 2010)
    glorot_normal     N(0, s²),  s = g √(2 / (K + N))     2 g² / (K + N)
    he_uniform        U(-a, a),  a = √(6 / K)             2 / K               ReLU (He et al. 2015)
    he_normal         N(0, s²),  s = √(2 / K)             2 / K

(g is the gain, 1 by default.) Biases start at 0, except for ``uniform``, which draws them from
the same U(-1/√K, 1/√K) as nn.Linear does.

Every random choice takes a ``seed``: an int (a fresh ``random.Random(seed)``, so the same seed
gives the same weights on every run and platform), a ``random.Random`` to draw from a shared
stream, or None for a fresh unpredictable stream.

>>> w, b = init_layer(2, 3, "he_uniform", seed=0)
>>> len(w), len(w[0]), b
(2, 3, [0.0, 0.0])
>>> init_layer(2, 3, "he_uniform", seed=0) == init_layer(2, 3, "he_uniform", seed=0)
True
>>> all(abs(v) <= math.sqrt(6 / 3) for row in w for v in row)
True
"""
from __future__ import annotations

import math
import random
from numbers import Integral, Real


def rng_from(seed) -> random.Random:
    """A ``random.Random`` for ``seed``: a new generator seeded with an int, the same object if
    ``seed`` already is a ``random.Random``, or an OS-seeded one for None.

    >>> rng_from(3).random() == rng_from(3).random()
    True
    """
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise TypeError(f"seed must be an int, a random.Random or None, got {type(seed).__name__}")
    return random.Random(int(seed))


def _check_fans(fan_out, fan_in) -> None:
    for name, value in (("fan_out", fan_out), ("fan_in", fan_in)):
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")


def _check_gain(gain) -> float:
    if isinstance(gain, bool) or not isinstance(gain, Real) or not (math.isfinite(gain) and gain > 0):
        raise ValueError(f"gain must be a positive finite number, got {gain!r}")
    return float(gain)


def uniform_matrix(fan_out: int, fan_in: int, a: float, seed=0) -> list[list[float]]:
    """A fan_out x fan_in matrix of independent draws from U(-a, a).

    >>> m = uniform_matrix(2, 2, 0.5, seed=1)
    >>> all(-0.5 <= v <= 0.5 for row in m for v in row)
    True
    """
    _check_fans(fan_out, fan_in)
    if isinstance(a, bool) or not isinstance(a, Real) or not (math.isfinite(a) and a >= 0):
        raise ValueError(f"a (the half-width of U(-a, a)) must be a finite number >= 0, got {a!r}")
    rng = rng_from(seed)
    return [[rng.uniform(-a, a) for _ in range(fan_in)] for _ in range(fan_out)]


def normal_matrix(fan_out: int, fan_in: int, std: float, seed=0) -> list[list[float]]:
    """A fan_out x fan_in matrix of independent draws from N(0, std²).

    >>> normal_matrix(1, 3, 0.0, seed=0)
    [[0.0, 0.0, 0.0]]
    """
    _check_fans(fan_out, fan_in)
    if isinstance(std, bool) or not isinstance(std, Real) or not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be a finite number >= 0, got {std!r}")
    rng = rng_from(seed)
    return [[rng.gauss(0.0, std) for _ in range(fan_in)] for _ in range(fan_out)]


def uniform(fan_out: int, fan_in: int, seed=0) -> list[list[float]]:
    """torch nn.Linear's default: w ~ U(-1/√K, 1/√K), K = fan_in (the decks prescribe no initialization)."""
    _check_fans(fan_out, fan_in)
    return uniform_matrix(fan_out, fan_in, 1.0 / math.sqrt(fan_in), seed)


def glorot_uniform(fan_out: int, fan_in: int, seed=0, gain: float = 1.0) -> list[list[float]]:
    """Glorot/Xavier uniform: w ~ U(-a, a), a = gain · √(6 / (fan_in + fan_out)); Var(w) = 2 gain² / (K + N)."""
    _check_fans(fan_out, fan_in)
    return uniform_matrix(fan_out, fan_in, _check_gain(gain) * math.sqrt(6.0 / (fan_in + fan_out)), seed)


def glorot_normal(fan_out: int, fan_in: int, seed=0, gain: float = 1.0) -> list[list[float]]:
    """Glorot/Xavier normal: w ~ N(0, s²), s = gain · √(2 / (fan_in + fan_out))."""
    _check_fans(fan_out, fan_in)
    return normal_matrix(fan_out, fan_in, _check_gain(gain) * math.sqrt(2.0 / (fan_in + fan_out)), seed)


def he_uniform(fan_out: int, fan_in: int, seed=0) -> list[list[float]]:
    """He/Kaiming uniform for ReLU: w ~ U(-a, a), a = √(6 / fan_in); Var(w) = 2 / K."""
    _check_fans(fan_out, fan_in)
    return uniform_matrix(fan_out, fan_in, math.sqrt(6.0 / fan_in), seed)


def he_normal(fan_out: int, fan_in: int, seed=0) -> list[list[float]]:
    """He/Kaiming normal for ReLU: w ~ N(0, 2 / fan_in)."""
    _check_fans(fan_out, fan_in)
    return normal_matrix(fan_out, fan_in, math.sqrt(2.0 / fan_in), seed)


INITIALIZERS = {
    "uniform": uniform,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
}
# The customary other names of the same schemes.
_ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
            "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal"}


def init_layer(fan_out: int, fan_in: int, scheme: str = "glorot_uniform", seed=0):
    """(weight [fan_out][fan_in], bias [fan_out]) for ``scheme`` (a name in ``INITIALIZERS`` or
    xavier_*/kaiming_*). The bias is 0 except for ``uniform``, where it is drawn like the weights
    (after them, from the same stream).

    >>> init_layer(1, 1, "kaiming_normal", seed=0) == init_layer(1, 1, "he_normal", seed=0)
    True
    >>> init_layer(1, 1, "zeros")
    Traceback (most recent call last):
    ...
    ValueError: unknown initialization scheme 'zeros'; expected one of uniform, glorot_uniform, glorot_normal, he_uniform, he_normal (or xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal)
    """
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a name (str), got {type(scheme).__name__}")
    name = _ALIASES.get(scheme, scheme)
    if name not in INITIALIZERS:
        raise ValueError(
            f"unknown initialization scheme {scheme!r}; expected one of {', '.join(INITIALIZERS)} "
            f"(or {', '.join(_ALIASES)})"
        )
    rng = rng_from(seed)
    weight = INITIALIZERS[name](fan_out, fan_in, rng)
    if name == "uniform":
        bias = uniform_matrix(1, fan_out, 1.0 / math.sqrt(fan_in), rng)[0]
    else:
        bias = [0.0] * fan_out
    return weight, bias
