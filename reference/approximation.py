"""What networks can represent: the constructions behind the approximation theorems.

Each function builds a network whose weights are written down, not learnt; the theorems say such
weights exist, and these are witnesses. All inputs are one number x on an interval [t_0, t_n] split
by knots t_0 < t_1 < ... < t_n, and v_k is the target value at t_k.

    hinge_network        the power of ReLU: F(x) = v_0 + Σ_k c_k σ(x - t_k), σ(ξ) = max(ξ, 0),
                         c_k = s_k - s_{k-1} the change of slope at t_k (s_k the slope on [t_k, t_{k+1}],
                         s_{-1} = 0). One hidden layer of n ReLUs; F is the piecewise linear interpolant,
                         so for a smooth f, max |f - F| <= h² max |f''| / 8 (h the widest piece).
    sigmoid_staircase    Cybenko's kind: F(x) = v_0 + Σ_k (v_k - v_{k-1}) σ(λ (x - m_k)), σ the logistic
                         sigmoid, m_k the midpoint of [t_{k-1}, t_k]; a staircase of n smoothed steps,
                         error of the order of the largest step |v_k - v_{k-1}| (h max |f'|).
    deep_narrow_network  the same hinges one per layer (Kidger & Lyons: depth for width): every hidden
                         layer has 3 ReLUs (u, the input shifted to be >= 0, carried; this layer's hinge;
                         the running sum plus a constant C that keeps it >= 0), within their bound of
                         n_in + n_out + 2 = 4.
    sawtooth_network     depth buys pieces: the tent map g(t) = 2σ(t) - 4σ(t - ½) composed k times has
                         2^k linear pieces on [0, 1] from 2k ReLUs; one hidden layer of m ReLUs has at
                         most m + 1 pieces.
    relu_parity_network  with t = Σ_i x_i / 2^k the sawtooth computes the parity of n <= 2^k bits: g maps
                         j / 2^k to j' / 2^(k-1) with j' ≡ j mod 2 (exactly: every number is dyadic).

>>> net = hinge_network([0.0, 0.5, 1.0], [0.0, 1.0, 0.0])   # a tent from two hinges
>>> [net.forward([x])[0] for x in (0.0, 0.25, 0.5, 0.75, 1.0)]
[0.0, 0.5, 1.0, 0.5, 0.0]
>>> deep_narrow_network([0.0, 0.5, 1.0], [0.0, 1.0, 0.0]).forward([0.75])[0]
0.5
>>> parity = relu_parity_network(3)                          # 2 layers of 2 ReLUs: parity of 3 bits
>>> [parity.forward(x)[0] for x in ([0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1])]
[0.0, 1.0, 0.0, 1.0]
"""
from __future__ import annotations

import math
from numbers import Integral, Real

from .mlp import MLP


def _check_knots(knots, values):
    for name, seq in (("knots", knots), ("values", values)):
        if not isinstance(seq, (list, tuple)) or not all(isinstance(v, Real) and math.isfinite(v) for v in seq):
            raise TypeError(f"{name} must be a list of finite numbers, got {seq!r}")
    if len(knots) < 2 or len(knots) != len(values):
        raise ValueError(f"knots and values must have the same length >= 2, got {len(knots)} and {len(values)}")
    if any(b <= a for a, b in zip(knots, knots[1:])):
        raise ValueError("knots must be strictly increasing")
    return [float(t) for t in knots], [float(v) for v in values]


def _slope_changes(knots, values) -> list[float]:
    """c_k = s_k - s_{k-1} with s_{-1} = 0: the weight of the hinge at t_k (k = 0..n-1)."""
    slopes = [(v1 - v0) / (t1 - t0) for t0, t1, v0, v1 in zip(knots, knots[1:], values, values[1:])]
    return [s - prev for s, prev in zip(slopes, [0.0, *slopes])]


def hinge_network(knots, values) -> MLP:
    """The 1-n-1 ReLU network F(x) = v_0 + Σ_{k<n} c_k max(x - t_k, 0): the piecewise linear
    interpolant of (t_k, v_k) on [t_0, t_n] (n = len(knots) - 1 hidden neurons).

    >>> hinge_network([0, 1, 2], [1, 3, 3]).linear_layers()   # slopes 2 then 0: c = [2, -2]
    ([[[1.0], [1.0]], [[2.0, -2.0]]], [[-0.0, -1.0], [1.0]])
    """
    knots, values = _check_knots(knots, values)
    hidden = [[1.0] for _ in knots[:-1]]
    return MLP.from_weights([hidden, [_slope_changes(knots, values)]], [[-t for t in knots[:-1]], [values[0]]],
                            ["relu", "identity"])


def sigmoid_staircase(knots, values, steepness: float) -> MLP:
    """The 1-n-1 sigmoid network F(x) = v_0 + Σ_{k=1}^n (v_k - v_{k-1}) σ(λ (x - m_k)),
    m_k = (t_{k-1} + t_k) / 2, λ = ``steepness``: a step of height v_k - v_{k-1} between the knots.

    >>> net = sigmoid_staircase([0, 1], [0, 1], steepness=20.0)
    >>> round(net.forward([0.5])[0], 6), round(net.forward([1.0])[0], 6)
    (0.5, 0.999955)
    """
    knots, values = _check_knots(knots, values)
    if not isinstance(steepness, Real) or not steepness > 0:
        raise ValueError(f"steepness must be a positive number, got {steepness!r}")
    lam = float(steepness)
    mids = [(a + b) / 2 for a, b in zip(knots, knots[1:])]
    return MLP.from_weights([[[lam] for _ in mids], [[b - a for a, b in zip(values, values[1:])]]],
                            [[-lam * m for m in mids], [values[0]]], ["sigmoid", "identity"])


def deep_narrow_network(knots, values) -> MLP:
    """The hinges of :func:`hinge_network`, one per hidden layer of width 3: n hidden layers.

    Layer 1: u = σ(x - t_0), h = σ(x - t_0), S = σ(C). Layer k >= 2: u ← σ(u), h ← σ(u - (t_{k-1} - t_0)),
    S ← σ(S + c_{k-2} h). Output: F = v_0 - C + S + c_{n-1} h. With C = 1 + (t_n - t_0) Σ|c_k| every S
    stays > 0 on [t_0, t_n], so σ passes it unchanged and F equals the shallow network there.

    >>> deep_narrow_network([0, 1, 2, 3], [0, 1, 0, 1]).sizes
    [1, 3, 3, 3, 1]
    """
    knots, values = _check_knots(knots, values)
    c = _slope_changes(knots, values)
    big = 1.0 + (knots[-1] - knots[0]) * math.fsum(abs(v) for v in c)
    weights, biases = [[[1.0], [1.0], [0.0]]], [[-knots[0], -knots[0], big]]
    for k in range(1, len(c)):
        weights.append([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, c[k - 1], 1.0]])
        biases.append([0.0, knots[0] - knots[k], 0.0])
    weights.append([[0.0, c[-1], 1.0]])
    biases.append([values[0] - big])
    return MLP.from_weights(weights, biases, ["relu"] * len(c) + ["identity"])


def sawtooth_network(depth: int, scale: float = 1.0, n_inputs: int = 1) -> MLP:
    """g composed ``depth`` times, g(t) = 2σ(t) - 4σ(t - ½) (the tent map on [0, 1]), of
    t = scale · Σ_i x_i: ``depth`` hidden layers of 2 ReLUs and a linear output. For t in [0, 1] the
    output is a sawtooth with 2^depth linear pieces.

    >>> sawtooth_network(3).forward([0.125])    # g(g(g(1/8))) = g(g(1/4)) = g(1/2) = 1
    [1.0]
    """
    for name, value in (("depth", depth), ("n_inputs", n_inputs)):
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not isinstance(scale, Real) or not math.isfinite(scale):
        raise TypeError(f"scale must be a finite number, got {scale!r}")
    weights, biases = [[[float(scale)] * n_inputs] * 2], [[0.0, -0.5]]
    for _ in range(depth - 1):
        weights.append([[2.0, -4.0], [2.0, -4.0]])
        biases.append([0.0, -0.5])
    weights.append([[2.0, -4.0]])
    biases.append([0.0])
    return MLP.from_weights(weights, biases, ["relu"] * depth + ["identity"])


def relu_parity_network(n_inputs: int) -> MLP:
    """The parity x_1 ⊕ ... ⊕ x_n of n bits as :func:`sawtooth_network` of depth k = ⌈log2 n⌉ (at
    least 1) and scale 2^-k: 2k hidden ReLUs, against 2^(n-1) in the truth-table construction.

    >>> net = relu_parity_network(5)
    >>> net.sizes, net.forward([1, 0, 1, 1, 0])
    ([5, 2, 2, 2, 1], [1.0])
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, Integral) or n_inputs < 1:
        raise ValueError(f"n_inputs must be a positive int, got {n_inputs!r}")
    depth = max(1, (n_inputs - 1).bit_length())
    return sawtooth_network(depth, 2.0 ** -depth, n_inputs)
