"""reference.linear: y = σ(x W^T + b) and its backward, against exact arithmetic, torch and gradcheck."""
import math
import random
from fractions import Fraction

import pytest

from reference.activations import ACTIVATIONS
from reference.gradcheck import gradcheck
from reference.linear import linear, linear_act, linear_act_backward

U = 2.0 ** -53
SMOOTH = ["identity", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "softplus", "bipolar_sigmoid"]


def layer(rng, m, k, n, bias=True):
    x = [[rng.gauss(0, 1) for _ in range(k)] for _ in range(m)]
    w = [[rng.gauss(0, 1) / math.sqrt(k) for _ in range(k)] for _ in range(n)]
    b = [rng.gauss(0, 1) for _ in range(n)] if bias else None
    return x, w, b


def test_linear_is_correctly_rounded():
    rng = random.Random(0)
    x, w, b = layer(rng, 3, 257, 5)
    x[0] = [v * 1e8 if i % 2 else v for i, v in enumerate(x[0])]  # force cancellation
    y = linear(x, w, b)
    for m in range(3):
        for n in range(5):
            terms = [Fraction(b[n])] + [Fraction(a) * Fraction(c) for a, c in zip(x[m], w[n])]
            exact = sum(terms)
            assert abs(Fraction(y[m][n]) - exact) <= U * abs(exact) + U * sum(abs(t) for t in terms)


@pytest.mark.parametrize("activation", ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu"])
@pytest.mark.parametrize("bias", [True, False])
def test_forward_and_backward_match_torch(activation, bias):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    forms = {
        "identity": lambda t: t, "relu": F.relu, "leaky_relu": F.leaky_relu, "sigmoid": torch.sigmoid,
        "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"), "silu": F.silu,
    }
    rng = random.Random(hash((activation, bias)) % 1000)
    x, w, b = layer(rng, 4, 7, 3, bias)
    gy = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w))
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True) if bias else None
    ty = forms[activation](F.linear(tx, tw, tb))
    ty.backward(torch.tensor(gy, dtype=torch.float64))
    y = linear_act(x, w, b, activation)
    for row, trow in zip(y, ty.tolist()):
        assert row == pytest.approx(trow, rel=1e-13, abs=1e-15)
    dx, dw, db = linear_act_backward(x, w, b, activation, gy)
    for ours, theirs in ((dx, tx.grad), (dw, tw.grad)):
        for row, trow in zip(ours, theirs.tolist()):
            assert row == pytest.approx(trow, rel=1e-12, abs=1e-14)
    if bias:
        assert db == pytest.approx(tb.grad.tolist(), rel=1e-12, abs=1e-14)
    else:
        assert db is None


@pytest.mark.parametrize("activation,params", [(a, {}) for a in SMOOTH] + [("sigmoid", {"lam": 2.0}), ("leaky_relu", {"negative_slope": 0.3})])
def test_backward_passes_gradcheck(activation, params):
    rng = random.Random(len(activation))
    x, w, b = layer(rng, 3, 4, 2)
    gy = [[rng.gauss(0, 1) for _ in range(2)] for _ in range(3)]

    def loss(_):  # L = Σ grad_y ⊙ y, so ∂L/∂y = grad_y; reads x, w, b as gradcheck perturbs them
        y = linear_act(x, w, b, activation, **params)
        return math.fsum(g * v for gr, yr in zip(gy, y) for g, v in zip(gr, yr))

    dx, dw, db = linear_act_backward(x, w, b, activation, gy, **params)
    assert gradcheck(loss, [x, w, b], [dx, dw, db]) < 1e-6


def test_activation_parameters_are_passed_through():
    x, w = [[1.0, -3.0]], [[1.0, 1.0]]
    assert linear_act(x, w, activation="leaky_relu", negative_slope=0.5) == [[-1.0]]
    assert linear_act(x, w, activation="sigmoid", lam=0.0) == [[0.5]]
    _, dw, _ = linear_act_backward(x, w, None, "leaky_relu", [[1.0]], negative_slope=0.5)
    assert dw == [[0.5, -1.5]]


def test_every_activation_name_is_accepted():
    for name in ACTIVATIONS:
        y = linear_act([[0.5, -0.25]], [[1.0, 2.0]], [0.1], name)
        assert y == [[ACTIVATIONS[name].f(0.1)]]


def test_empty_batch():
    w = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert linear([], w) == []
    assert linear_act_backward([], w, [0.0] * 3, "relu", []) == ([], [[0.0, 0.0]] * 3, [0.0] * 3)


@pytest.mark.parametrize("args,match,exc", [
    (([[1.0, 2.0]], [[1.0, 2.0, 3.0]]), r"x\[0\] must have 3 entries, got 2", ValueError),
    (([[1.0, 2.0]], [[1.0, 2.0]], [0.0, 0.0]), "bias must have length 1", ValueError),
    (([[1.0, math.nan]], [[1.0, 2.0]]), r"x\[0\]\[1\] must be finite", ValueError),
    (([[1.0, 2.0]], [[1.0, math.inf]]), r"weight\[0\]\[1\] must be finite", ValueError),
    (([[1.0, 2.0]], []), "weight must be a non-empty", ValueError),
    (([[1.0, 2.0]], "w"), "weight must be a list of rows", TypeError),
])
def test_bad_input_is_rejected(args, match, exc):
    with pytest.raises(exc, match=match):
        linear(*args)


def test_bad_activation_and_grad_shape_are_rejected():
    x, w = [[1.0, 2.0]], [[1.0, 2.0]]
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        linear_act(x, w, activation="swish")
    with pytest.raises(TypeError, match="unexpected parameter 'alpha'"):
        linear_act(x, w, activation="relu", alpha=1.0)
    with pytest.raises(ValueError, match="grad_y must have 1 rows"):
        linear_act_backward(x, w, None, "relu", [[1.0], [1.0]])
    with pytest.raises(ValueError, match=r"grad_y\[0\] must have 1 entries, got 2"):
        linear_act_backward(x, w, None, "relu", [[1.0, 2.0]])
