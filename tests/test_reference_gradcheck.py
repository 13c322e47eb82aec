"""reference.gradcheck: accepts right gradients, rejects wrong ones, leaves the model untouched."""
import math
import random

import pytest

from reference.activations import ACTIVATIONS
from reference.gradcheck import gradcheck, numerical_gradient
from reference.neuron import Neuron


def cubic(w):
    return math.fsum(v ** 3 for row in w for v in row)


def test_numerical_gradient_of_a_known_function():
    rng = random.Random(0)
    w = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(2)]
    num = numerical_gradient(cubic, w)
    for row, nrow in zip(w, num):
        assert nrow == pytest.approx([3 * v * v for v in row], rel=1e-8, abs=1e-8)


def test_large_weights_use_a_relative_step():
    w = [1e8]
    assert numerical_gradient(lambda p: p[0] ** 2, w) == pytest.approx([2e8], rel=1e-8)


def test_right_gradient_passes_and_wrong_ones_fail():
    rng = random.Random(1)
    w = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(2)]
    right = [[3 * v * v for v in row] for row in w]
    assert gradcheck(cubic, w, right) < 1e-7
    doubled = [[2 * g for g in row] for row in right]
    assert gradcheck(cubic, w, doubled) == pytest.approx(0.5, rel=1e-6)
    swapped = [row[:] for row in right]
    swapped[0][0], swapped[1][2] = swapped[1][2], swapped[0][0]
    assert gradcheck(cubic, w, swapped) > 1e-2
    nan = [row[:] for row in right]
    nan[1][1] = math.nan
    assert math.isnan(gradcheck(cubic, w, nan))


def test_parameters_are_restored_bit_for_bit():
    w = [[0.1, 0.7], [1e-300, -3.3]]
    original = [row[:] for row in w]
    gradcheck(cubic, w, [[3 * v * v for v in row] for row in w])
    assert w == original


def test_floor_makes_zero_gradients_comparable():
    # f does not depend on w[1]: its difference quotient is pure rounding noise around 0
    f = lambda w: math.fsum([1e6 * math.sin(w[0]), 0.0 * w[1]])  # noqa: E731
    w = [0.3, 5.0]
    assert gradcheck(f, w, [1e6 * math.cos(0.3), 0.0]) < 1e-6


def test_checks_a_neuron_model_in_place():
    """A sigmoid neuron with squared error E = ½ (y - d)²: ∂E/∂w_i = (y - d) σ'(ξ) x_i, x_0 = 1."""
    rng = random.Random(2)
    neuron = Neuron([rng.gauss(0, 1) for _ in range(4)], "sigmoid", lam=1.5)
    x, d = [rng.gauss(0, 1) for _ in range(3)], 0.25

    def error(_):  # reads neuron.weights, which gradcheck perturbs in place
        return 0.5 * (neuron.output(x) - d) ** 2

    xi = neuron.potential(x)
    delta = (neuron.output(x) - d) * ACTIVATIONS["sigmoid"].df(xi, lam=1.5)
    assert gradcheck(error, neuron.weights, [delta * xi_ for xi_ in [1.0, *x]]) < 1e-7


def test_bad_arguments():
    with pytest.raises(ValueError, match="shape of params"):
        gradcheck(cubic, [[1.0, 2.0]], [[1.0], [2.0]])
    with pytest.raises(TypeError, match=r"grads\[0\] must be a float or a list"):
        gradcheck(cubic, [[1.0]], ["1"])
    with pytest.raises(TypeError, match="params must be a"):
        numerical_gradient(cubic, 1.0)
    with pytest.raises(ValueError, match="eps must be a positive"):
        numerical_gradient(cubic, [[1.0]], eps=0.0)
