"""reference.losses: torch's semantics where torch defines them, exact gradients everywhere."""
import itertools
import math
import random
from decimal import Decimal, getcontext

import pytest

from reference import losses as L
from reference.gradcheck import gradcheck

torch = pytest.importorskip("torch")
F = torch.nn.functional


def random_logits(rng, n, v, scale=3.0):
    return [[rng.gauss(0.0, scale) for _ in range(v)] for _ in range(n)]


def torch_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing, z_loss):
    """torch's cross_entropy plus z_loss · lse² on counted rows, with the same denominator."""
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(target, dtype=torch.long)
    w = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    loss = F.cross_entropy(z, t, weight=w, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)
    counted = (t != ignore_index).double()
    zterm = z_loss * torch.logsumexp(z, 1) ** 2 * counted
    if reduction == "none":
        loss = loss + zterm
    elif reduction == "sum":
        loss = loss + zterm.sum()
    else:
        denom = counted.sum() if w is None else (w[t.clamp(min=0)] * counted).sum()
        loss = loss + zterm.sum() / denom
    return z, loss


OPTIONS = list(itertools.product([False, True], [-100, 1], ["mean", "sum", "none"], [0.0, 0.1, 1.0], [0.0, 1e-2]))


@pytest.mark.parametrize("n,v", [(1, 1), (6, 2), (5, 7)])
def test_cross_entropy_matches_torch_for_every_option(n, v):
    rng = random.Random(n * 100 + v)
    for use_weight, ignore_index, reduction, eps, z_loss in OPTIONS:
        if ignore_index >= v:
            continue
        logits = random_logits(rng, n, v)
        target = [rng.randrange(v) for _ in range(n)]
        if n > 1:
            target[0] = ignore_index  # at least one ignored row, at least one counted row
            target[-1] = (ignore_index + 1) % v
        weight = [rng.uniform(0.2, 2.0) for _ in range(v)] if use_weight else None
        opts = dict(weight=weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps, z_loss=z_loss)
        z, expected = torch_cross_entropy(logits, target, weight, ignore_index, reduction, eps, z_loss)
        go = [rng.uniform(-2, 2) for _ in range(n)] if reduction == "none" else 0.7
        (expected * torch.tensor(go, dtype=torch.float64)).sum().backward()
        got = L.cross_entropy(logits, target, **opts)
        assert got == pytest.approx(expected.tolist(), rel=1e-13, abs=1e-15), opts
        grad = L.cross_entropy_grad(logits, target, grad_output=go, **opts)
        for row, trow in zip(grad, z.grad.tolist()):
            assert row == pytest.approx(trow, rel=1e-12, abs=1e-15), opts


def test_all_ignored_batch_is_zero_where_torch_gives_nan():
    logits, target = [[1.0, 2.0], [0.5, -1.0]], [-100, -100]
    assert math.isnan(F.cross_entropy(torch.tensor(logits, dtype=torch.float64), torch.tensor(target)).item())
    assert L.cross_entropy(logits, target) == 0.0
    assert L.cross_entropy(logits, target, weight=[1.0, 2.0], label_smoothing=0.1, z_loss=1e-3) == 0.0
    assert L.cross_entropy(logits, target, reduction="sum") == 0.0
    assert L.cross_entropy(logits, target, reduction="none") == [0.0, 0.0]
    assert L.cross_entropy_grad(logits, target) == [[0.0, 0.0], [0.0, 0.0]]
    assert L.cross_entropy([], []) == 0.0  # an empty batch counts no row either


def test_z_loss_adds_lse_squared_over_the_denominator():
    logits, target, weight = [[1.0, 2.0, 0.0], [0.0, 0.5, 3.0]], [1, 2], [2.0, 0.5, 4.0]
    base = L.cross_entropy(logits, target, weight=weight)
    lse = L.logsumexp_rows(logits)
    with_z = L.cross_entropy(logits, target, weight=weight, z_loss=0.1)
    assert with_z - base == pytest.approx(0.1 * (lse[0] ** 2 + lse[1] ** 2) / (0.5 + 4.0), rel=1e-12)


def test_confident_rows_keep_full_relative_accuracy():
    getcontext().prec = 50
    logits = [[40.0, 0.0, -3.0]]
    tail = Decimal(-40).exp() + Decimal(-43).exp()  # Σ_{c≠t} e^{z_c - z_t}
    exact_loss = float((1 + tail).ln())
    exact_grad_t = float(-tail / (1 + tail))  # p_t - 1
    assert L.cross_entropy(logits, [0]) == pytest.approx(exact_loss, rel=1e-15)
    assert L.cross_entropy_grad(logits, [0])[0][0] == pytest.approx(exact_grad_t, rel=1e-15)
    # the naive p_t - 1 is exactly 0 or a multiple of 2^-53 here: all digits lost
    p_t = math.exp(40.0) / (math.exp(40.0) + 1.0 + math.exp(-3.0))
    assert p_t - 1.0 != pytest.approx(exact_grad_t, rel=1e-2, abs=0)


def test_minus_inf_logits_match_torch():
    logits = [[0.0, -math.inf, 2.0], [-math.inf, 1.0, 1.0]]
    for target in ([0, 1], [1, 2]):
        z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        loss = F.cross_entropy(z, torch.tensor(target), reduction="sum")
        loss.backward()
        assert L.cross_entropy(logits, target, reduction="sum") == pytest.approx(loss.item(), rel=1e-14)
        for row, trow in zip(L.cross_entropy_grad(logits, target, reduction="sum"), z.grad.tolist()):
            assert row == pytest.approx(trow, rel=1e-14, abs=1e-300)
    # an ignored row may be entirely masked
    assert L.cross_entropy([[-math.inf, -math.inf], [0.0, 0.0]], [-100, 0]) == pytest.approx(math.log(2.0))


def test_logsumexp_rows():
    rng = random.Random(3)
    logits = random_logits(rng, 4, 9, scale=50.0)
    expected = torch.logsumexp(torch.tensor(logits, dtype=torch.float64), 1).tolist()
    assert L.logsumexp_rows(logits) == pytest.approx(expected, rel=1e-15)
    assert L.logsumexp_rows([[-math.inf]]) == [-math.inf]


@pytest.mark.parametrize("use_weight,eps,z_loss,reduction", [
    (False, 0.0, 0.0, "mean"), (True, 0.2, 0.05, "mean"), (True, 0.0, 0.0, "sum"), (False, 0.3, 0.1, "none"),
])
def test_cross_entropy_gradient_passes_gradcheck(use_weight, eps, z_loss, reduction):
    rng = random.Random(11)
    logits = random_logits(rng, 4, 5, scale=1.5)
    target, weight = [3, -100, 0, 4], [rng.uniform(0.5, 2.0) for _ in range(5)] if use_weight else None
    opts = dict(weight=weight, reduction=reduction, label_smoothing=eps, z_loss=z_loss)
    go = [0.5, 1.0, -1.5, 2.0] if reduction == "none" else 1.0

    def loss(z):
        value = L.cross_entropy(z, target, **opts)
        return math.fsum(a * b for a, b in zip(value, go)) if reduction == "none" else value

    assert gradcheck(loss, logits, L.cross_entropy_grad(logits, target, grad_output=go, **opts)) < 1e-6


@pytest.mark.parametrize("bad,match,exc", [
    (dict(target=[0, 3]), r"target\[1\] = 3 is out of range", ValueError),
    (dict(target=[0, -1]), r"target\[1\] = -1 is out of range", ValueError),
    (dict(target=[0, 1.0]), r"target\[1\] must be an int", TypeError),
    (dict(target=[0]), "one class index per row", ValueError),
    (dict(weight=[1.0, 2.0]), "weight must have length 3", ValueError),
    (dict(reduction="avg"), "reduction must be one of", ValueError),
    (dict(label_smoothing=1.5), r"label_smoothing must be in \[0, 1\]", ValueError),
    (dict(z_loss=-1.0), "z_loss must be >= 0", ValueError),
    (dict(logits=[[0.0, math.nan, 1.0], [0.0, 0.0, 0.0]]), r"logits\[0\]\[1\] must be finite", ValueError),
    (dict(logits=[[0.0, math.inf, 1.0], [0.0, 0.0, 0.0]]), r"logits\[0\]\[1\] must be finite", ValueError),
    (dict(logits=[[-math.inf] * 3, [0.0, 0.0, 0.0]]), r"logits\[0\] is all -inf", ValueError),
    (dict(logits=[[0.0, 1.0, 2.0], [0.0, 1.0]]), "rectangular", ValueError),
    (dict(weight=[0.0, 0.0, 1.0], target=[0, 1]), "sum to 0", ValueError),
    (dict(ignore_index=1.5), "ignore_index must be an int", TypeError),
])
def test_cross_entropy_rejects_bad_input(bad, match, exc):
    args = dict(logits=[[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]], target=[0, 2])
    args.update(bad)
    for fn in (L.cross_entropy, L.cross_entropy_grad):
        with pytest.raises(exc, match=match):
            fn(**args)


def test_cross_entropy_grad_output_shape_is_checked():
    with pytest.raises(ValueError, match="grad_output must have length 2"):
        L.cross_entropy_grad([[0.0, 1.0], [1.0, 0.0]], [0, 1], reduction="none", grad_output=[1.0])
    with pytest.raises(TypeError, match="grad_output must be a real number"):
        L.cross_entropy_grad([[0.0, 1.0]], [0], grad_output=[1.0])


# ---- element-wise losses -----------------------------------------------------------------


def test_mse_and_bce_match_torch_for_every_reduction():
    rng = random.Random(5)
    y = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    d = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    p = [[rng.uniform(0.01, 0.99) for _ in range(3)] for _ in range(4)] + [[0.0, 1.0, 1e-300]]
    b = [[float(rng.random() < 0.5) for _ in range(3)] for _ in range(4)] + [[1.0, 0.0, 1.0]]
    go_none = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(5)]
    for reduction in L.REDUCTIONS:
        for ours, ours_grad, torch_fn, pred, target in (
            (L.mse, L.mse_grad, F.mse_loss, y, d),
            (L.binary_cross_entropy, L.binary_cross_entropy_grad, F.binary_cross_entropy, p, b),
        ):
            go = go_none[: len(pred)] if reduction == "none" else 1.3
            tp = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
            expected = torch_fn(tp, torch.tensor(target, dtype=torch.float64), reduction=reduction)
            (expected * torch.tensor(go, dtype=torch.float64)).sum().backward()
            value = ours(pred, target, reduction=reduction)
            flat = [v for row in value for v in row] if reduction == "none" else value
            assert flat == pytest.approx(expected.flatten().tolist() if reduction == "none" else expected.item(), rel=1e-13)
            got = ours_grad(pred, target, reduction=reduction, grad_output=go)
            for row, trow in zip(got, tp.grad.tolist()):
                assert row == pytest.approx(trow, rel=1e-13)


def test_categorical_cross_entropy_matches_torch():
    rng = random.Random(9)
    logits = random_logits(rng, 5, 4)
    p = [[math.exp(v) for v in row] for row in logits]
    p = [[v / math.fsum(row) for v in row] for row in p]
    d = [[1.0 if c == i % 4 else 0.0 for c in range(4)] for i in range(5)]
    d[0] = [0.1, 0.2, 0.3, 0.4]  # soft labels too
    tp = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    expected = -(torch.tensor(d, dtype=torch.float64) * torch.log(tp)).sum(1)
    expected.mean().backward()
    assert L.categorical_cross_entropy(p, d) == pytest.approx(expected.mean().item(), rel=1e-14)
    assert L.categorical_cross_entropy(p, d, reduction="none") == pytest.approx(expected.tolist(), rel=1e-14)
    for row, trow in zip(L.categorical_cross_entropy_grad(p, d), tp.grad.tolist()):
        assert row == pytest.approx(trow, rel=1e-14)


def test_every_elementwise_loss_passes_gradcheck():
    rng = random.Random(13)
    y = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    d = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(4)]
    p = [[rng.uniform(0.05, 0.95) for _ in range(3)] for _ in range(4)]
    b = [[rng.random() for _ in range(3)] for _ in range(4)]  # soft binary targets
    go = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(4)]
    dot = lambda a, g: math.fsum(x * w for ra, rg in zip(a, g) for x, w in zip(ra, rg))  # noqa: E731
    assert gradcheck(lambda v: L.squared_error(v, d), y, L.squared_error_grad(y, d)) < 1e-6
    assert gradcheck(lambda v: L.squared_error(v[0], d[0]), [y[0]], [L.squared_error_grad(y[0], d[0])]) < 1e-6
    for reduction in ("mean", "sum"):
        assert gradcheck(lambda v: L.mse(v, d, reduction), y, L.mse_grad(y, d, reduction)) < 1e-6
        assert gradcheck(lambda v: L.binary_cross_entropy(v, b, reduction), p, L.binary_cross_entropy_grad(p, b, reduction)) < 1e-6
        assert gradcheck(lambda v: L.categorical_cross_entropy(v, b, reduction), p, L.categorical_cross_entropy_grad(p, b, reduction)) < 1e-6
    assert gradcheck(lambda v: dot(L.mse(v, d, "none"), go), y, L.mse_grad(y, d, "none", go)) < 1e-6
    assert gradcheck(lambda v: dot(L.binary_cross_entropy(v, b, "none"), go), p, L.binary_cross_entropy_grad(p, b, "none", go)) < 1e-6
    gc = [g[0] for g in go]
    ce_none = lambda v: math.fsum(a * g for a, g in zip(L.categorical_cross_entropy(v, b, "none"), gc))  # noqa: E731
    assert gradcheck(ce_none, p, L.categorical_cross_entropy_grad(p, b, "none", gc)) < 1e-6


def test_multi_output_mse_gradient_where_a_library_is_off_by_the_number_of_outputs():
    """scikit-learn's MLPRegressor reports loss = Σ (y - d)² / (2 M P) (squared_loss / 2) but
    back-propagates δ = (y - d) / M: the gradient of its loss times P. Our mean is over batch AND
    outputs in both the loss and its gradient."""
    rng = random.Random(17)
    M, P = 5, 3
    y = [[rng.gauss(0, 1) for _ in range(P)] for _ in range(M)]
    d = [[rng.gauss(0, 1) for _ in range(P)] for _ in range(M)]
    assert gradcheck(lambda v: L.mse(v, d), y, L.mse_grad(y, d)) < 1e-7

    def library_loss(v):
        return L.mse(v, d) / 2

    library_grad = [[(a - b) / M for a, b in zip(ry, rd)] for ry, rd in zip(y, d)]
    assert gradcheck(library_loss, y, library_grad) == pytest.approx((P - 1) / P, rel=1e-6)
    halved = [[g / 2 for g in row] for row in L.mse_grad(y, d)]
    assert all(a == pytest.approx(b * P) for ra, rb in zip(library_grad, halved) for a, b in zip(ra, rb))


def test_elementwise_losses_reject_bad_input():
    with pytest.raises(ValueError, match="d must have length 2"):
        L.mse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="d must have 2 rows"):
        L.mse([[1.0], [2.0]], [[1.0]])
    with pytest.raises(ValueError, match=r"y\[1\] must be finite"):
        L.mse([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.mse([1.0], [1.0], reduction="avg")
    with pytest.raises(ValueError, match=r"p\[0\] = 1.5 must be a probability"):
        L.binary_cross_entropy([1.5], [1.0])
    with pytest.raises(ValueError, match=r"d\[0\] = -0.5 must be a probability"):
        L.binary_cross_entropy_grad([0.5], [-0.5])
    with pytest.raises(ValueError, match="the loss is infinite"):
        L.categorical_cross_entropy([[0.0, 1.0]], [[1.0, 0.0]])
    with pytest.raises(ValueError, match=r"d\[0\]\[0\] = -1.0 must be >= 0"):
        L.categorical_cross_entropy([[0.5, 0.5]], [[-1.0, 2.0]])
    with pytest.raises(ValueError, match="grad_output must have length 1"):
        L.mse_grad([1.0], [0.0], "none", [1.0, 2.0])
