"""The tolerance model and the shared strategies of the conformance suite."""
import doctest
import math
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import dtypes, operations, option_classes, runner, vectors
from conformance import strategies as S
from conformance import tolerance as T
from reference.activations import ACTIVATIONS, get_activation
from reference.linear import linear


@pytest.mark.parametrize("p", [T.FLOAT32, T.BFLOAT16, T.FLOAT16], ids=lambda p: p.name)
def test_round_matches_torch_conversion(p):
    rng = random.Random(0)
    values = [rng.uniform(-2, 2) * 2.0 ** rng.randint(-140, 130) for _ in range(4000)]
    # ties (halfway between two neighbours), subnormals, overflow
    values += [1.0 + 2.0 ** -p.bits * k for k in range(-6, 7)] + [p.tiny * 0.37, -p.tiny * 1e-3, p.max * 1.01, 1e300]
    dtype = getattr(torch, p.torch_dtype)
    expected = torch.tensor(values, dtype=torch.float64).to(dtype).double().tolist()
    assert [p.round(v) for v in values] == expected


def test_unit_roundoffs_and_gamma():
    assert [T.PRECISIONS[n].storage for n in ("float64", "float32", "tf32", "bfloat16", "float16")] == [
        2.0 ** -53, 2.0 ** -24, 2.0 ** -24, 2.0 ** -8, 2.0 ** -11]
    assert T.TF32.multiply == 2.0 ** -11 and T.BFLOAT16.compute == 2.0 ** -24
    assert T.gamma(3, 0.25) == 3.0 and T.gamma(4, 0.25) == math.inf
    with pytest.raises(ValueError, match="unknown dtype 'fp8'"):
        T.get_precision("fp8")


def test_every_activation_has_an_error_model():
    assert set(T.VALUE_TERMS) == set(ACTIVATIONS) == set(T.DERIVATIVE_TERMS) == set(T.KINKS)


def test_kinks_accept_either_one_sided_value():
    relu = get_activation("relu")
    p = T.FLOAT32
    at_zero = T.elementwise_bound(relu.df, 0.0, 0.0, p)
    assert at_zero >= 1.0  # relu'(0) may be 0 (torch) or 1
    assert T.elementwise_bound(relu.df, 0.0, 0.5, p) < 1e-5  # away from the kink it is tight
    step = get_activation("step")
    assert T.elementwise_bound(step.f, 0.0, 0.0, p) >= 1.0
    assert T.elementwise_bound(step.f, 0.0, -1e-3, p) < 1e-30
    # an argument error reaching over the narrow interior of saturated_linear' sees it
    sat = get_activation("saturated_linear")
    assert T.elementwise_bound(sat.df, 0.0, 0.0, p, input_error=2.0) < 1.0
    assert T.elementwise_bound(sat.df, 0.0, 0.0, p, input_error=2.0, kinks=T.KINKS["saturated_linear"]) >= 1.0


def test_linear_bound_grows_with_the_reduction_and_catches_a_few_ulps():
    rng = random.Random(1)
    p = T.FLOAT32
    for k in (4, 64, 1024):
        x = [[p.round(rng.gauss(0, 1)) for _ in range(k)]]
        w = [[p.round(rng.gauss(0, 1)) for _ in range(k)]]
        bound = T.linear_bound(x, w, None, p)[0][0]
        s = math.fsum(abs(a * b) for a, b in zip(x[0], w[0]))
        assert k * p.compute * s < bound < 3 * (k + 2) * p.compute * s
        # a float32 dot product really is within it
        got = torch.tensor(x, dtype=torch.float32) @ torch.tensor(w, dtype=torch.float32).T
        assert abs(got.item() - linear(x, w)[0][0]) <= bound


def test_storage_format_dominates_the_bf16_bound():
    x, w = [[1.0, 2.0, 3.0]], [[0.5, 0.25, 0.125]]
    y = linear(x, w)[0][0]
    b16 = T.linear_bound(x, w, None, T.BFLOAT16)[0][0]
    assert T.BFLOAT16.storage * y <= b16 < 1.01 * T.BFLOAT16.storage * y


def test_softmax_bound_rejects_a_bf16_rounded_intermediate():
    """A confident row: p_y - 1 in bf16 loses the gradient; the model only allows one rounding."""
    logits, target = [[7.0, 0.0, 0.0]], [0]
    p = T.BFLOAT16
    g = [[math.exp(v - math.log(math.exp(7) + 2)) - (j == 0) for j, v in enumerate(logits[0])]]
    bound = T.cross_entropy_grad_bound(logits, target, None, -100, "sum", 0.0, 0.0, 1.0, g, p)
    p_y = math.exp(7) / (math.exp(7) + 2)
    assert abs((p.round(p_y) - 1.0) - g[0][0]) > bound[0][0]  # rounding p_y to bf16 first fails
    assert abs(p.round(g[0][0]) - g[0][0]) <= bound[0][0]  # one rounding of the result passes


def test_tracked_running_error_analysis():
    u = 2.0 ** -24
    a, b = T.Tracked(3.0, 0.0, u), T.Tracked(4.0, 0.0, u)
    c = (a * a + b * b).sqrt()
    assert c.v == 5.0
    # 9 and 16 rounded (u each), their sum (u 25), the root halves that relative error, plus its own
    assert c.e == pytest.approx((9 * u + 16 * u + 25 * u) / 10 + T.ELEMENTARY_ULPS * u * 5)
    assert (a - 3.0).e == 0.0 and (a / b).v == 0.75


def test_optimizer_bound_covers_a_float32_adam_step():
    rng = random.Random(2)
    w = [[T.FLOAT32.round(rng.gauss(0, 1)) for _ in range(50)]]
    g = [[T.FLOAT32.round(rng.gauss(0, 1e-3)) for _ in range(50)]]
    options = {"lr": T.FLOAT32.round(1e-3), "betas": (0.9, T.FLOAT32.round(0.999)), "eps": T.FLOAT32.round(1e-8)}
    bounds = T.optimizer_step_bounds("adam", options, w, g, {"step": 0}, T.FLOAT32)
    p = torch.tensor(w, dtype=torch.float32, requires_grad=True)
    p.grad = torch.tensor(g, dtype=torch.float32)
    torch.optim.Adam([p], lr=options["lr"], betas=options["betas"], eps=options["eps"]).step()
    p64 = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    p64.grad = torch.tensor(g, dtype=torch.float64)
    torch.optim.Adam([p64], lr=options["lr"], betas=options["betas"], eps=options["eps"]).step()
    err = (p.detach().double() - p64.detach()).abs()[0].tolist()
    assert all(e <= b for e, b in zip(err, bounds["params"][0]))
    assert set(bounds) == {"params", "m", "v"}


def test_special_sizes():
    assert S.special_sizes(20) == [1, 2, 3, 4, 5, 7, 8, 9, 11, 13, 15, 16, 17, 19]
    assert 1021 in S.special_sizes(2000) and 1025 in S.special_sizes(2000)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_arrays_have_their_shape_and_stay_within_the_cap(data):
    p = data.draw(st.sampled_from([T.FLOAT32, T.BFLOAT16, T.FLOAT16]))
    shape = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6)))
    cap = data.draw(st.sampled_from([1.0, 8.0, 1e4]))
    a = data.draw(S.array(shape, p, cap=cap))
    assert len(a) == shape[0] and all(len(r) == shape[1] for r in a)
    assert all(abs(v) <= cap for r in a for v in r)
    probs = data.draw(S.probabilities(shape, p))
    assert all(0.0 <= v <= 1.0 for r in probs for v in r)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_logit_rows_keep_the_protected_class_finite(data):
    n, v = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 9))
    protect = tuple(data.draw(st.lists(st.integers(0, v - 1), min_size=n, max_size=n)))
    rows = data.draw(S.logit_rows(n, v, T.FLOAT32, protect=protect))
    for row, keep in zip(rows, protect):
        assert math.isfinite(row[keep]) and row[keep] != math.inf
        assert all(x != math.inf and not math.isnan(x) for x in row)


@pytest.mark.parametrize("module", [T, S, operations, runner, vectors, dtypes, option_classes],
                         ids=lambda m: m.__name__)
def test_doctests(module):
    """The conformance package is outside pytest's testpaths: its examples run here, and a module
    whose examples were lost (none found) fails rather than passing silently."""
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_tracked_values_take_the_reference_optimizers_own_steps():
    # The optimizer bounds are reference.optimizers' rules run on Tracked values: their values must be
    # the oracle's floats exactly, for every optimizer and the options that reach sqrt and maximum.
    from conformance.backends.reference import ReferenceBackend

    step = ReferenceBackend().optimizer_step
    w, g = [[0.5, -1.25, 2.0], [0.0, 3.0, -0.75]], [[0.25, -2.0, 1e-3], [-1.5, 0.0, 4.0]]

    def tracked(rows):
        return [[T.Tracked(v, 0.0, 2.0 ** -24) for v in row] for row in rows]

    for name, options in (("sgd", {"momentum": 0.9, "nesterov": True}), ("adam", {"amsgrad": True}),
                          ("adamw", {"eps_placement": "before_bias_correction"}),
                          ("rmsprop", {"centered": True, "momentum": 0.5}), ("adagrad", {"eps_placement": "inside_sqrt"})):
        options = {"lr": 0.1, **options}
        fw, fs, tw, ts = w, {"step": 0}, tracked(w), {"step": 0}
        for _ in range(3):  # the first step from fresh state, then from the state it left
            fw, fs = step(name, options, fw, g, fs)
            tw, ts = step(name, options, tw, tracked(g), ts)
        assert [[x.v for x in row] for row in tw] == fw, name
        assert all(x.e > 0.0 for row in tw for x in row), name
