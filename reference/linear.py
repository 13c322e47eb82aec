"""A layer of neurons on a batch: y = σ(x W^T + b), forward and backward, in nn.Linear's layout.

The weight is N rows of K (row n holds the weights w_n1 .. w_nK of neuron n), the bias b_n is
the course's w_n0 with x_0 = 1, and x is a batch of M input rows of K. For example m and
neuron n the inner potential is

    ξ_mn = b_n + Σ_k x_mk w_nk,        y_mn = σ(ξ_mn),

each ξ a single correctly rounded sum (bias included) with error at most
u |ξ| + u (|b_n| + Σ_k |x_mk w_nk|), u = 2^-53: the oracle for a fused kernel's output.

>>> linear([[1.0, 2.0]], [[1.0, 1.0], [0.5, -1.0]], [0.0, 1.0])
[[3.0, -0.5]]
>>> linear_act([[1.0, 2.0]], [[1.0, 1.0], [0.5, -1.0]], [0.0, 1.0], activation="relu")
[[3.0, 0.0]]
"""
from __future__ import annotations

import math
from operator import mul

from .activations import get_activation
from .vector import check_matrix, check_vector


def _check_layer(x, weight, bias):
    weight = check_matrix(weight, "weight")
    if not weight or not weight[0]:
        raise ValueError("weight must be a non-empty N x K matrix (N output features, K input features)")
    k = len(weight[0])
    x = check_matrix(x, "x", cols=k)
    if bias is not None:
        bias = check_vector(bias, "bias", length=len(weight))
    return x, weight, bias


def _potentials(x, weight, bias) -> list[list[float]]:
    # fsum over the K products and the bias together: one rounding per ξ_mn.
    if bias is None:
        return [[math.fsum(map(mul, row, w)) for w in weight] for row in x]
    return [[math.fsum([b, *map(mul, row, w)]) for w, b in zip(weight, bias)] for row in x]


def linear(x, weight, bias=None) -> list[list[float]]:
    """ξ = x W^T + b for x [M][K], weight [N][K], bias [N] or None; returns ξ [M][N].

    ξ_mn = b_n + Σ_k x_mk w_nk, correctly rounded (see the module docstring).
    """
    return _potentials(*_check_layer(x, weight, bias))


def linear_act(x, weight, bias=None, activation: str = "relu", **params) -> list[list[float]]:
    """y = σ(x W^T + b), y_mn = σ(ξ_mn), for any activation name of ``reference.activations``.

    ``params`` go to the activation (e.g. negative_slope for leaky_relu, lam for sigmoid).
    """
    act = get_activation(activation)
    xi = linear(x, weight, bias)
    return [[act.f(v, **params) for v in row] for row in xi]


def linear_act_backward(x, weight, bias, activation, grad_y, **params):
    """Gradients of a scalar loss L through y = σ(x W^T + b), given grad_y = ∂L/∂y [M][N].

    With the local gradient δ_mn = ∂L/∂ξ_mn = grad_y_mn σ'(ξ_mn) (back-propagation's δ):

        ∂L/∂x_mk = Σ_n δ_mn w_nk        (dx = δ W,       [M][K])
        ∂L/∂w_nk = Σ_m δ_mn x_mk        (dweight = δ^T x, [N][K])
        ∂L/∂b_n  = Σ_m δ_mn             (dbias,           [N], None when bias is None)

    every sum correctly rounded. Returns (dx, dweight, dbias).

    >>> linear_act_backward([[1.0, 2.0]], [[1.0, -1.0]], [0.5], "identity", [[2.0]])
    ([[2.0, -2.0]], [[2.0, 4.0]], [2.0])
    """
    act = get_activation(activation)
    x, weight, bias = _check_layer(x, weight, bias)
    grad_y = check_matrix(grad_y, "grad_y", rows=len(x), cols=len(weight))
    xi = _potentials(x, weight, bias)
    delta = [[g * act.df(v, **params) for g, v in zip(grow, xrow)] for grow, xrow in zip(grad_y, xi)]
    weight_t = list(zip(*weight))
    dx = [[math.fsum(map(mul, drow, wcol)) for wcol in weight_t] for drow in delta]
    delta_t = list(zip(*delta)) if delta else [()] * len(weight)
    x_t = list(zip(*x)) if x else [()] * len(weight[0])
    dweight = [[math.fsum(map(mul, dcol, xcol)) for xcol in x_t] for dcol in delta_t]
    dbias = [math.fsum(dcol) for dcol in delta_t] if bias is not None else None
    return dx, dweight, dbias
