"""The course's worked examples (reference/course/): each runs, and its numbers are the slides'."""
import importlib
import math
import subprocess
import sys

import pytest

from reference.course import EXAMPLES
from reference.datasets import load_patients


def example(name):
    """The example's module, run once per test session (importing it runs its cells)."""
    return importlib.import_module(f"reference.course.{name}")


def test_load_patients_is_the_decks_data():
    X, y, X_new = load_patients()
    assert len(X) == len(y) == 15 and len(X_new) == 4
    assert X[:3] == [[25.0, 120.0], [45.0, 140.0], [35.0, 130.0]] and X[-1] == [38.0, 132.0]
    assert y == [0, 1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0]
    assert X_new == [[40.0, 145.0], [30.0, 110.0], [50.0, 170.0], [60.0, 160.0]]
    assert all(isinstance(v, float) for row in X + X_new for v in row)
    X[0][0] = -1.0
    assert load_patients()[0][0][0] == 25.0  # fresh lists each call


def test_patients():
    m = example("patients")
    assert m.p_raw == pytest.approx([0.6] * 4, abs=1e-3)  # saturated: only the base rate 9/15 is learnt
    assert m.final_loss_raw == pytest.approx(-(0.6 * math.log(0.6) + 0.4 * math.log(0.4)), abs=1e-3)
    assert m.largest_sigma_prime_raw < 1e-9
    assert [int(p >= 0.5) for p in m.p_std] == [1, 0, 1, 1]
    assert m.p_std[1] < 0.01 and min(m.p_std[2:]) > 0.99 and m.train_accuracy_std == 1.0
    assert m.final_loss_std < 0.01


def test_exam_neuron():
    m = example("exam_neuron")
    assert m.results == {"Ann": 1.0, "Bob": 0.0, "Cid": 0.0, "Dee": 1.0} and m.same


def test_boolean():
    m = example("boolean")
    assert m.not_table == [1, 0] and m.and_table == [0, 0, 0, 1] and m.or_table == [0, 1, 1, 1]
    assert m.n_single_neuron == 14 and m.xor_network_table == [0, 1, 1, 0] and m.parity_ok


def test_perceptron():
    m = example("perceptron")
    assert m.runs["AND"].converged and m.runs["OR"].converged and not m.runs["XOR"].converged
    assert m.bound_and == pytest.approx(51.0) and m.mistakes_and <= m.bound_and
    assert m.big.converged and m.mistakes_big <= m.bound_big and m.accuracy_big == 1.0


def test_delta_rule():
    m = example("delta_rule")
    assert m.gradient_error < 1e-6 and m.and_learnt
    assert m.errors[-1] < m.errors[99] < m.errors[0]
    assert m.adaline_weights == [-1.5, 1.0, 1.0]


def test_activations():
    m = example("activations")
    assert all(m.slope_at_0[lam] == pytest.approx(lam / 4) for lam in m.lambdas)
    assert m.same_neuron and m.pv021_tanh == pytest.approx(math.tanh(0.5)) and m.intro_tanh == pytest.approx(math.tanh(1.0))


def test_approximation():
    m = example("approximation")
    assert m.WIDTHS == (2, 4, 8, 16, 32, 64)
    relu, sigmoid = m.errors["relu"], m.errors["sigmoid"]
    assert all(e <= m.max_f2 / (8 * n * n) for e, n in zip(relu, m.WIDTHS))  # h² max|f''| / 8
    assert relu[-1] < 5e-4 and sigmoid[-1] < 8e-3
    assert m.relu_ratios[-1] == pytest.approx(4, abs=0.05) and m.sigmoid_ratios[-1] == pytest.approx(2, abs=0.05)
    assert m.deep_gap < 1e-13
    assert m.wrong == {"unsigned": 0.5, "signed": 0.0}  # the hint's unsigned distance: all of A's complement
    assert m.jump_share[10] > 0.9 > 0.1 > m.jump_share[100] > m.jump_share[1000]


def test_depth():
    m = example("depth")
    assert m.all_correct and m.majority_ok
    assert m.hidden["truth table"] == [2 ** (n - 1) for n in m.SIZES]  # exponential: Håstad's AND/OR circuit
    assert m.hidden["counting"] == list(m.SIZES)
    assert m.hidden["deep ReLU"] == [2 * math.ceil(math.log2(n)) for n in m.SIZES]
    assert m.sawtooth_pieces == {k: 2 ** k for k in range(1, 7)}


def test_regions():
    m = example("regions")
    assert m.region_wrong == {"triangle": 0.0, "union": 0.0}
    assert [len(layer) for layer in m.union_net.layers] == [6, 2, 1]
    errors = [m.cover_error[k] for k in (2, 4, 8, 16)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.35
    assert all(m.cover_error[k] <= 2 * math.pi * m.RADIUS * math.sqrt(2) * 2 / k for k in m.cover_error)


def test_titles_do_not_repeat_their_names():
    """The runner prints "name: title"; a title that opens with the name again reads "softmax: softmax: ..."."""
    def opening(title):
        return title.lower().removeprefix("the ").replace("'", "")
    repeats = [name for name, title in EXAMPLES.items() if opening(title).startswith(name.replace("_", " ").rstrip("s"))]
    assert not repeats


def test_alpha_beta_gamma():
    m = example("alpha_beta_gamma")
    assert m.n_parameters == m.net.n_parameters == 23 and m.max_difference < 1e-15


def test_chain_rule_and_backprop():
    assert example("chain_rule").worst < 1e-8
    m = example("backprop_by_hand")
    assert m.mlp_difference < 1e-15 and m.relative_error < 1e-6 and m.relative_error_wrong > 1.0


def test_cli_lists_every_example():
    out = subprocess.run([sys.executable, "-m", "reference.course", "--list"], capture_output=True, text=True, check=True).stdout
    assert [line.split()[0] for line in out.splitlines()] == list(EXAMPLES)


def test_every_example_has_cells():
    import pathlib
    folder = pathlib.Path(importlib.import_module("reference.course").__file__).parent
    for name in EXAMPLES:
        assert (folder / f"{name}.py").read_text(encoding="utf-8").startswith("# %% [markdown]"), name


def test_cross_entropy_slide_values_in_bits():
    m = example("cross_entropy")
    assert round(m.cce_bits_before, 4) == 0.3677 and round(m.cce_bits_after, 4) == 0.0923
    assert round(m.printed_before, 4) == 0.4055 and round(m.printed_after, 3) == 3.414  # the misprints
    assert m.bce_confident_wrong == pytest.approx(math.log(10)) and abs(m.two_class_gap) < 1e-15


def test_softmax():
    m = example("softmax")
    assert m.shift_invariance < 1e-15 and m.naive_overflows and m.gradient_gap < 1e-15
    assert m.confident == pytest.approx(math.exp(-40), rel=1e-12)
    assert m.tempered[1.0] == m.p and m.tempered[0.1][0] > 0.9999  # T → 0: the arg max
    assert max(m.tempered[10.0]) - min(m.tempered[10.0]) < 0.07  # T → ∞: uniform


def test_optimizers_on_the_surface():
    m = example("optimizers")
    assert 2 / m.LAMBDA_MAX == pytest.approx(3.37, abs=0.005)  # GD's stability limit
    assert m.best_eta["GD"] < 2 / m.LAMBDA_MAX < m.ETAS[m.ETAS.index(m.best_eta["GD"]) + 1]  # best: just below it
    gd, sgd, momentum, adam, cautious = (m.final[k][0] for k in m.paths)
    assert gd < 0.01 < min(sgd, momentum, adam) < max(sgd, momentum, adam) < 0.3 < 1.0 < cautious
    assert all(len(p) == 61 for p in m.paths.values())


def test_learning_rate():
    m = example("learning_rate")
    assert abs(m.quadratic[0.25][1]) == 0.0 and abs(m.quadratic[0.55][-1]) > 10 > abs(m.quadratic[0.45][-1])
    assert m.sweep[0.01][-1] > m.sweep[0.1][-1] > m.sweep[1.0][-1]
    assert max(m.sweep[10.0]) > 10 and m.sweep[100.0][-1] > 10
    low, high = m.window[10.0]
    assert low < m.sweep[1.0][-1] and high > 2  # η = 10 ends on a trough but still swings
    assert m.lowest_last == 10.0 and m.best_eta == 1.0


def test_regularization():
    m = example("regularization")
    plain_train, plain_val = m.curves["plain"]
    assert plain_train[-1] < 0.2 and plain_val[-1] > 2 * min(plain_val)  # overfitting
    for key in ("l2", "dropout"):
        assert m.curves[key][1][-1] < 0.6 * plain_val[-1]
    assert m.early.stopped_early and m.early.best_epoch == m.best_plain_epoch
    assert m.early_val_loss == pytest.approx(min(plain_val))


def test_mnist_recipe():
    m = example("mnist_recipe")
    assert m.train_accuracy_small > 0.8 and m.test_accuracy_small > 0.85
    assert 0 <= m.late_gain_small < 0.02  # levelling off, as the deck's run stagnates


def test_frameworks():
    m = example("frameworks")
    assert m.sklearn_predictions == [1, 0, 1, 1] and m.clf.learning_rate == "constant"
    assert m.torch_keras_gap < 1e-3 and m.keras_test_accuracy > 0.9
    assert m.initial_biases == [0.0] * (64 + 64 + 10)  # Keras 1's Dense: init= draws W only, b starts at 0
