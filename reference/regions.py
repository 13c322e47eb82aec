"""Regions of the plane (or of R^k) computed by step networks of two and three layers.

A step neuron y = σ(w_0 + Σ_i w_i x_i), σ(ξ) = 1 if ξ >= 0 else 0, fires on a closed half-space. So

    layer 1   half-spaces           one neuron per line (shared by every region that uses it);
    layer 2   their intersections   AND of m half-spaces, ξ = -m + Σ y: a convex polygon (polytope);
    layer 3   unions of those       OR, ξ = -1 + Σ y: any finite union of convex sets, convex or not.

(PV021 counts layers of neurons, so this is its "three layer network".) With squares as the convex
pieces, the union of the squares of a grid that meet a set A covers A, and the part it adds lies
within one square's diagonal of A's boundary: it shrinks as the grid is refined
(:func:`grid_cover`), which is how three-layer step networks approximate any reasonable set.

>>> triangle = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, -1.0, -1.0]]   # x >= 0, y >= 0, x + y <= 1
>>> net = union_network([triangle])
>>> [net(p) for p in ([0.2, 0.2], [0.8, 0.8], [-0.1, 0.5])]
[1, 0, 0]
>>> [len(layer) for layer in net.layers]
[3, 1, 1]
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Callable

from .boolean import StepNetwork


def union_network(polygons) -> StepNetwork:
    """The three-layer step network that fires on the union of convex polygons.

    ``polygons``: a list of polygons, each a list of half-spaces [w_0, w_1, ..., w_k] (the points with
    w_0 + Σ_i w_i x_i >= 0). Equal half-spaces share one first-layer neuron.
    """
    if not isinstance(polygons, list) or not polygons or not all(isinstance(p, list) and p for p in polygons):
        raise ValueError("polygons must be a non-empty list of non-empty lists of half-spaces")
    index = {}  # half-space -> its first-layer neuron
    uses = [{index.setdefault(tuple(float(w) for w in half), len(index)) for half in polygon} for polygon in polygons]
    lines = [list(key) for key in index]
    ands = [[-float(len(u))] + [1.0 if j in u else 0.0 for j in range(len(lines))] for u in uses]
    return StepNetwork([lines, ands, [[-1.0] + [1.0] * len(ands)]], n_inputs=len(lines[0]) - 1)


def square(x0: float, x1: float, y0: float, y1: float) -> list[list[float]]:
    """The four half-planes of the square [x0, x1] × [y0, y1].

    >>> square(0, 1, 0, 2)
    [[-0.0, 1.0, 0.0], [1.0, -1.0, 0.0], [-0.0, 0.0, 1.0], [2.0, 0.0, -1.0]]
    """
    x0, x1, y0, y1 = (float(v) for v in (x0, x1, y0, y1))
    return [[-x0, 1.0, 0.0], [x1, -1.0, 0.0], [-y0, 0.0, 1.0], [y1, 0.0, -1.0]]


def grid_cover(meets: Callable, m: int, lo: float = -1.0, hi: float = 1.0) -> StepNetwork:
    """The union of the squares of an m × m grid on [lo, hi]² for which ``meets(x0, x1, y0, y1)`` is
    true (the squares that meet the set A): 4(m + 1) lines, one AND per square, one OR.

    >>> disk = lambda x0, x1, y0, y1: math.hypot(max(x0, min(0, x1)), max(y0, min(0, y1))) < 0.5
    >>> net = grid_cover(disk, 2)     # all four quarters meet the disk of radius ½
    >>> len(net.layers[1]), net([0.9, 0.9])
    (4, 1)
    """
    if isinstance(m, bool) or not isinstance(m, Integral) or m < 1:
        raise ValueError(f"m must be a positive int, got {m!r}")
    if not (isinstance(lo, Real) and isinstance(hi, Real) and lo < hi):
        raise ValueError(f"need lo < hi, got lo={lo!r}, hi={hi!r}")
    ticks = [lo + (hi - lo) * i / m for i in range(m + 1)]
    cells = [(ticks[i], ticks[i + 1], ticks[j], ticks[j + 1]) for i in range(m) for j in range(m)]
    chosen = [square(*c) for c in cells if meets(*c)]
    if not chosen:
        raise ValueError("no square of the grid meets the set")
    return union_network(chosen)


def disagreement(net: StepNetwork, inside: Callable, n: int = 64, lo: float = -1.0, hi: float = 1.0) -> float:
    """The fraction of the n × n cell centres of [lo, hi]² where ``net`` and ``inside(x, y)`` differ:
    an estimate of the area of the symmetric difference over the area of the square.

    >>> disagreement(grid_cover(lambda *c: True, 1), lambda x, y: x * x + y * y < 1, n=8)  # 1 - π/4 ≈ 0.215
    0.1875
    """
    centres = [lo + (hi - lo) * (2 * i + 1) / (2 * n) for i in range(n)]
    wrong = sum(net([x, y]) != int(bool(inside(x, y))) for x in centres for y in centres)
    return wrong / (n * n)

