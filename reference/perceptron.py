"""Rosenblatt's perceptron and its learning rule.

A perceptron is one step neuron y = σ(ξ), ξ = w · x̃ = w_0 + Σ_i w_i x_i with x̃ = (1, x_1..x_n),
σ(ξ) = 1 if ξ >= 0 else 0. Given training examples (x_k, d_k) with desired outputs d_k ∈ {0, 1},
the perceptron rule visits the examples in order and after each one sets

    w ← w + η (d_k - y_k) x̃_k,

which changes w only when the example is misclassified (d_k - y_k = ±1). An epoch in which no
example is misclassified ends training. Perceptron convergence theorem: if some hyperplane
separates the two classes with margin γ > 0 and ||x̃_k|| <= R, the rule makes at most (R/γ)²
updates (for w starting at 0), whatever η > 0. If the classes are not linearly separable (XOR)
no weights classify every example, so every epoch has an error and the rule never stops.

>>> AND = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1]
>>> result = perceptron_rule(*AND)
>>> result.converged, [predict(result.weights, x) for x in AND[0]]
(True, [0, 0, 0, 1])
>>> perceptron_rule([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], max_epochs=50).converged  # XOR
False
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from operator import mul

from .vector import check_matrix, check_vector


def check_training_set(X, d, labels=None) -> tuple[list[list[float]], list[float]]:
    """Validate examples X [p][n] (p >= 1) and desired outputs d [p] (optionally within ``labels``)."""
    X = check_matrix(X, "X")
    if not X:
        raise ValueError("X must hold at least one example")
    d = check_vector(d, "d", length=len(X))
    if labels is not None:
        for k, dk in enumerate(d):
            if dk not in labels:
                raise ValueError(f"d[{k}] = {dk} is not a valid label; expected one of {sorted(labels)}")
    return X, d


def check_learning_rate(eta) -> float:
    """η must be a positive finite number."""
    if isinstance(eta, bool) or not isinstance(eta, Real) or not (math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta (learning rate) must be a positive finite number, got {eta!r}")
    return float(eta)


def check_epochs(epochs, name: str) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 1:
        raise ValueError(f"{name} must be a positive int, got {epochs!r}")
    return int(epochs)


def _initial_weights(weights, n: int) -> list[float]:
    return [0.0] * (n + 1) if weights is None else check_vector(weights, "weights", length=n + 1)


@dataclass
class PerceptronResult:
    """weights [w_0..w_n]; converged: an epoch passed without error; epochs run; errors[e] = number
    of misclassified examples (= updates) in epoch e."""

    weights: list[float]
    converged: bool
    epochs: int
    errors: list[int]


def predict(weights, x) -> int:
    """y = 1 if ξ = w_0 + Σ_i w_i x_i >= 0 else 0.

    >>> predict([-1.5, 1.0, 1.0], [1, 1]), predict([-1.5, 1.0, 1.0], [1, 0])
    (1, 0)
    """
    weights = check_vector(weights, "weights")
    x = check_vector(x, "x", length=len(weights) - 1)
    return 1 if math.fsum([weights[0], *map(mul, weights[1:], x)]) >= 0.0 else 0


def perceptron_rule(X, d, eta: float = 1.0, max_epochs: int = 100, weights=None) -> PerceptronResult:
    """Train a perceptron with w ← w + η (d_k - y_k) x̃_k (see the module docstring).

    X [p][n] inputs, d [p] labels in {0, 1}, η > 0, at most ``max_epochs`` passes over the data
    in the given order, starting from ``weights`` ([w_0..w_n], zeros by default).
    """
    X, d = check_training_set(X, d, labels={0.0, 1.0})
    eta = check_learning_rate(eta)
    max_epochs = check_epochs(max_epochs, "max_epochs")
    w = _initial_weights(weights, len(X[0]))
    errors = []
    for _ in range(max_epochs):
        mistakes = 0
        for x, dk in zip(X, d):
            xt = [1.0, *x]
            y = 1.0 if math.fsum(map(mul, w, xt)) >= 0.0 else 0.0
            if y != dk:
                mistakes += 1
                w = [wi + eta * (dk - y) * xi for wi, xi in zip(w, xt)]
        errors.append(mistakes)
        if mistakes == 0:
            break
    return PerceptronResult(w, errors[-1] == 0, len(errors), errors)
