"""Boolean step networks: single neurons, XOR, and the constructive network for any truth table."""
import itertools
import random

import pytest

from reference.boolean import AND, NOT, OR, XOR, StepNetwork, inputs, network_from_truth_table, truth_table


def test_single_neuron_gates():
    assert [NOT([x]) for x in (0, 1)] == [1, 0]
    for n in range(0, 5):
        assert truth_table(AND(n), n) == [int(all(a)) for a in inputs(n)]
        assert truth_table(OR(n), n) == [int(any(a)) for a in inputs(n)]
        assert len(AND(n).layers) == 1 and len(OR(n).layers) == 1


def test_xor_uses_the_course_separating_lines():
    assert XOR.layers[0] == [[-1.0, 2.0, 2.0], [3.0, -2.0, -2.0]]
    hidden = StepNetwork([XOR.layers[0][:1]], 2), StepNetwork([XOR.layers[0][1:]], 2)
    assert truth_table(hidden[0], 2) == [0, 1, 1, 1]  # above -1 + 2x1 + 2x2 = 0: OR
    assert truth_table(hidden[1], 2) == [1, 1, 1, 0]  # below 3 - 2x1 - 2x2 = 0: NAND
    assert truth_table(XOR, 2) == [0, 1, 1, 0]


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_constructive_network_for_every_function_of_n_inputs(n):
    for table in itertools.product((0, 1), repeat=2 ** n):  # all 2^(2^n) functions
        net = network_from_truth_table(list(table))
        assert len(net.layers) == 2 and len(net.layers[0]) == sum(table)
        assert truth_table(net, n) == list(table)


def test_constructive_network_for_random_functions_of_four_inputs():
    rng = random.Random(4)
    for _ in range(200):
        table = [rng.randrange(2) for _ in range(16)]
        assert truth_table(network_from_truth_table(table), 4) == table


def test_hidden_neuron_fires_only_on_its_row():
    a = (1, 0, 1)
    net = network_from_truth_table([int(x == a) for x in inputs(3)])
    assert net.layers[0] == [[-2.0, 1.0, -1.0, 1.0]]


def test_truth_table_of_a_python_function_and_order():
    assert inputs(1) == [(0,), (1,)]
    assert truth_table(lambda x: x[0] and not x[1], 2) == [0, 0, 1, 0]


@pytest.mark.parametrize("table,match", [
    ([0, 1, 1], "2\\^n entries"), ([], "2\\^n entries"), ([0, 2], r"table\[1\] must be 0 or 1"), ([0, 0.5], r"table\[1\]"),
])
def test_bad_truth_tables(table, match):
    with pytest.raises(ValueError, match=match):
        network_from_truth_table(table)


def test_bad_networks_and_inputs():
    with pytest.raises(ValueError, match="last layer must have exactly one neuron"):
        StepNetwork([[[0.0, 1.0], [0.0, -1.0]]], 1)
    with pytest.raises(ValueError, match=r"layers\[1\]\[0\] must have 3 entries"):
        StepNetwork([[[0.0, 1.0], [0.0, -1.0]], [[0.0, 1.0]]], 1)
    with pytest.raises(ValueError, match="non-empty list"):
        StepNetwork([], 1)
    with pytest.raises(ValueError, match="x must have length 2"):
        XOR([1])
    with pytest.raises(TypeError, match=r"x\[0\] must be a real number"):
        XOR(["1", 0])
