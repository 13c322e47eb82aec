"""The formal neuron: inputs x_1..x_n, weights, an inner potential ξ and an output y = σ(ξ).

Two inner potentials:

* weighted sum (perceptron, MLP): ξ = w_0 + Σ_{i=1}^n w_i x_i, the bias w_0 being the weight of a
  constant input x_0 = 1. The same neuron in *threshold form* is ξ = Σ_i w_i x_i - h with the
  threshold h = -w_0: with the unit step σ it fires (y = 1) exactly when Σ_i w_i x_i >= h.
* distance (RBF units): ξ = ||x - w|| = sqrt(Σ_i (x_i - w_i)²), the Euclidean distance of the
  input from the neuron's centre w (no bias).

ξ is a correctly rounded sum (error <= u|ξ| + u Σ|w_i x_i|, u = 2^-53), so a step neuron decides
exactly whenever the exact ξ is not within that bound of 0.

The course's worked example, "will I pass the exam?": the three inputs matter with weights
0.3, 0.8 and 0.5 and the student passes when 0.3 x1 + 0.8 x2 + 0.5 x3 >= 3, i.e. a step neuron
with threshold h = 3 (bias w_0 = -3):

>>> exam = exam_neuron()
>>> exam.weights
[-3.0, 0.3, 0.8, 0.5]
>>> round(exam.potential([2, 2, 2]), 12)  # 0.6 + 1.6 + 1.0 - 3
0.2
>>> exam.output([2, 2, 2]), exam.output([5, 0, 2])  # 3.2 >= 3 passes; 2.5 < 3 does not
(1.0, 0.0)
"""
from __future__ import annotations

import math
from operator import mul

from .activations import get_activation
from .vector import check_number, check_vector

POTENTIALS = ("weighted_sum", "distance")


def inner_potential(w, x) -> float:
    """ξ = w_0 + Σ_{i=1}^n w_i x_i for weights w = [w_0, w_1, ..., w_n] and input x = [x_1, ..., x_n].

    >>> inner_potential([-1.0, 2.0, 2.0], [1.0, 0.0])  # the course's line -1 + 2x1 + 2x2
    1.0
    """
    w = check_vector(w, "w")
    x = check_vector(x, "x", length=len(w) - 1)
    return math.fsum([w[0], *map(mul, w[1:], x)])


def threshold_potential(w, h: float, x) -> float:
    """ξ = Σ_{i=1}^n w_i x_i - h for weights w = [w_1..w_n] and threshold h (= -w_0).

    >>> threshold_potential([0.3, 0.8, 0.5], 3.0, [2, 2, 2]) == inner_potential([-3.0, 0.3, 0.8, 0.5], [2, 2, 2])
    True
    """
    return inner_potential([-check_number(h, "h"), *check_vector(w, "w")], x)


def distance_potential(w, x) -> float:
    """ξ = ||x - w|| = sqrt(Σ_i (x_i - w_i)²), the distance of x from the centre w.

    >>> distance_potential([1.0, 1.0], [4.0, 5.0])
    5.0
    """
    w = check_vector(w, "w")
    return math.dist(check_vector(x, "x", length=len(w)), w)


class Neuron:
    """A neuron y = σ(ξ(x)); ``weights`` are [w_0, w_1..w_n] for the weighted-sum potential and the
    centre [w_1..w_n] for the distance potential; ``params`` go to the activation (e.g. lam).

    >>> Neuron([0.0, 1.0, -1.0], "relu").output([3.0, 1.0])
    2.0
    >>> Neuron([0.0, 0.0], "identity", potential="distance").output([3.0, 4.0])
    5.0
    """

    def __init__(self, weights, activation: str = "step", potential: str = "weighted_sum", **params):
        if potential not in POTENTIALS:
            raise ValueError(f"potential must be one of {', '.join(POTENTIALS)}, got {potential!r}")
        self.weights = check_vector(weights, "weights")
        if potential == "weighted_sum" and not self.weights:
            raise ValueError("weights must hold at least the bias w_0")
        self.activation = get_activation(activation)
        self.activation.f(0.0, **params)  # rejects unknown parameters now, not at the first output
        self.potential_kind = potential
        self.params = params

    @property
    def n_inputs(self) -> int:
        """n, the number of inputs x_1..x_n."""
        return len(self.weights) - 1 if self.potential_kind == "weighted_sum" else len(self.weights)

    def potential(self, x) -> float:
        """The inner potential ξ(x) (weighted sum or distance, see the module docstring)."""
        if self.potential_kind == "weighted_sum":
            return inner_potential(self.weights, x)
        return distance_potential(self.weights, x)

    def output(self, x) -> float:
        """y = σ(ξ(x))."""
        return self.activation.f(self.potential(x), **self.params)

    def __repr__(self) -> str:
        return f"Neuron({self.weights}, {self.activation.name!r}, potential={self.potential_kind!r})"


def exam_neuron() -> Neuron:
    """The "will I pass the exam" neuron: y = 1 iff 0.3 x1 + 0.8 x2 + 0.5 x3 >= 3 (w_0 = -h = -3)."""
    return Neuron([-3.0, 0.3, 0.8, 0.5], "step")
