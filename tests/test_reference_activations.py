"""reference.activations: every σ and σ' against finite differences, torch (float64) and exact values."""
import math
import random
from decimal import Decimal, getcontext

import pytest

from reference.activations import ACTIVATIONS, get_activation, log_softmax, logsumexp, softmax

DESIGN_NAMES = {
    "identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu",
    "step", "softplus", "saturated_linear", "bipolar_sigmoid",
}
KINKS = {"relu": [0.0], "leaky_relu": [0.0], "step": [0.0], "saturated_linear": [0.0, 1.0]}
PARAMS = {"leaky_relu": [{}, {"negative_slope": 0.2}], "sigmoid": [{}, {"lam": 2.5}, {"lam": 0.3}]}
CASES = [(name, p) for name in ACTIVATIONS for p in PARAMS.get(name, [{}])]


def sample_points(name, seed=0):
    rng = random.Random(seed)
    points = [rng.uniform(-6, 6) for _ in range(40)] + [-3.0, -0.5, 0.25, 0.75, 2.0]
    return [x for x in points if all(abs(x - k) > 1e-3 for k in KINKS.get(name, []))]


def test_names_match_the_design():
    assert set(ACTIVATIONS) == DESIGN_NAMES
    assert all(ACTIVATIONS[n].name == n and ACTIVATIONS[n].formula for n in ACTIVATIONS)


@pytest.mark.parametrize("name,params", CASES, ids=[f"{n}{p}" for n, p in CASES])
def test_derivative_matches_central_differences(name, params):
    act = ACTIVATIONS[name]
    h = 1e-6
    for x in sample_points(name):
        numeric = (act.f(x + h, **params) - act.f(x - h, **params)) / (2 * h)
        assert act.df(x, **params) == pytest.approx(numeric, rel=1e-7, abs=1e-8), x


TORCH_FORMS = {
    "identity": lambda F, x: x,
    "relu": lambda F, x: F.relu(x),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.01),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "tanh": lambda F, x: F.tanh(x),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x),
    "softplus": lambda F, x: F.softplus(x, threshold=1e3),  # torch's default switches to x above 20
    "saturated_linear": lambda F, x: F.hardtanh(x, 0.0, 1.0),
    "bipolar_sigmoid": lambda F, x: F.tanh(x / 2),
}


@pytest.mark.parametrize("name", sorted(TORCH_FORMS))
def test_value_and_derivative_match_torch_float64(name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    points = sample_points(name, seed=3) + KINKS.get(name, []) + [-30.0, 30.0]
    x = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    y = TORCH_FORMS[name](F, x)
    y.sum().backward()
    act = ACTIVATIONS[name]
    # abs: torch's 1 + erf, 1 + tanh, 1 - tanh², 1 - σ cancel in the tails, where ours are
    # accurate to a few ulp (checked against 50-digit arithmetic below)
    for xi, yi, gi in zip(points, y.tolist(), x.grad.tolist()):
        assert act.f(xi) == pytest.approx(yi, rel=1e-14, abs=1e-15), xi
        assert act.df(xi) == pytest.approx(gi, rel=1e-13, abs=1e-15), xi  # kinks follow torch


def test_bipolar_sigmoid_is_the_course_formula():
    f = ACTIVATIONS["bipolar_sigmoid"].f
    for x in (-4.0, -0.3, 0.0, 1.7):
        assert f(x) == pytest.approx((1 - math.exp(-x)) / (1 + math.exp(-x)), rel=1e-14, abs=1e-16)


def test_sigmoid_steepness():
    s = ACTIVATIONS["sigmoid"]
    assert s.f(1.5, lam=2.0) == s.f(3.0)
    assert s.df(1.5, lam=2.0) == pytest.approx(2.0 * s.df(3.0), rel=1e-15)


def test_sigmoid_tails_are_accurate_to_a_few_ulp():
    getcontext().prec = 50
    for x in (-50.0, -700.0, 35.0):
        exact = 1 / (1 + Decimal(-x).exp())
        assert ACTIVATIONS["sigmoid"].f(x) == pytest.approx(float(exact), rel=4e-16)
    # σ'(40) = σ(40)(1 - σ(40)) ≈ e^-40: the naive 1 - σ loses every digit
    assert ACTIVATIONS["sigmoid"].df(40.0) == pytest.approx(math.exp(-40.0), rel=1e-14)
    assert ACTIVATIONS["tanh"].df(20.0) == pytest.approx(4 * math.exp(-40.0), rel=1e-14)


def test_gelu_tanh_left_tail_is_accurate():
    getcontext().prec = 50
    pi = Decimal("3.14159265358979323846264338327950288419716939937510")
    for x in (-5.2, -9.0, -2.5):
        u = (2 / pi).sqrt() * (Decimal(x) + Decimal("0.044715") * Decimal(x) ** 3)
        exact = Decimal(x) / (1 + (-2 * u).exp())  # ½ x (1 + tanh u) = x σ(2u)
        assert ACTIVATIONS["gelu_tanh"].f(x) == pytest.approx(float(exact), rel=1e-14)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_extreme_inputs_neither_overflow_nor_give_nan(name):
    act = ACTIVATIONS[name]
    for x in (-1e300, -800.0, 800.0, 1e300):
        y = act.f(x)
        assert not math.isnan(y) and abs(y) <= abs(x)  # no σ here grows faster than ξ out there
        assert math.isfinite(act.df(x))


def test_step():
    step = ACTIVATIONS["step"]
    assert [step.f(x) for x in (-1e-300, 0.0, 2.0)] == [0.0, 1.0, 1.0]
    assert step.df(0.5) == 0.0


def test_lookup_and_parameter_errors():
    assert get_activation("relu") is ACTIVATIONS["relu"]
    assert get_activation(ACTIVATIONS["tanh"]) is ACTIVATIONS["tanh"]
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        get_activation("swish")
    with pytest.raises(TypeError, match="activation must be a name"):
        get_activation(3)
    with pytest.raises(TypeError, match="unexpected parameter 'beta'"):
        ACTIVATIONS["sigmoid"].f(0.0, beta=2.0)
    with pytest.raises(TypeError, match="no parameters"):
        ACTIVATIONS["relu"].df(0.0, lam=1.0)
    with pytest.raises(ValueError, match="'lam'.*finite"):
        ACTIVATIONS["sigmoid"].f(0.0, lam=math.nan)


def test_softmax_family_matches_torch():
    torch = pytest.importorskip("torch")
    rng = random.Random(7)
    for n in (1, 2, 5, 33):
        xs = [rng.gauss(0, 10) for _ in range(n)]
        t = torch.tensor(xs, dtype=torch.float64)
        assert softmax(xs) == pytest.approx(torch.softmax(t, 0).tolist(), rel=1e-14, abs=1e-300)
        assert log_softmax(xs) == pytest.approx(torch.log_softmax(t, 0).tolist(), rel=1e-13)
        assert logsumexp(xs) == pytest.approx(torch.logsumexp(t, 0).item(), rel=1e-15)
        assert math.fsum(softmax(xs)) == pytest.approx(1.0, abs=4e-16)


def test_softmax_family_is_stable_and_handles_minus_inf():
    assert logsumexp([1e308, 1e308]) == 1e308  # + log 2 is below ulp(1e308)
    assert softmax([1000.0, 0.0, -math.inf]) == [1.0, math.exp(-1000.0), 0.0]
    assert log_softmax([0.0, -math.inf]) == [0.0, -math.inf]
    assert logsumexp([-math.inf, -math.inf]) == -math.inf
    # log p of a confident class: -log1p(2 e^-45) ≈ -5.7e-20, exact to a few ulp
    assert log_softmax([45.0, 0.0, 0.0])[0] == pytest.approx(-math.log1p(2 * math.exp(-45.0)), rel=1e-15)
    with pytest.raises(ValueError, match="every entry"):
        softmax([-math.inf])
    with pytest.raises(ValueError, match="every entry"):
        log_softmax([-math.inf, -math.inf])
    with pytest.raises(ValueError, match=r"xs\[1\] must be finite or -inf"):
        softmax([0.0, math.inf])
    with pytest.raises(ValueError, match=r"xs\[0\] must be finite or -inf"):
        logsumexp([math.nan])
    with pytest.raises(ValueError, match="must not be empty"):
        logsumexp([])
