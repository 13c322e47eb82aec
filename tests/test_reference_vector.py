"""reference.vector: correctly rounded linear algebra, checked against exact rational arithmetic."""
import math
import random
from fractions import Fraction

import pytest

from reference import vector as V

U = 2.0 ** -53


def exact_dot(w, x):
    return sum(Fraction(a) * Fraction(b) for a, b in zip(w, x))


def random_vector(rng, n, spread=True):
    # mixed signs and magnitudes make naive summation cancel badly
    return [rng.uniform(-1, 1) * (10.0 ** rng.randint(-8, 8) if spread else 1.0) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 7, 64, 1000])
def test_dot_meets_its_error_bound(n):
    rng = random.Random(n)
    for _ in range(20):
        w, x = random_vector(rng, n), random_vector(rng, n)
        exact = exact_dot(w, x)
        bound = U * abs(exact) + U * sum(abs(Fraction(a) * Fraction(b)) for a, b in zip(w, x))
        assert abs(Fraction(V.dot(w, x)) - exact) <= bound


def test_dot_beats_naive_summation_under_cancellation():
    w, x = [1e16, 1.0, -1e16, 1.0], [1.0] * 4
    assert V.dot(w, x) == 2.0
    assert sum(a * b for a, b in zip(w, x)) != 2.0


def test_matvec_matmul_outer_transpose():
    rng = random.Random(1)
    A = [random_vector(rng, 5) for _ in range(3)]
    B = [random_vector(rng, 4) for _ in range(5)]
    x = random_vector(rng, 5)
    assert V.matvec(A, x) == [V.dot(row, x) for row in A]
    C = V.matmul(A, B)
    for i in range(3):
        for j in range(4):
            exact = sum(Fraction(A[i][k]) * Fraction(B[k][j]) for k in range(5))
            assert C[i][j] == float(exact) or abs(Fraction(C[i][j]) - exact) <= 2 * U * sum(
                abs(Fraction(A[i][k]) * Fraction(B[k][j])) for k in range(5)
            )
    assert V.transpose(V.transpose(A)) == A
    assert V.outer([2.0, 3.0], [1.0, -1.0]) == [[2.0, -2.0], [3.0, -3.0]]
    with pytest.raises(ValueError, match="inner dimensions"):
        V.matmul(A, A)


def test_elementwise_and_reductions():
    assert V.add([1.0, 2.0], [3.0, 4.0]) == [4.0, 6.0]
    assert V.sub([1.0, 2.0], [3.0, 4.0]) == [-2.0, -2.0]
    assert V.scale(-2.0, [1.0, 0.5]) == [-2.0, -1.0]
    assert V.vsum([0.1] * 10) == 1.0
    assert V.mean([1.0, 2.0, 3.0, 4.0]) == 2.5
    with pytest.raises(ValueError, match="empty"):
        V.mean([])


def test_norm_and_distance_are_overflow_safe():
    assert V.norm([3e300, 4e300]) == pytest.approx(5e300, rel=1e-15)
    assert V.norm([3e-300, 4e-300]) == pytest.approx(5e-300, rel=1e-15)
    assert V.distance([0.0, 0.0, 0.0], [1.0, 2.0, 2.0]) == 3.0


@pytest.mark.parametrize("fn", [V.dot, V.add, V.sub, V.distance])
def test_mismatched_lengths_are_rejected(fn):
    with pytest.raises(ValueError, match="same length"):
        fn([1.0, 2.0], [1.0])


def test_check_helpers_name_the_argument():
    assert V.check_vector([1, 2.5], "x") == [1.0, 2.5]
    with pytest.raises(ValueError, match=r"x\[1\] must be finite"):
        V.check_vector([1.0, math.nan], "x")
    with pytest.raises(ValueError, match=r"x\[0\] must be finite"):
        V.check_vector([math.inf], "x")
    assert V.check_vector([-math.inf], "z", allow_neg_inf=True) == [-math.inf]
    with pytest.raises(ValueError, match=r"z\[0\] must be finite"):
        V.check_vector([math.inf], "z", allow_neg_inf=True)
    with pytest.raises(TypeError, match=r"x\[0\] must be a real number"):
        V.check_vector(["1"], "x")
    with pytest.raises(TypeError, match="x must be a list"):
        V.check_vector(3.0, "x")
    with pytest.raises(ValueError, match="x must have length 3"):
        V.check_vector([1.0], "x", length=3)
    with pytest.raises(ValueError, match="W must be rectangular"):
        V.check_matrix([[1.0, 2.0], [3.0]], "W")
    with pytest.raises(ValueError, match="W must have 2 rows"):
        V.check_matrix([[1.0]], "W", rows=2)
    with pytest.raises(TypeError, match=r"W must be a list of rows"):
        V.check_matrix([1.0, 2.0], "W")
