"""Vectors and matrices as plain Python lists, in float64 with correctly rounded sums.

A vector is a ``list[float]``, a matrix a list of equally long rows. Every sum is taken with
:func:`math.fsum`, which returns the exactly rounded value of the sum of its (already rounded)
terms. A dot product of length n therefore has error at most

    |fl(w · x) - w · x| <= u |w · x| + u Σ_i |w_i x_i|,      u = 2^-53,

one rounding per product and one for the whole sum, independent of n: this is what makes the
reference an oracle for float32/bf16 kernels whose error grows like n u Σ_i |w_i x_i|.

The ``check_*`` helpers validate user input once, at the public boundary, and name the
offending argument; the arithmetic helpers below only check lengths so inner loops stay fast.

>>> dot([0.1, 0.2, 0.3], [1.0, 1.0, 1.0])
0.6
>>> sum([0.1, 0.2, 0.3])  # the naive sum rounds three times
0.6000000000000001
"""
from __future__ import annotations

import math
from numbers import Real
from operator import mul


def check_number(value, name: str, *, allow_neg_inf: bool = False) -> float:
    """Return ``value`` as a float; TypeError if it is not a real number, ValueError if NaN/inf.

    ``allow_neg_inf`` admits -inf (a masked logit); +inf and NaN are always rejected.
    """
    if type(value) is float:  # the common case, without the slower abstract-class check
        v = value
    elif isinstance(value, Real):
        v = float(value)
    else:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(v) and not (allow_neg_inf and v == -math.inf):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def check_vector(v, name: str, *, length: int | None = None, allow_neg_inf: bool = False) -> list[float]:
    """Validate a sequence of real numbers (optionally of a given ``length``) and return it as floats."""
    if isinstance(v, (str, bytes)) or not hasattr(v, "__len__"):
        raise TypeError(f"{name} must be a list of numbers, got {type(v).__name__}")
    if length is not None and len(v) != length:
        raise ValueError(f"{name} must have length {length}, got {len(v)}")
    # Finite floats pass as they are; anything else goes through check_number, which names the element.
    return [e if type(e) is float and math.isfinite(e) else check_number(e, f"{name}[{i}]", allow_neg_inf=allow_neg_inf)
            for i, e in enumerate(v)]


def check_matrix(
    a, name: str, *, rows: int | None = None, cols: int | None = None, allow_neg_inf: bool = False
) -> list[list[float]]:
    """Validate a rectangular list of rows (optionally ``rows`` x ``cols``) and return it as floats."""
    if isinstance(a, (str, bytes)) or not hasattr(a, "__len__"):
        raise TypeError(f"{name} must be a list of rows, got {type(a).__name__}")
    if rows is not None and len(a) != rows:
        raise ValueError(f"{name} must have {rows} rows, got {len(a)}")
    inferred = cols is None
    out = []
    for i, row in enumerate(a):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__len__"):
            raise TypeError(f"{name} must be a list of rows, got a row {name}[{i}] of type {type(row).__name__}")
        if cols is None:
            cols = len(row)
        elif len(row) != cols:
            if inferred:
                raise ValueError(f"{name} must be rectangular: {name}[0] has {cols} entries, {name}[{i}] has {len(row)}")
            raise ValueError(f"{name}[{i}] must have {cols} entries, got {len(row)}")
        out.append(check_vector(row, f"{name}[{i}]", allow_neg_inf=allow_neg_inf))
    return out


def _same_length(a, b, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, got {len(a)} and {len(b)}")


def dot(w, x) -> float:
    """Inner product w · x = Σ_i w_i x_i, correctly rounded sum of the rounded products.

    Error: at most u|w · x| + u Σ|w_i x_i| (u = 2^-53), for any length.

    >>> dot([1e16, 1.0, -1e16], [1.0, 1.0, 1.0])
    1.0
    """
    _same_length(w, x, "w", "x")
    return math.fsum(map(mul, w, x))


def add(a, b) -> list[float]:
    """Elementwise sum a + b.

    >>> add([1.0, 2.0], [0.5, -2.0])
    [1.5, 0.0]
    """
    _same_length(a, b, "a", "b")
    return [ai + bi for ai, bi in zip(a, b)]


def sub(a, b) -> list[float]:
    """Elementwise difference a - b.

    >>> sub([1.0, 2.0], [0.5, -2.0])
    [0.5, 4.0]
    """
    _same_length(a, b, "a", "b")
    return [ai - bi for ai, bi in zip(a, b)]


def scale(c: float, a) -> list[float]:
    """Scalar multiple c a.

    >>> scale(2.0, [1.0, -0.5])
    [2.0, -1.0]
    """
    return [c * ai for ai in a]


def norm(a) -> float:
    """Euclidean norm ||a|| = sqrt(Σ_i a_i^2), without overflow or underflow for extreme entries.

    >>> norm([3.0, 4.0])
    5.0
    >>> round(norm([3e200, 4e200]) / 1e200, 12)  # the squares alone would overflow
    5.0
    """
    return math.hypot(*a)


def distance(a, b) -> float:
    """Euclidean distance ||a - b|| (the distance potential of an RBF unit).

    >>> distance([1.0, 1.0], [4.0, 5.0])
    5.0
    """
    _same_length(a, b, "a", "b")
    return math.dist(a, b)


def outer(a, b) -> list[list[float]]:
    """Outer product (a b^T)_ij = a_i b_j.

    >>> outer([1.0, 2.0], [3.0, 4.0, 5.0])
    [[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]]
    """
    return [[ai * bj for bj in b] for ai in a]


def matvec(W, x) -> list[float]:
    """Matrix-vector product (W x)_i = Σ_j W_ij x_j, each row a correctly rounded dot product.

    >>> matvec([[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0])
    [-1.0, -1.0]
    """
    return [dot(row, x) for row in W]


def transpose(A) -> list[list[float]]:
    """Transpose (A^T)_ij = A_ji.

    >>> transpose([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    """
    return [list(col) for col in zip(*A)]


def matmul(A, B) -> list[list[float]]:
    """Matrix product (A B)_ij = Σ_k A_ik B_kj, each entry a correctly rounded dot product.

    >>> matmul([[1.0, 2.0]], [[3.0], [4.0]])
    [[11.0]]
    """
    if A and len(A[0]) != len(B):
        raise ValueError(f"inner dimensions differ: A has {len(A[0])} columns, B has {len(B)} rows")
    cols = transpose(B)
    return [[dot(row, col) for col in cols] for row in A]


def vsum(a) -> float:
    """Correctly rounded sum Σ_i a_i.

    >>> vsum([0.1] * 10)
    1.0
    """
    return math.fsum(a)


def mean(a) -> float:
    """Arithmetic mean (1/n) Σ_i a_i with a correctly rounded sum; ValueError if a is empty.

    >>> mean([1.0, 2.0, 4.0])
    2.3333333333333335
    """
    if len(a) == 0:
        raise ValueError("mean of an empty vector is undefined")
    return math.fsum(a) / len(a)
