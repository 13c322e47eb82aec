"""The delta rule (Widrow-Hoff, least mean squares) training an ADALINE.

An ADALINE is a linear neuron y = ξ = w · x̃ (x̃ = (1, x_1..x_n)) trained to bring its *linear*
output close to desired outputs d_k ∈ {-1, +1}; it classifies with the sign, +1 if ξ >= 0 else -1.
The error E(w) = ½ Σ_k (y_k - d_k)² is minimised by gradient descent, ∂E/∂w = Σ_k (y_k - d_k) x̃_k:

* online (the Widrow-Hoff rule proper): after each example, w ← w + η (d_k - y_k) x̃_k;
* batch: after each epoch, w ← w + η Σ_k (d_k - y_k) x̃_k.

Since E is a convex quadratic, batch descent with η < 2 / λ_max(Σ_k x̃_k x̃_k^T) converges to
the least-squares weights; online descent with a fixed η settles into a cycle through the examples
(the same weights at the end of every epoch) that lies O(η) away from them.
Unlike the perceptron rule it never stops by itself: it converges *to the minimiser of E*, which
classifies every example correctly on a linearly separable set such as AND (though not on every
separable set), and on XOR (inputs 0/1, targets ±1) is w = 0: no linear neuron separates XOR,
so at least one example stays misclassified however long it trains.

>>> X, AND = [[0, 0], [0, 1], [1, 0], [1, 1]], [-1, -1, -1, 1]
>>> result = delta_rule(X, AND, eta=0.1, epochs=500, mode="batch", tol=1e-12)
>>> result.converged, result.errors[-1], [round(w, 6) for w in result.weights]  # LS: -1.5 + x1 + x2
(True, 0, [-1.5, 1.0, 1.0])
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul

from .perceptron import _initial_weights, check_epochs, check_learning_rate, check_training_set
from .vector import check_number, check_vector

MODES = ("online", "batch")


@dataclass
class DeltaRuleResult:
    """weights [w_0..w_n]; converged: an epoch changed no weight by more than tol; epochs run;
    errors[e] misclassified examples (sign of ξ vs d) and mse[e] = (1/p) Σ_k (y_k - d_k)² after epoch e."""

    weights: list[float]
    converged: bool
    epochs: int
    errors: list[int]
    mse: list[float]


def classify(weights, x) -> int:
    """+1 if ξ = w_0 + Σ_i w_i x_i >= 0 else -1.

    >>> classify([-1.5, 1.0, 1.0], [1, 1]), classify([-1.5, 1.0, 1.0], [0, 1])
    (1, -1)
    """
    weights = check_vector(weights, "weights")
    x = check_vector(x, "x", length=len(weights) - 1)
    return 1 if math.fsum([weights[0], *map(mul, weights[1:], x)]) >= 0.0 else -1


def delta_rule(
    X, d, eta: float = 0.1, epochs: int = 100, weights=None, mode: str = "online", tol: float = 0.0
) -> DeltaRuleResult:
    """Train an ADALINE with the delta rule (see the module docstring).

    X [p][n] inputs, d [p] targets in {-1, +1}, η > 0, ``mode`` "online" or "batch", at most
    ``epochs`` epochs, stopping early once no weight moves by more than ``tol`` in an epoch
    (with tol = 0, once an epoch leaves the weights exactly unchanged).
    """
    X, d = check_training_set(X, d, labels={-1.0, 1.0})
    eta = check_learning_rate(eta)
    epochs = check_epochs(epochs, "epochs")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    tol = check_number(tol, "tol")
    if tol < 0.0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    w = _initial_weights(weights, len(X[0]))
    Xt = [[1.0, *x] for x in X]
    errors, mse, converged = [], [], False
    for _ in range(epochs):
        before = w
        if mode == "online":
            for xt, dk in zip(Xt, d):
                r = dk - math.fsum(map(mul, w, xt))
                w = [wi + eta * r * xi for wi, xi in zip(w, xt)]
        else:
            residuals = [dk - math.fsum(map(mul, w, xt)) for xt, dk in zip(Xt, d)]
            w = [wi + eta * math.fsum(r * xt[i] for r, xt in zip(residuals, Xt)) for i, wi in enumerate(w)]
        ys = [math.fsum(map(mul, w, xt)) for xt in Xt]
        errors.append(sum((1.0 if y >= 0.0 else -1.0) != dk for y, dk in zip(ys, d)))
        mse.append(math.fsum((y - dk) ** 2 for y, dk in zip(ys, d)) / len(d))
        if max(abs(a - b) for a, b in zip(w, before)) <= tol:
            converged = True
            break
    return DeltaRuleResult(w, converged, len(errors), errors, mse)
