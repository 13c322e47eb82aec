"""reference.regularization: L2 penalty, inverted dropout, early stopping."""
import math
import random

import pytest

from reference.gradcheck import gradcheck
from reference.mlp import MLP
from reference.optimizers import SGD
from reference.regularization import EarlyStopping, dropout, dropout_mask, l2_penalty, l2_penalty_grad
from reference.training import evaluate, fit


def test_l2_penalty_value_excludes_biases():
    layers = [[[10.0, 1.0, -2.0], [-7.0, 0.5, 0.0]], [[3.0, 4.0, 1.0]]]
    assert l2_penalty(layers, 0.2) == pytest.approx(0.1 * (1 + 4 + 0.25 + 16 + 1))
    assert l2_penalty(layers, 0.0) == 0.0


def test_l2_penalty_gradient_matches_finite_differences():
    net = MLP([4, 3, 2], seed=1)
    grad = l2_penalty_grad(net.layers, 0.7)
    assert all(row[0] == 0.0 for layer in grad for row in layer)
    assert gradcheck(lambda layers: l2_penalty(layers, 0.7), net.layers, grad) < 1e-7


@pytest.mark.parametrize("lam", [-0.1, float("nan"), float("inf"), "0.1"])
def test_l2_rejects_bad_strengths(lam):
    with pytest.raises(ValueError, match="lam"):
        l2_penalty([[[0.0, 1.0]]], lam)


def test_dropout_mask_statistics_and_scaling():
    mask = dropout_mask(40000, 0.3, seed=5)
    dropped = mask.count(0.0) / len(mask)
    assert abs(dropped - 0.3) < 0.01  # binomial sd ≈ 0.0023
    assert set(mask) == {0.0, 1.0 / 0.7}
    assert math.fsum(mask) / len(mask) == pytest.approx(1.0, abs=0.02)  # inverted: E[m] = 1


def test_dropout_is_seeded_and_continues_a_shared_stream():
    assert dropout_mask(50, 0.5, seed=3) == dropout_mask(50, 0.5, seed=3)
    assert dropout_mask(50, 0.5, seed=3) != dropout_mask(50, 0.5, seed=4)
    rng = random.Random(3)
    first, second = dropout_mask(50, 0.5, seed=rng), dropout_mask(50, 0.5, seed=rng)
    assert first == dropout_mask(50, 0.5, seed=3) and second != first


def test_dropout_applies_the_mask():
    y = [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]
    out, mask = dropout(y, 0.5, seed=1)
    assert out == [v * m for v, m in zip(y, mask)]
    assert 0.0 in mask and 2.0 in mask
    assert dropout(y, 0.0) == (y, [1.0] * 6)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_dropout_rejects_bad_rates(p):
    with pytest.raises(ValueError, match="dropout rate"):
        dropout_mask(3, p)


def test_early_stopping_patience_and_min_delta():
    stop = EarlyStopping(patience=3, min_delta=0.05)
    decisions = [stop.update(v) for v in [1.0, 0.9, 0.88, 0.87, 0.86]]  # only 0.9 improves by > 0.05
    assert decisions == [False, False, False, False, True]
    assert (stop.best, stop.best_epoch) == (0.9, 2)
    stop.reset()
    assert stop.best == math.inf and not stop.update(5.0)


def test_early_stopping_snapshots_the_best_weights():
    stop = EarlyStopping(patience=2)
    w = [[[1.0, 2.0]]]
    stop.update(1.0, w)
    w[0][0][0] = 9.0  # a later change must not leak into the snapshot
    stop.update(2.0, w)
    assert stop.best_weights == [[[1.0, 2.0]]]


def test_early_stopping_in_training_restores_the_best_epoch():
    rng = random.Random(0)
    X = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(60)]
    y = [int(x[0] + 0.3 * rng.gauss(0, 1) > 0) for x in X]
    net = MLP([3, 30, 2], ["tanh", "identity"], seed=0)
    stop = EarlyStopping(patience=3)
    # A large learning rate overfits this small noisy set quickly, so validation loss turns up.
    history = fit(net, X[:40], y[:40], SGD(lr=0.5, momentum=0.9), epochs=200, batch_size=4,
                  validation_data=(X[40:], y[40:]), early_stopping=stop, seed=1)
    assert history.stopped_early and len(history) < 200
    val = history.column("val_loss")
    assert history.best_epoch == val.index(min(val)) + 1
    assert len(history) == history.best_epoch + 3  # patience epochs after the best one
    assert evaluate(net, X[40:], y[40:])[0] == min(val)  # the model holds the best epoch's weights


@pytest.mark.parametrize("kwargs, message", [
    ({"patience": 0}, "patience"), ({"patience": 1.5}, "patience"),
    ({"min_delta": -1.0}, "min_delta"), ({"monitor": "val_accuracy"}, "monitor"),
])
def test_early_stopping_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**kwargs)
    with pytest.raises(ValueError, match="loss must be a number"):
        EarlyStopping().update(float("nan"))
