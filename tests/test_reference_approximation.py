"""reference.approximation and reference.regions: the constructions compute what their formulas say."""
import math
import random

import pytest

from reference.approximation import (deep_narrow_network, hinge_network, relu_parity_network, sawtooth_network,
                                     sigmoid_staircase)
from reference.boolean import inputs, majority, parity_network
from reference.regions import disagreement, grid_cover, square, union_network


def test_hinge_network_is_the_broken_line_through_the_knots():
    rng = random.Random(0)
    knots = sorted(rng.uniform(-3, 3) for _ in range(9))
    values = [rng.uniform(-1, 1) for _ in knots]
    net = hinge_network(knots, values)
    assert net.sizes == [1, 8, 1] and net.activations == ["relu", "identity"]
    for t, v in zip(knots, values):
        assert net.forward([t])[0] == pytest.approx(v, abs=1e-12)
    mid = (knots[3] + knots[4]) / 2
    assert net.forward([mid])[0] == pytest.approx((values[3] + values[4]) / 2, abs=1e-12)


def test_deep_narrow_network_equals_the_wide_one():
    rng = random.Random(1)
    knots = [k / 10 for k in range(11)]
    values = [rng.uniform(-5, 5) for _ in knots]
    wide, deep = hinge_network(knots, values), deep_narrow_network(knots, values)
    assert deep.sizes == [1] + [3] * 10 + [1]
    for x in [i / 97 for i in range(98)]:
        assert deep.forward([x])[0] == pytest.approx(wide.forward([x])[0], abs=1e-12)


def test_sigmoid_staircase_steps_between_the_knots():
    net = sigmoid_staircase([0.0, 1.0, 2.0], [0.0, 2.0, -1.0], steepness=200.0)
    assert net.forward([0.5])[0] == pytest.approx(1.0)      # half of the first step
    assert net.forward([1.0])[0] == pytest.approx(2.0, abs=1e-12)
    assert net.forward([1.5])[0] == pytest.approx(0.5)      # 2 + half of -3


def test_sawtooth_has_two_to_the_depth_pieces_and_computes_parity():
    net = sawtooth_network(4)
    ys = [net.forward([i / 16])[0] for i in range(17)]
    assert ys == [float(i % 2) for i in range(17)]  # 16 pieces, 8 teeth: peaks at the odd 16ths
    assert net.forward([1 / 32])[0] == 0.5
    for n in (1, 2, 5, 9):
        net = relu_parity_network(n)
        assert [net.forward(list(a))[0] for a in inputs(n)] == [float(sum(a) % 2) for a in inputs(n)]


def test_counting_parity_and_majority_are_small():
    assert len(parity_network(10).layers[0]) == 10 and len(majority(9).layers) == 1
    assert all(parity_network(6)(list(a)) == sum(a) % 2 for a in inputs(6))
    assert [majority(4)(x) for x in ([1, 1, 0, 0], [1, 1, 1, 0])] == [0, 1]  # more than half


def test_union_network_shares_lines_and_unites_convex_pieces():
    net = union_network([square(0, 1, 0, 1), square(1, 2, 0, 1)])  # y >= 0 and y <= 1 appear in both
    assert [len(layer) for layer in net.layers] == [6, 2, 1]
    assert [net(p) for p in ([0.5, 0.5], [1.5, 0.5], [2.5, 0.5], [1.0, 1.0])] == [1, 1, 0, 1]


def test_grid_cover_contains_the_set_and_converges():
    def meets(x0, x1, y0, y1):
        return math.hypot(max(x0, min(0.0, x1)), max(y0, min(0.0, y1))) < 0.7

    def inside(x, y):
        return math.hypot(x, y) < 0.7

    errors = []
    for m in (2, 4, 8):
        net = grid_cover(meets, m)
        centres = [-1 + (2 * i + 1) / 64 for i in range(64)]
        assert all(net([x, y]) for x in centres for y in centres if inside(x, y))  # a cover
        errors.append(disagreement(net, inside))
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("call, message", [
    (lambda: hinge_network([0.0, 1.0], [1.0]), "same length"),
    (lambda: hinge_network([1.0, 0.0], [1.0, 2.0]), "strictly increasing"),
    (lambda: sigmoid_staircase([0.0, 1.0], [0.0, 1.0], steepness=0), "steepness"),
    (lambda: sawtooth_network(0), "depth"),
    (lambda: relu_parity_network(True), "n_inputs"),
    (lambda: parity_network(0), "n must be"),
    (lambda: grid_cover(lambda *c: False, 2), "no square"),
    (lambda: union_network([]), "polygons"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_types_are_named():
    with pytest.raises(TypeError, match="knots"):
        hinge_network("01", [0.0, 1.0])
    with pytest.raises(TypeError, match="scale"):
        sawtooth_network(2, scale="½")
