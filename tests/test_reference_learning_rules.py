"""Perceptron and delta rules: convergence on separable data, none on XOR."""
import math
import random
from fractions import Fraction

import pytest

from reference.delta_rule import classify, delta_rule
from reference.perceptron import perceptron_rule, predict

BITS = [[0, 0], [0, 1], [1, 0], [1, 1]]


def separable_set(seed, n=3, p=60, margin=0.3):
    """Points on either side of a random hyperplane w*·x̃ = 0, none closer than ``margin``."""
    rng = random.Random(seed)
    w_star = [rng.gauss(0, 1) for _ in range(n + 1)]
    norm = math.sqrt(sum(v * v for v in w_star))
    w_star = [v / norm for v in w_star]
    X, d = [], []
    while len(X) < p:
        x = [rng.uniform(-2, 2) for _ in range(n)]
        s = w_star[0] + sum(a * b for a, b in zip(w_star[1:], x))
        if abs(s) >= margin:
            X.append(x)
            d.append(1 if s > 0 else 0)
    return X, d, w_star


@pytest.mark.parametrize("seed", range(5))
def test_perceptron_converges_within_the_novikoff_bound(seed):
    X, d, w_star = separable_set(seed)
    result = perceptron_rule(X, d, eta=0.5, max_epochs=1000)
    assert result.converged and result.errors[-1] == 0
    assert [predict(result.weights, x) for x in X] == d
    # ||w*|| = 1, margin γ = min_k |w*·x̃_k| and R = max_k ||x̃_k||: at most (R/γ)² updates
    gamma = min(abs(w_star[0] + sum(a * b for a, b in zip(w_star[1:], x))) for x in X)
    R = max(math.sqrt(1 + sum(v * v for v in x)) for x in X)
    assert sum(result.errors) <= (R / gamma) ** 2


@pytest.mark.parametrize("labels", [[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 0, 0], [1, 0, 1, 1]])
def test_perceptron_learns_separable_boolean_functions(labels):
    result = perceptron_rule(BITS, labels)
    assert result.converged
    assert [predict(result.weights, x) for x in BITS] == labels


def test_learning_rate_only_scales_the_weights_from_zero():
    X, d, _ = separable_set(7)
    a, b = perceptron_rule(X, d, eta=1.0), perceptron_rule(X, d, eta=0.25)
    assert a.errors == b.errors
    assert b.weights == pytest.approx([0.25 * w for w in a.weights], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("labels", [[0, 1, 1, 0], [1, 0, 0, 1]])
def test_perceptron_never_converges_on_xor(labels):
    result = perceptron_rule(BITS, labels, max_epochs=200)
    assert not result.converged and result.epochs == 200
    assert min(result.errors) >= 1  # no line separates XOR, so every epoch has a mistake


def least_squares(X, d):
    """Exact solution of the normal equations (X̃^T X̃) w = X̃^T d (Gauss-Jordan on Fractions)."""
    Xt = [[Fraction(1), *map(Fraction, x)] for x in X]
    n = len(Xt[0])
    A = [[sum(r[i] * r[j] for r in Xt) for j in range(n)] + [sum(r[i] * Fraction(t) for r, t in zip(Xt, d))] for i in range(n)]
    for c in range(n):
        pivot = next(r for r in range(c, n) if A[r][c] != 0)
        A[c], A[pivot] = A[pivot], A[c]
        A[c] = [v / A[c][c] for v in A[c]]
        for r in range(n):
            if r != c:
                A[r] = [v - A[r][c] * pc for v, pc in zip(A[r], A[c])]
    return [float(row[-1]) for row in A]


def test_batch_delta_rule_converges_to_least_squares_and_separates_and():
    d = [-1, -1, -1, 1]
    result = delta_rule(BITS, d, eta=0.1, epochs=2000, mode="batch", tol=1e-13)
    assert result.converged and result.epochs < 2000
    assert result.weights == pytest.approx(least_squares(BITS, d), abs=1e-11)
    assert result.errors[-1] == 0 and [classify(result.weights, x) for x in BITS] == d
    assert all(a >= b for a, b in zip(result.mse, result.mse[1:]))  # gradient descent never climbs


def test_online_delta_rule_separates_a_random_separable_set():
    X, d01, _ = separable_set(3, n=2, p=40, margin=0.5)
    d = [2 * t - 1 for t in d01]
    result = delta_rule(X, d, eta=0.01, epochs=300)
    assert result.errors[-1] == 0
    assert result.weights == pytest.approx(least_squares(X, d), abs=0.1)  # online: near, not at


def test_delta_rule_cannot_learn_xor():
    xor = [-1, 1, 1, -1]
    batch = delta_rule(BITS, xor, eta=0.1, epochs=2000, mode="batch", tol=1e-13)
    assert batch.converged  # to the least-squares weights, which are 0 for XOR ...
    assert batch.weights == pytest.approx(least_squares(BITS, xor), abs=1e-11)
    assert least_squares(BITS, xor) == pytest.approx([0.0, 0.0, 0.0], abs=1e-15)
    assert min(batch.errors) >= 1  # ... and misclassify half of it
    online = delta_rule(BITS, xor, eta=0.1, epochs=1000, tol=1e-12)
    assert online.converged and min(online.errors) >= 1  # a stable cycle, never a separation
    assert max(abs(w) for w in online.weights) > 0.05  # fixed η: the cycle sits O(η) off the minimiser


@pytest.mark.parametrize("rule,kwargs,match,exc", [
    (perceptron_rule, dict(eta=0.0), r"eta \(learning rate\) must be a positive", ValueError),
    (perceptron_rule, dict(eta=-1.0), "eta", ValueError),
    (delta_rule, dict(eta=math.nan), "eta", ValueError),
    (perceptron_rule, dict(d=[0, 1, 1]), "d must have length 4", ValueError),
    (perceptron_rule, dict(d=[0, 1, 2, 0]), r"d\[2\] = 2.0 is not a valid label", ValueError),
    (delta_rule, dict(d=[0, 1, 1, 0]), r"d\[0\] = 0.0 is not a valid label", ValueError),
    (perceptron_rule, dict(X=[[0, 0], [0, math.nan], [1, 0], [1, 1]]), r"X\[1\]\[1\] must be finite", ValueError),
    (perceptron_rule, dict(X=[], d=[]), "at least one example", ValueError),
    (perceptron_rule, dict(max_epochs=0), "max_epochs must be a positive int", ValueError),
    (delta_rule, dict(epochs=1.5), "epochs must be a positive int", ValueError),
    (delta_rule, dict(mode="stochastic"), "mode must be one of", ValueError),
    (delta_rule, dict(tol=-1.0), "tol must be >= 0", ValueError),
    (perceptron_rule, dict(weights=[0.0, 0.0]), "weights must have length 3", ValueError),
])
def test_bad_input(rule, kwargs, match, exc):
    args = dict(X=BITS, d=[0, 0, 0, 1] if rule is perceptron_rule else [-1, -1, -1, 1])
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        rule(**args)
