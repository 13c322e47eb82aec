"""reference.neuron: the formal neuron's potentials and the exam neuron."""
import itertools
import math
from fractions import Fraction

import pytest

from reference.neuron import Neuron, distance_potential, exam_neuron, inner_potential, threshold_potential


def test_exam_neuron_agrees_with_exact_decimal_arithmetic():
    exam = exam_neuron()
    assert exam.weights == [-3.0, 0.3, 0.8, 0.5] and exam.n_inputs == 3
    w = [Fraction("0.3"), Fraction("0.8"), Fraction("0.5")]
    on_the_line = 0
    for x in itertools.product(range(11), repeat=3):
        s = sum(wi * xi for wi, xi in zip(w, x))
        on_the_line += s == 3
        # off the line |ξ| >= 0.1, far above the rounding bound of ξ; on it (exact ξ = 0) the
        # binary weights could tip either way: these six points land on 0 or just above
        assert exam.output(list(x)) == (1.0 if s >= 3 else 0.0), x
    assert on_the_line == 6


def test_threshold_form_is_bias_form_with_h_equal_minus_w0():
    for h, w, x in [(3.0, [0.3, 0.8, 0.5], [2.0, 1.0, 3.0]), (-1.5, [1.0, -2.0], [0.25, 4.0])]:
        assert threshold_potential(w, h, x) == inner_potential([-h, *w], x)


def test_inner_potential_is_correctly_rounded():
    assert inner_potential([1.0, 1e16, -1e16], [1.0, 1.0]) == 1.0


def test_distance_potential():
    assert distance_potential([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 0.0
    assert distance_potential([0.0, 0.0], [5.0, 12.0]) == 13.0
    rbf = Neuron([1.0, 1.0], "identity", potential="distance")
    assert rbf.n_inputs == 2 and rbf.output([4.0, 5.0]) == 5.0


def test_neuron_with_parametrised_activation():
    n = Neuron([0.5, 1.0], "sigmoid", lam=2.0)
    assert n.output([0.25]) == pytest.approx(1 / (1 + math.exp(-2.0 * 0.75)), rel=1e-15)
    assert "sigmoid" in repr(n)


def test_bad_input():
    with pytest.raises(ValueError, match="x must have length 2"):
        inner_potential([0.0, 1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match=r"x\[0\] must be finite"):
        exam_neuron().output([math.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="unknown activation"):
        Neuron([0.0, 1.0], "heaviside")
    with pytest.raises(TypeError, match="unexpected parameter 'lam'"):
        Neuron([0.0, 1.0], "relu", lam=1.0)
    with pytest.raises(ValueError, match="potential must be one of"):
        Neuron([0.0, 1.0], potential="dot")
    with pytest.raises(ValueError, match="at least the bias"):
        Neuron([])
    with pytest.raises(ValueError, match="h must be finite"):
        threshold_potential([1.0], math.inf, [1.0])
