"""Boolean functions computed by networks of step neurons.

Every neuron here is y = σ(ξ), ξ = w_0 + Σ_i w_i x_i, σ(ξ) = 1 if ξ >= 0 else 0, on inputs in {0, 1}.
Single neurons compute the linearly separable functions:

    NOT x            ξ = -x                      (fires iff x = 0)
    AND x_1..x_n     ξ = -n + Σ_i x_i            (fires iff all inputs are 1)
    OR  x_1..x_n     ξ = -1 + Σ_i x_i            (fires iff some input is 1)

XOR is not linearly separable, but two lines separate it: above -1 + 2x_1 + 2x_2 = 0 lies "at least
one input is 1" (OR), below 3 - 2x_1 - 2x_2 = 0 lies "not both" (NAND); XOR is their AND.

Any F: {0,1}^n -> {0,1} is a two-layer network (the constructive proof): one hidden neuron per
true row a of the truth table, which fires only on x = a,

    ξ_a = -|a| + Σ_{i: a_i = 1} x_i - Σ_{i: a_i = 0} x_i      (|a| = number of ones in a; ξ_a = 0 iff x = a),

and an output neuron computing the OR of the hidden layer. All weights are small integers, so every
ξ is computed exactly.

That construction is a circuit of ANDs and an OR, and for parity it needs 2^(n-1) hidden neurons:
Håstad's lower bound for AND/OR circuits of small depth. A step neuron can count, which an AND
cannot, so a single hidden layer of n neurons computes parity (:func:`parity_network`: h_k fires
iff at least k inputs are 1, and h_1 - h_2 + h_3 - ... is 1 exactly when their number is odd), and
majority is one neuron (:func:`majority`).

>>> [XOR([x1, x2]) for x1 in (0, 1) for x2 in (0, 1)]
[0, 1, 1, 0]
>>> majority = network_from_truth_table(truth_table(lambda x: int(sum(x) >= 2), 3))
>>> [majority(x) for x in ([0, 1, 1], [1, 0, 0])]
[1, 0]
"""
from __future__ import annotations

import itertools
import math
from numbers import Integral
from operator import mul
from typing import Callable

from .vector import check_matrix, check_vector


class StepNetwork:
    """A layered network of step neurons; ``layers[l][j]`` = [w_0, w_1..w_n] of neuron j in layer l.

    The last layer must have exactly one neuron; the network's output is its y ∈ {0, 1}.

    >>> StepNetwork([[[-1.0, 1.0, 1.0]]], n_inputs=2)([0, 1])  # OR
    1
    """

    def __init__(self, layers, n_inputs: int):
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, Integral) or n_inputs < 0:
            raise ValueError(f"n_inputs must be a non-negative int, got {n_inputs!r}")
        if not isinstance(layers, list) or not layers:
            raise ValueError("layers must be a non-empty list of weight matrices")
        self.n_inputs = int(n_inputs)
        self.layers = []
        width = self.n_inputs
        for l, layer in enumerate(layers):
            self.layers.append(check_matrix(layer, f"layers[{l}]", cols=width + 1))
            width = len(layer)
        if width != 1:
            raise ValueError(f"the last layer must have exactly one neuron, got {width}")

    def __call__(self, x) -> int:
        """The network's output y for input x = [x_1..x_n]."""
        y = check_vector(x, "x", length=self.n_inputs)
        for layer in self.layers:
            y = [1.0 if math.fsum([w[0], *map(mul, w[1:], y)]) >= 0.0 else 0.0 for w in layer]
        return int(y[0])

    def __repr__(self) -> str:
        return f"StepNetwork({self.layers}, n_inputs={self.n_inputs})"


NOT = StepNetwork([[[0.0, -1.0]]], 1)
XOR = StepNetwork([[[-1.0, 2.0, 2.0], [3.0, -2.0, -2.0]], [[-2.0, 1.0, 1.0]]], 2)


def AND(n: int = 2) -> StepNetwork:
    """The n-input AND neuron ξ = -n + Σ_i x_i.

    >>> [AND(3)(x) for x in ([1, 1, 1], [1, 0, 1])]
    [1, 0]
    """
    return StepNetwork([[[-float(n)] + [1.0] * n]], n)


def OR(n: int = 2) -> StepNetwork:
    """The n-input OR neuron ξ = -1 + Σ_i x_i.

    >>> [OR(3)(x) for x in ([0, 0, 0], [0, 1, 0])]
    [0, 1]
    """
    return StepNetwork([[[-1.0] + [1.0] * n]], n)


def inputs(n: int) -> list[tuple[int, ...]]:
    """All 2^n inputs of {0,1}^n in truth-table order: (0,..,0), (0,..,0,1), .., (1,..,1).

    >>> inputs(2)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    return list(itertools.product((0, 1), repeat=n))


def truth_table(f: Callable, n: int) -> list[int]:
    """[F(a) for a in inputs(n)]: the truth table of F as a list of 2^n bits.

    >>> truth_table(lambda x: x[0] ^ x[1], 2)
    [0, 1, 1, 0]
    """
    table = [f(a) for a in inputs(n)]
    return _check_table(table)


def _check_table(table) -> list[int]:
    if isinstance(table, (str, bytes)) or not hasattr(table, "__len__"):
        raise TypeError(f"table must be a list of 0/1 outputs, got {type(table).__name__}")
    n = max(len(table).bit_length() - 1, 0)
    if len(table) != 1 << n:
        raise ValueError(f"table must have 2^n entries (one per input of {{0,1}}^n), got {len(table)}")
    for k, v in enumerate(table):
        if not isinstance(v, Integral) or v not in (0, 1):
            raise ValueError(f"table[{k}] must be 0 or 1, got {v!r}")
    return [int(v) for v in table]


def network_from_truth_table(table) -> StepNetwork:
    """The two-layer step network of the constructive proof for the truth table of F.

    ``table`` lists F(a) for a in :func:`inputs` (n), so it has 2^n entries. Hidden neuron for
    each true row a: w_0 = -|a|, w_i = +1 if a_i = 1 else -1; output: OR of the hidden layer
    (w_0 = -1, all weights 1). A constant-0 F has no hidden neurons and output ξ = -1.

    >>> net = network_from_truth_table([0, 1, 1, 0])
    >>> net.layers[0]  # one neuron for each of the true rows (0, 1) and (1, 0)
    [[-1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]]
    """
    table = _check_table(table)
    n = len(table).bit_length() - 1
    hidden = [[-float(sum(a))] + [1.0 if ai else -1.0 for ai in a] for a, v in zip(inputs(n), table) if v]
    return StepNetwork([hidden, [[-1.0] + [1.0] * len(hidden)]], n)


def majority(n: int) -> StepNetwork:
    """The one neuron ξ = -(⌊n/2⌋ + 1) + Σ_i x_i: fires iff more than half the n inputs are 1.

    >>> [majority(3)(x) for x in ([1, 1, 0], [1, 0, 0])]
    [1, 0]
    """
    _check_n(n)
    return StepNetwork([[[-float(n // 2 + 1)] + [1.0] * n]], n)


def parity_network(n: int) -> StepNetwork:
    """Parity of n inputs with one hidden layer of n step neurons: h_k (k = 1..n) fires iff
    Σ_i x_i >= k (w_0 = -k, w_i = 1); the output ξ = -1 + Σ_k (-1)^(k+1) h_k fires iff the count is odd.

    >>> net = parity_network(4)
    >>> len(net.layers[0]), [net(x) for x in ([1, 1, 1, 0], [1, 1, 0, 0])]
    (4, [1, 0])
    """
    _check_n(n)
    hidden = [[-float(k)] + [1.0] * n for k in range(1, n + 1)]
    return StepNetwork([hidden, [[-1.0] + [1.0 if k % 2 else -1.0 for k in range(1, n + 1)]]], n)


def _check_n(n) -> None:
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
