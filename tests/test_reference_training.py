"""reference.training and the reference.train command line: epochs, mini-batches, curves, prediction."""
import math
import random

import pytest

from reference import train
from reference.datasets import xor
from reference.losses import cross_entropy, cross_entropy_grad
from reference.mlp import MLP, rows
from reference.optimizers import SGD, Adam
from reference.regularization import EarlyStopping, l2_penalty
from reference.training import History, evaluate, fit, predict, predict_proba


def _blobs(n=48, seed=0, classes=3):
    rng = random.Random(seed)
    centres = [[2.0 * math.cos(2 * math.pi * c / classes), 2.0 * math.sin(2 * math.pi * c / classes)] for c in range(classes)]
    y = [i % classes for i in range(n)]
    X = [[c + rng.gauss(0.0, 0.7) for c in centres[label]] for label in y]
    return X, y


def _manual_epochs(net, X, y, opt, batches):
    params = net.parameters()
    for idx in batches:
        trace = net.forward_batch([X[i] for i in idx])
        grads = net.backward(trace, cross_entropy_grad(trace.output, [y[i] for i in idx]))
        opt.step(params, rows(grads))


@pytest.mark.parametrize("loss, acts", [("binary_cross_entropy", ["tanh", "sigmoid"]), ("mse", ["sigmoid", "sigmoid"])])
def test_xor_is_learned(loss, acts):
    X, y = xor()
    net = MLP([2, 4, 1], acts, seed=1)
    history = fit(net, X, y, SGD(lr=1.0 if loss != "mse" else 2.0, momentum=0.9), loss=loss, epochs=300,
                  batch_size=None)
    assert predict(net, X) == y
    assert history[-1].train_loss < 0.05 * history[0].train_loss


def test_full_batch_gradient_descent_is_one_step_per_epoch():
    X, y = _blobs()
    net, ref = MLP([2, 5, 3], ["tanh", "identity"], seed=2), MLP([2, 5, 3], ["tanh", "identity"], seed=2)
    before = evaluate(net, X, y)[0]
    history = fit(net, X, y, SGD(lr=0.5), epochs=3, batch_size=None, shuffle=False)
    _manual_epochs(ref, X, y, SGD(lr=0.5), [list(range(len(X)))] * 3)
    assert net.layers == ref.layers
    assert history[0].train_loss == pytest.approx(before, rel=1e-15)  # the loss before the first step


def test_mini_batches_are_reshuffled_every_epoch():
    X, y = _blobs(n=30)
    net, ref = MLP([2, 4, 3], ["relu", "identity"], seed=3), MLP([2, 4, 3], ["relu", "identity"], seed=3)
    fit(net, X, y, SGD(lr=0.1, momentum=0.5), epochs=3, batch_size=7, seed=11)
    rng, order, batches = random.Random(11), list(range(30)), []
    for _ in range(3):  # the documented semantics: a fresh permutation per epoch, consecutive slices
        rng.shuffle(order)
        batches += [order[i:i + 7] for i in range(0, 30, 7)]
    _manual_epochs(ref, X, y, SGD(lr=0.1, momentum=0.5), batches)
    assert net.layers == ref.layers
    assert len({tuple(b) for b in batches}) == len(batches)  # the epochs really differ


def test_without_shuffling_batches_are_consecutive_slices():
    X, y = _blobs(n=20)
    net, ref = MLP([2, 3, 3], ["tanh", "identity"], seed=4), MLP([2, 3, 3], ["tanh", "identity"], seed=4)
    fit(net, X, y, Adam(lr=0.05), epochs=2, batch_size=8, shuffle=False)
    _manual_epochs(ref, X, y, Adam(lr=0.05), [list(range(0, 8)), list(range(8, 16)), list(range(16, 20))] * 2)
    assert net.layers == ref.layers


def test_l2_adds_lambda_w_over_batch_size_to_the_weight_gradients():
    X, y = _blobs(n=12)
    lam, lr = 0.3, 0.2
    net = MLP([2, 3, 3], ["tanh", "identity"], seed=5)
    w0 = net.copy_weights()
    trace = net.forward_batch(X)
    grads = net.backward(trace, cross_entropy_grad(trace.output, y))
    history = fit(net, X, y, SGD(lr=lr), epochs=1, batch_size=None, l2=lam)
    for layer0, glayer, layer in zip(w0, grads, net.layers):
        for row0, grow, row in zip(layer0, glayer, layer):
            assert row[0] == pytest.approx(row0[0] - lr * grow[0], rel=1e-14)  # the bias is not decayed
            for w, g, new in zip(row0[1:], grow[1:], row[1:]):
                assert new == pytest.approx(w - lr * (g + lam * w / len(X)), rel=1e-14, abs=1e-16)
    expected = cross_entropy(trace.output, y) + l2_penalty(w0, lam) / len(X)
    assert history[0].train_loss == pytest.approx(expected, rel=1e-14)


def test_history_records_learning_curves():
    X, y = _blobs(n=60)
    net = MLP([2, 8, 3], ["tanh", "identity"], seed=6)
    seen = []
    history = fit(net, X[:45], y[:45], Adam(lr=0.05), epochs=6, batch_size=9,
                  validation_data=(X[45:], y[45:]), callback=seen.append)
    assert isinstance(history, History) and seen == list(history) and len(history) == 6
    assert [r.epoch for r in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1].train_loss < history[0].train_loss
    assert history[-1].val_loss == pytest.approx(evaluate(net, X[45:], y[45:])[0], rel=1e-15)
    assert all(0.0 <= r.train_accuracy <= 1.0 and 0.0 <= r.val_accuracy <= 1.0 for r in history)
    assert history.column("learning_rate") == [0.05] * 6
    table = history.table().splitlines()
    assert len(table) == 7 and "val loss" in table[0]
    with pytest.raises(ValueError, match="unknown column"):
        history.column("accuracy")


def test_validation_fraction_is_held_out_stratified():
    X, y = _blobs(n=60)
    net = MLP([2, 4, 3], ["tanh", "identity"], seed=7)
    seen = []
    history = fit(net, X, y, Adam(lr=0.05), epochs=1, validation_fraction=0.25, callback=seen.append)
    # 15 of 60 held out (5 per class): the accuracy is a multiple of 1/15.
    assert round(history[0].val_accuracy * 15, 9) == int(round(history[0].val_accuracy * 15))


def test_training_is_reproducible_from_its_seed():
    X, y = _blobs()
    runs = []
    for _ in range(2):
        net = MLP([2, 6, 3], ["relu", "identity"], seed=8)
        h = fit(net, X, y, Adam(lr=0.02), epochs=3, batch_size=5, dropout=0.3, seed=4)
        runs.append((net.layers, [r.train_loss for r in h]))
    assert runs[0] == runs[1]
    net = MLP([2, 6, 3], ["relu", "identity"], seed=8)
    fit(net, X, y, Adam(lr=0.02), epochs=3, batch_size=5, seed=4)
    assert net.layers != runs[0][0]  # dropout made a difference


def test_label_smoothing_is_passed_to_the_loss():
    X, y = _blobs(n=9)
    net = MLP([2, 3, 3], ["tanh", "identity"], seed=9)
    out = net.forward_batch(X).output
    history = fit(net, X, y, SGD(lr=0.1), epochs=1, batch_size=None, label_smoothing=0.2)
    assert history[0].train_loss == pytest.approx(cross_entropy(out, y, label_smoothing=0.2), rel=1e-15)
    with pytest.raises(ValueError, match="cross_entropy loss only"):
        fit(net, X, [[0.0, 0.0, 1.0]] * 9, SGD(lr=0.1), loss="mse", label_smoothing=0.1)


def test_regression_targets_have_no_accuracy():
    rng = random.Random(1)
    X = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(20)]
    Y = [[x[0] + x[1], x[0] - x[1]] for x in X]
    net = MLP([2, 2], "identity", seed=0)
    history = fit(net, X, Y, SGD(lr=0.3), loss="mse", epochs=200, batch_size=None)
    assert history[-1].train_accuracy is None and history[-1].train_loss < 1e-6
    weights, biases = net.linear_layers()
    assert weights[0] == [pytest.approx([1.0, 1.0], abs=1e-3), pytest.approx([1.0, -1.0], abs=1e-3)]


def test_predict_and_predict_proba():
    X, y = _blobs()
    net = MLP([2, 6, 3], ["tanh", "identity"], seed=10)
    fit(net, X, y, Adam(lr=0.05), epochs=20, batch_size=8)
    proba = predict_proba(net, X)
    assert all(math.fsum(p) == pytest.approx(1.0, abs=1e-15) for p in proba)
    assert predict(net, X) == [p.index(max(p)) for p in proba]
    assert sum(p == t for p, t in zip(predict(net, X), y)) / len(y) > 0.9
    assert predict(net, []) == []
    binary = MLP([2, 3, 1], ["tanh", "sigmoid"], seed=0)
    p = predict_proba(binary, X[:3], loss="binary_cross_entropy")
    assert all(a + b == pytest.approx(1.0) for a, b in p)
    assert predict(binary, X[:3]) == [int(b >= 0.5) for _, b in p]
    with pytest.raises(ValueError, match="probabilistic loss"):
        predict_proba(net, X, loss="mse")


def test_divergence_is_reported():
    X = [[1e3, -1e3], [2e3, 1e3]]  # far too large a step for inputs of this size: |w| grows ~1e6-fold per step
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        fit(MLP([2, 1], "identity"), X, [[1.0], [2.0]], SGD(lr=10.0), loss="mse", epochs=500, batch_size=None)


@pytest.mark.parametrize("X, y, kwargs, error, message", [
    ([[0.0, 1.0]] * 3, [0, 1, 3], {}, ValueError, r"y\[2\] = 3 is out of range"),
    ([[0.0, float("nan")]] * 3, [0, 1, 2], {}, ValueError, "finite"),
    ([[0.0, 1.0]] * 3, [0, 1], {}, ValueError, "same length"),
    ([[0.0, 1.0, 2.0]] * 2, [0, 1], {}, ValueError, "must have 2 entries"),
    ([], [], {}, ValueError, "at least one example"),
    ([[0.0, 1.0]] * 2, [0, 1], {"epochs": 0}, ValueError, "epochs"),
    ([[0.0, 1.0]] * 2, [0, 1], {"batch_size": 0}, ValueError, "batch_size"),
    ([[0.0, 1.0]] * 2, [0, 1], {"loss": "hinge"}, ValueError, "unknown loss"),
    ([[0.0, 1.0]] * 2, [0, 1], {"dropout": 1.0}, ValueError, "dropout"),
    ([[0.0, 1.0]] * 2, [0, 1], {"l2": -1.0}, ValueError, "l2"),
    ([[0.0, 1.0]] * 2, [0, 1], {"early_stopping": EarlyStopping()}, ValueError, "needs validation_data"),
    ([[0.0, 1.0]] * 4, [0, 1] * 2, {"validation_fraction": 0.5, "validation_data": ([[0.0, 1.0]], [0])},
     ValueError, "not both"),
    ([[0.0, 1.0]] * 2, [0.5, 1], {}, TypeError, "int class label"),
    ([[0.0, 1.0]] * 2, [[0.0, 1.0]] * 2, {"loss": "mse"}, ValueError, "must have 3 entries"),
    ([[0.0, 1.0]] * 2, [[0.0, 2.0, 0.0]] * 2, {"loss": "binary_cross_entropy"}, ValueError, r"\[0, 1\]"),
])
def test_bad_input_is_rejected_before_training(X, y, kwargs, error, message):
    net = MLP([2, 3, 3], ["tanh", "identity"], seed=0)
    before = net.copy_weights()
    with pytest.raises(error, match=message):
        fit(net, X, y, SGD(lr=0.1), **kwargs)
    assert net.layers == before


def test_bad_optimizer_and_model_types():
    with pytest.raises(TypeError, match="optimizer"):
        fit(MLP([2, 2]), [[0.0, 0.0]], [1], "sgd")
    with pytest.raises(TypeError, match="model"):
        evaluate("net", [[0.0]], [0])


@pytest.mark.parametrize("argv,option", [
    (["digits", "--epochs", "0"], "--epochs"),
    (["digits", "--lr", "nan"], "--lr"),
    (["digits", "--batch-size", "-3"], "--batch-size"),
    (["xor", "--hidden", "two"], "--hidden"),
])
def test_cli_bad_option_is_a_usage_error_naming_it(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}: expected" in err and "Traceback" not in err


def test_cli_xor(capsys):
    assert train.main(["xor"]) == 0
    out = capsys.readouterr().out
    assert "all four XOR points correct" in out and "train loss" in out


@pytest.mark.slow
def test_cli_digits_reaches_97_percent_on_the_held_out_split(capsys):
    # The acceptance run: python -m reference.train digits (default recipe, seed 0).
    assert train.main(["digits"]) == 0
    out = capsys.readouterr().out
    assert out.count("epoch ") >= 12 and "learning curves" in out
    accuracy = float(out.split("held-out test accuracy ")[1].split()[0])
    assert accuracy >= 0.97
