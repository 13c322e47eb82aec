"""reference.initialization: the scale of each scheme, and reproducibility from a seed."""
import math
import random

import pytest

from reference.initialization import (
    INITIALIZERS, glorot_normal, glorot_uniform, he_normal, he_uniform, init_layer, normal_matrix, rng_from, uniform,
    uniform_matrix,
)

FAN_OUT, FAN_IN = 120, 200  # 24000 draws: the sample variance is within ~2% of the true one


def _moments(m):
    values = [v for row in m for v in row]
    mean = math.fsum(values) / len(values)
    return mean, math.fsum((v - mean) ** 2 for v in values) / len(values), max(abs(v) for v in values)


@pytest.mark.parametrize("init, variance, bound", [
    (uniform, 1 / (3 * FAN_IN), 1 / math.sqrt(FAN_IN)),
    (glorot_uniform, 2 / (FAN_IN + FAN_OUT), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (glorot_normal, 2 / (FAN_IN + FAN_OUT), None),
    (he_uniform, 2 / FAN_IN, math.sqrt(6 / FAN_IN)),
    (he_normal, 2 / FAN_IN, None),
])
def test_scale_of_each_scheme(init, variance, bound):
    w = init(FAN_OUT, FAN_IN, seed=1)
    assert (len(w), len(w[0])) == (FAN_OUT, FAN_IN)
    mean, var, biggest = _moments(w)
    assert abs(mean) < 4 * math.sqrt(variance / (FAN_OUT * FAN_IN))
    assert var == pytest.approx(variance, rel=0.05)
    if bound is not None:  # uniform: inside the bound and reaching close to it
        assert bound * 0.99 < biggest <= bound


def test_glorot_gain_scales_the_weights():
    assert glorot_uniform(3, 4, seed=2, gain=2.0) == [[2.0 * v for v in row] for row in glorot_uniform(3, 4, seed=2)]
    assert glorot_normal(3, 4, seed=2, gain=0.5) == [[0.5 * v for v in row] for row in glorot_normal(3, 4, seed=2)]
    with pytest.raises(ValueError, match="gain"):
        glorot_uniform(3, 4, gain=0.0)


def test_same_seed_same_weights_different_seed_different_weights():
    for name in INITIALIZERS:
        assert init_layer(5, 6, name, seed=3) == init_layer(5, 6, name, seed=3)
        assert init_layer(5, 6, name, seed=3) != init_layer(5, 6, name, seed=4)


def test_a_shared_generator_continues_its_stream():
    rng = random.Random(7)
    a, b = he_uniform(2, 3, seed=rng), he_uniform(2, 3, seed=rng)
    assert a == he_uniform(2, 3, seed=7) and b != a
    assert rng_from(rng) is rng
    assert isinstance(rng_from(None), random.Random)


def test_biases_zero_except_for_the_uniform_scheme():
    for name in ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal"):
        assert init_layer(4, 9, name, seed=0)[1] == [0.0] * 4
    weight, bias = init_layer(400, 9, "uniform", seed=0)
    assert all(abs(b) <= 1 / 3 for b in bias) and len(set(bias)) == 400
    assert weight == uniform(400, 9, seed=0)  # weights first, then the biases, from one stream


def test_aliases():
    assert init_layer(2, 2, "xavier_uniform", seed=1) == init_layer(2, 2, "glorot_uniform", seed=1)
    assert init_layer(2, 2, "kaiming_uniform", seed=1) == init_layer(2, 2, "he_uniform", seed=1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: init_layer(2, 2, "orthogonal"), ValueError, "unknown initialization scheme"),
    (lambda: init_layer(2, 2, 3), TypeError, "scheme must be a name"),
    (lambda: he_normal(0, 2), ValueError, "fan_out must be >= 1"),
    (lambda: he_normal(2, 2.0), TypeError, "fan_in must be an int"),
    (lambda: uniform_matrix(2, 2, -1.0), ValueError, "half-width"),
    (lambda: normal_matrix(2, 2, float("inf")), ValueError, "std"),
    (lambda: uniform(2, 2, seed=True), TypeError, "seed"),
    (lambda: uniform(2, 2, seed="1"), TypeError, "seed"),
])
def test_bad_arguments_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()
