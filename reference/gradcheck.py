"""Finite-difference gradient checking for any function of (nested lists of) parameters.

Back-propagation is easy to get subtly wrong (a missing factor 1/P, a transposed index); the cure
is to compare the analytic gradient with the central difference quotient

    ∂E/∂w ≈ (E(w + h) - E(w - h)) / (2h),

whose error is about h² |E'''| / 6 (truncation) plus u |E| / h (rounding, u = 2^-53). With
h = 1e-6 both are around 1e-10 for well-scaled E, so a correct gradient agrees to ~1e-8
relative and a wrong one (a factor, a sign, a swapped entry) is off by O(1).

Parameters are perturbed *in place* and restored bit for bit, so the checker works on any model
whose loss reads its parameters from lists: pass the lists themselves (e.g. a layer's weight
matrix) and a function that recomputes the loss.

>>> w = [[1.0, 2.0], [3.0, -1.0]]
>>> E = lambda w: math.fsum(v * v * v for row in w for v in row)  # E = Σ w³, ∂E/∂w = 3w²
>>> gradcheck(E, w, [[3.0, 12.0], [27.0, 3.0]]) < 1e-8
True
>>> round(gradcheck(E, w, [[3.0, 12.0], [27.0, -3.0]]), 6)  # a sign error: relative error 2
2.0
>>> w  # restored exactly
[[1.0, 2.0], [3.0, -1.0]]
"""
from __future__ import annotations

import math
from numbers import Real
from typing import Callable


def _leaves(params, name: str = "params"):
    """Yield (container, index) for every float in a nested list, in row-major order."""
    if isinstance(params, (str, bytes)) or not isinstance(params, list):
        raise TypeError(f"{name} must be a (nested) list of floats, got {type(params).__name__}")
    for i, v in enumerate(params):
        if isinstance(v, list):
            yield from _leaves(v, f"{name}[{i}]")
        elif isinstance(v, Real) and not isinstance(v, bool):
            yield params, i
        else:
            raise TypeError(f"{name}[{i}] must be a float or a list, got {type(v).__name__}")


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, Real) or not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return float(eps)


def numerical_gradient(f: Callable, params, eps: float = 1e-6):
    """Central differences g_j = (f(w + h e_j) - f(w - h e_j)) / (2h), h = eps · max(1, |w_j|).

    ``f(params)`` must return a float; ``params`` (a nested list of floats) is perturbed in place
    one entry at a time and restored exactly. Returns a nested list shaped like ``params``.

    >>> [round(g, 9) for g in numerical_gradient(lambda w: w[0] * w[1], [2.0, 5.0])]  # (w1, w0)
    [5.0, 2.0]
    """
    eps = _check_eps(eps)
    grads = {}
    for container, i in list(_leaves(params)):
        w = container[i]
        h = eps * max(1.0, abs(w))  # relative step for large weights
        container[i] = w + h
        up = f(params)
        container[i] = w - h
        down = f(params)
        container[i] = w
        grads[id(container), i] = (up - down) / ((w + h) - (w - h))  # the step actually taken
    return _like(params, lambda container, i: grads[id(container), i])


def _like(params, value):
    return [_like(v, value) if isinstance(v, list) else value(params, i) for i, v in enumerate(params)]


def gradcheck(f: Callable, params, grads, eps: float = 1e-6, floor: float = 1e-6) -> float:
    """Largest relative error max_j |g_j - n_j| / max(|g_j|, |n_j|, floor) between the claimed
    gradient ``grads`` and the central difference n = numerical_gradient(f, params, eps).

    ``grads`` must have the shape of ``params``. ``floor`` turns the comparison absolute for
    entries whose gradient is smaller than it, where the difference quotient's own rounding noise
    (~ u |f| / eps) would otherwise dominate a relative error. Expect < 1e-6 for a correct
    gradient of a smooth, well-scaled function; a wrong factor or sign gives O(1).
    """
    claimed = [c[i] for c, i in _leaves(grads, "grads")]
    list(_leaves(params))  # type-check params before comparing shapes
    shape = lambda tree: _like(tree, lambda container, i: None)  # noqa: E731
    if shape(grads) != shape(params):
        raise ValueError("grads must have the shape of params (the same nesting and lengths)")
    numeric = [c[i] for c, i in _leaves(numerical_gradient(f, params, eps))]
    worst = 0.0
    for g, n in zip(claimed, numeric):
        err = abs(g - n) / max(abs(g), abs(n), floor)
        if math.isnan(err):
            return err  # a NaN gradient is never right
        worst = max(worst, err)
    return worst
