"""reference.mlp: the forward pass and back-propagation of a multilayer perceptron."""
import math
import random

import pytest

from reference.gradcheck import gradcheck, numerical_gradient
from reference.linear import linear_act, linear_act_backward
from reference.losses import cross_entropy, cross_entropy_grad, mse, mse_grad
from reference.mlp import MLP, rows


def _batch(rng, m, k):
    return [[rng.gauss(0.0, 1.0) for _ in range(k)] for _ in range(m)]


def test_parameter_counts():
    assert MLP([3, 3, 2, 1]).n_parameters == 23  # (3+1)·3 + (3+1)·2 + (2+1)·1
    assert MLP([2, 4, 3, 2]).n_parameters == 12 + 15 + 8
    net = MLP([5, 7, 3])
    assert net.n_parameters == sum(len(row) for row in net.parameters())


def test_layer_layout_bias_first():
    net = MLP([3, 2, 1], seed=4)
    assert [len(layer) for layer in net.layers] == [2, 1]
    assert [len(row) for layer in net.layers for row in layer] == [4, 4, 3]
    weights, biases = net.linear_layers()
    assert weights[0][1] == net.layers[0][1][1:] and biases[1] == [net.layers[1][0][0]]


@pytest.mark.parametrize("acts, params", [
    (["relu", "identity"], None),
    (["tanh", "sigmoid"], [{}, {"lam": 2.5}]),
    (["leaky_relu", "gelu"], [{"negative_slope": 0.2}, {}]),
    (["silu", "softplus"], None),
])
def test_forward_is_a_chain_of_linear_act_bit_for_bit(acts, params):
    rng = random.Random(1)
    net = MLP([4, 6, 3], acts, seed=2, activation_params=params)
    X = _batch(rng, 5, 4)
    weights, biases = net.linear_layers()
    y = X
    for w, b, act, p in zip(weights, biases, acts, params or [{}, {}]):
        y = linear_act(y, w, b, act, **p)
    assert net.forward_batch(X).output == y
    assert net.forward(X[0]) == y[0]


def _loss_of(net, X, target, loss):
    out = net.forward_batch(X).output
    return cross_entropy(out, target) if loss == "ce" else mse(out, target)


@pytest.mark.parametrize("acts", [
    ["tanh", "identity"], ["sigmoid", "sigmoid", "identity"], ["gelu", "softplus"],
    ["bipolar_sigmoid", "silu", "identity"], ["gelu_tanh", "tanh"],
])
@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_backprop_matches_finite_differences(acts, loss):
    rng = random.Random(len(acts) * 7 + (loss == "ce"))
    sizes = [3] + [rng.randint(2, 5) for _ in acts[:-1]] + [4]
    net = MLP(sizes, acts, seed=rng.randrange(1000))
    X = _batch(rng, 6, 3)
    target = [rng.randrange(4) for _ in X] if loss == "ce" else _batch(rng, 6, 4)
    trace = net.forward_batch(X)
    grad_out = cross_entropy_grad(trace.output, target) if loss == "ce" else mse_grad(trace.output, target)
    grads = net.backward(trace, grad_out)
    # A wrong factor, sign or index gives O(1); central differences leave ~1e-6 on small entries.
    assert gradcheck(lambda layers: _loss_of(net, X, target, loss), net.layers, grads) < 1e-5


def test_backprop_equals_the_chain_of_linear_act_backward():
    rng = random.Random(3)
    acts = ["tanh", "leaky_relu", "identity"]
    net = MLP([4, 5, 3, 2], acts, seed=9)
    X = _batch(rng, 7, 4)
    grad_out = _batch(rng, 7, 2)
    grads, dx = net.backward(net.forward_batch(X), grad_out, input_grad=True)
    weights, biases = net.linear_layers()
    inputs = [X]
    for w, b, act in zip(weights[:-1], biases[:-1], acts):
        inputs.append(linear_act(inputs[-1], w, b, act))
    g = grad_out
    for l in range(2, -1, -1):
        g, dw, db = linear_act_backward(inputs[l], weights[l], biases[l], acts[l], g)
        assert [row[1:] for row in grads[l]] == dw
        assert [row[0] for row in grads[l]] == db
    assert dx == g


def test_input_gradient_matches_finite_differences():
    rng = random.Random(8)
    net = MLP([3, 4, 2], ["sigmoid", "identity"], seed=1)
    X = _batch(rng, 2, 3)
    target = [1, 0]
    trace = net.forward_batch(X)
    _, dx = net.backward(trace, cross_entropy_grad(trace.output, target), input_grad=True)
    numeric = numerical_gradient(lambda X: cross_entropy(net.forward_batch(X).output, target), X)
    for a_row, n_row in zip(dx, numeric):
        assert a_row == pytest.approx(n_row, rel=1e-6, abs=1e-9)


def test_backprop_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = random.Random(11)
    net = MLP([6, 8, 5, 3], ["relu", "tanh", "identity"], init="he_uniform", seed=5)
    X = _batch(rng, 9, 6)
    target = [rng.randrange(3) for _ in X]
    trace = net.forward_batch(X)
    grads = net.backward(trace, cross_entropy_grad(trace.output, target))
    weights, biases = net.linear_layers()
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for wb in zip(weights, biases) for p in wb]
    h = torch.tensor(X, dtype=torch.float64)
    for i, act in enumerate([torch.relu, torch.tanh, lambda z: z]):
        h = act(h @ params[2 * i].T + params[2 * i + 1])
    torch.nn.functional.cross_entropy(h, torch.tensor(target)).backward()
    for l, layer in enumerate(grads):
        dw = [v for row in layer for v in row[1:]]
        assert dw == pytest.approx(params[2 * l].grad.flatten().tolist(), rel=1e-12, abs=1e-15)
        assert [row[0] for row in layer] == pytest.approx(params[2 * l + 1].grad.tolist(), rel=1e-12, abs=1e-15)
    assert [v for row in trace.output for v in row] == pytest.approx(h.detach().flatten().tolist(), rel=1e-13)


def test_single_example_backprop_by_hand():
    # y = σ(ξ), ξ = w0 + w1 x1 + w2 x2, E = ½ (y - d)²: ∂E/∂w_i = (y - d) σ'(ξ) x_i (x_0 = 1)
    net = MLP.from_weights([[[0.5, -0.25]]], [[0.1]], "sigmoid")
    x, d = [2.0, 4.0], 1.0
    xi = 0.1 + 0.5 * 2.0 - 0.25 * 4.0
    y = 1.0 / (1.0 + math.exp(-xi))
    assert net.forward(x) == pytest.approx([y], abs=1e-16)
    delta = (y - d) * y * (1.0 - y)
    grads = net.backward(net.forward_batch([x]), [[y - d]])
    assert grads == [[pytest.approx([delta, delta * 2.0, delta * 4.0], rel=1e-14)]]


def test_dropout_masks_hidden_outputs_and_their_gradients():
    rng = random.Random(2)
    net = MLP([4, 50, 3], ["tanh", "identity"], seed=0)
    X = _batch(rng, 3, 4)
    plain = net.forward_batch(X)
    dropped = net.forward_batch(X, dropout=0.5, seed=7)
    mask = dropped.masks[0]
    assert dropped.masks[1] is None  # never on the output layer
    assert set(v for row in mask for v in row) == {0.0, 2.0}
    hidden_plain = [row[1:] for row in net.forward_batch(X).inputs[1]]
    hidden_dropped = [row[1:] for row in dropped.inputs[1]]
    for hp, hd, m in zip(hidden_plain, hidden_dropped, mask):
        assert hd == [v * mi for v, mi in zip(hp, m)]
    assert dropped.output != plain.output
    # With the masks fixed (same seed), back-propagation is the exact gradient of that network.
    target = [0, 2, 1]
    grads = net.backward(dropped, cross_entropy_grad(dropped.output, target))
    f = lambda layers: cross_entropy(net.forward_batch(X, dropout=0.5, seed=7).output, target)  # noqa: E731
    assert gradcheck(f, net.layers, grads) < 1e-6


def test_weights_round_trip_and_snapshots():
    net = MLP([3, 4, 2], ["relu", "identity"], seed=3)
    weights, biases = net.linear_layers()
    clone = MLP.from_weights(weights, biases, ["relu", "identity"])
    assert clone.layers == net.layers and clone.sizes == [3, 4, 2]
    snap = net.copy_weights()
    params = net.parameters()
    params[0][0] += 1.0  # parameters() are the live rows
    assert net.layers[0][0][0] == snap[0][0][0] + 1.0
    net.load_weights(snap)
    assert net.layers == snap and net.parameters()[0] is params[0]  # restored in place
    assert rows(snap) == [row for layer in snap for row in layer]


def test_seeds_make_weights_reproducible():
    assert MLP([4, 5, 2], seed=1).layers == MLP([4, 5, 2], seed=1).layers
    assert MLP([4, 5, 2], seed=1).layers != MLP([4, 5, 2], seed=2).layers
    rng = random.Random(0)
    first, second = MLP([2, 2], seed=rng), MLP([2, 2], seed=rng)  # a shared stream keeps going
    assert first.layers != second.layers


@pytest.mark.parametrize("args, kwargs, error, message", [
    (([4],), {}, ValueError, "at least one layer"),
    (([],), {}, ValueError, "at least one layer"),
    (([4, 0, 2],), {}, ValueError, r"layer_sizes\[1\] must be >= 1"),
    (([4, 2.5, 2],), {}, TypeError, r"layer_sizes\[1\] must be an int"),
    ((4,), {}, TypeError, "layer_sizes must be a list"),
    (([4, 3, 2], "swish"), {}, ValueError, "unknown activation 'swish'"),
    (([4, 3, 2], ["relu"]), {}, ValueError, "one activation per layer"),
    (([4, 3, 2], "sigmoid"), {"activation_params": {"slope": 1.0}}, TypeError, "unexpected parameter"),
    (([4, 3, 2], "sigmoid"), {"activation_params": [{}]}, ValueError, "activation_params"),
    (([4, 3, 2],), {"init": "zeros"}, ValueError, "unknown initialization scheme"),
])
def test_bad_construction_is_rejected(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        MLP(*args, **kwargs)


def test_bad_inputs_are_rejected():
    net = MLP([3, 2, 1])
    with pytest.raises(ValueError, match="length 3"):
        net.forward([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        net.forward([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="at least one example"):
        net.forward_batch([])
    with pytest.raises(ValueError, match="dropout rate"):
        net.forward_batch([[1.0, 2.0, 3.0]], dropout=1.0)
    trace = net.forward_batch([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="grad_output must have the shape"):
        net.backward(trace, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="must hold 2 layers"):
        net.load_weights(net.copy_weights()[:1])
    with pytest.raises(ValueError, match="biases must hold one vector per layer"):
        MLP.from_weights([[[1.0]]], [])
