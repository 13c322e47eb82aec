"""reference.core, the first-read MLP, computes what reference.mlp computes."""
import random

import pytest

from reference.activations import get_activation
from reference.core import backward, forward
from reference.mlp import MLP


@pytest.mark.parametrize("acts", [["sigmoid", "sigmoid"], ["tanh", "relu", "identity"]])
def test_core_equals_mlp(acts):
    rng = random.Random(len(acts))
    sizes = [3, 4, 2] if len(acts) == 2 else [3, 5, 4, 2]
    net = MLP(sizes, acts, seed=3)
    sigmas = [(get_activation(a).f, get_activation(a).df) for a in acts]
    x = [rng.uniform(-1, 1) for _ in range(sizes[0])]
    d = [rng.uniform(-1, 1) for _ in range(sizes[-1])]
    ys, xis = forward(net.layers, sigmas, x)
    assert ys[-1] == pytest.approx(net.forward(x), abs=1e-14)
    grads = backward(net.layers, sigmas, ys, xis, [y - t for y, t in zip(ys[-1], d)])
    trace = net.forward_batch([x])
    want = net.backward(trace, [[y - t for y, t in zip(trace.output[0], d)]])
    for g_l, w_l in zip(grads, want):
        for g_row, w_row in zip(g_l, w_l):
            assert g_row == pytest.approx(w_row, abs=1e-13)


def test_core_training_loop_equals_fit_with_sgd():
    """core.train (online GD on E = ½ (y - d)²) is fit(batch_size=1) with torch's MSE (y - d)² at η/2."""
    from reference.core import train
    from reference.optimizers import SGD
    from reference.training import fit

    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    d = [0.0, 1.0, 1.0, 0.0]
    net = MLP([2, 3, 1], ["tanh", "sigmoid"], seed=5)
    layers = net.copy_weights()
    sigmas = [(get_activation(a).f, get_activation(a).df) for a in net.activations]
    curve = train(layers, sigmas, [(x, [t]) for x, t in zip(X, d)], eta=0.8, epochs=300)
    fit(net, X, [[t] for t in d], SGD(lr=0.4), loss="mse", epochs=300, batch_size=1, shuffle=False)
    for mine, theirs in zip(layers, net.layers):
        for a, b in zip(mine, theirs):
            assert a == pytest.approx(b, abs=1e-10)
    assert curve[-1] < 0.1 * curve[0]  # and it learns
