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
