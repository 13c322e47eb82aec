"""reference.optimizers: torch.optim's update rules exactly, and each named variant by hand.

The torch comparison trains the same 5-7-3 network (tanh, softmax cross-entropy) from the same
initial weights on the same mini-batches for 50 steps, once with a reference optimizer (gradients
by reference.mlp back-propagation) and once with torch.optim in float64 (gradients by autograd),
and requires max |w_ref - w_torch| <= 1e-10 · max |w_torch|.
"""
import math
import random

import pytest

from reference.losses import cross_entropy_grad
from reference.mlp import MLP, rows
from reference.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, make_optimizer

N_STEPS = 50
BATCH = 8


def _problem(seed=0):
    rng = random.Random(seed)
    X = [[rng.gauss(0.0, 1.0) for _ in range(5)] for _ in range(40)]
    y = [rng.randrange(3) for _ in range(40)]
    batches, order = [], list(range(len(X)))
    while len(batches) < N_STEPS:  # per-epoch reshuffling, as mini-batch SGD does
        rng.shuffle(order)
        batches += [order[i:i + BATCH] for i in range(0, len(order), BATCH)]
    return X, y, batches[:N_STEPS]


def _train_reference(opt, X, y, batches, seed=3):
    net = MLP([5, 7, 3], ["tanh", "identity"], seed=seed)
    params = net.parameters()
    for idx in batches:
        trace = net.forward_batch([X[i] for i in idx])
        grads = net.backward(trace, cross_entropy_grad(trace.output, [y[i] for i in idx]))
        opt.step(params, rows(grads))
    return [v for row in params for v in row]


def _train_torch(torch, make, decay, X, y, batches, seed=3):
    net = MLP([5, 7, 3], ["tanh", "identity"], seed=seed)
    weights, biases = net.linear_layers()
    params = []
    for w, b in zip(weights, biases):
        params += [torch.tensor(w, dtype=torch.float64, requires_grad=True),
                   torch.tensor(b, dtype=torch.float64, requires_grad=True)]
    opt = make(params)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0 / (1.0 + decay * t)) if decay else None
    Xt, yt = torch.tensor(X, dtype=torch.float64), torch.tensor(y)
    for idx in batches:
        w1, b1, w2, b2 = params
        logits = torch.tanh(Xt[idx] @ w1.T + b1) @ w2.T + b2
        loss = torch.nn.functional.cross_entropy(logits, yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
    # Flatten in the reference's order: per layer, per neuron, [bias, weights...].
    out = []
    for w, b in zip(params[0::2], params[1::2]):
        for wj, bj in zip(w.detach().tolist(), b.detach().tolist()):
            out += [bj, *wj]
    return out


# (id, reference optimizer factory, torch optimizer factory, Keras-style decay for LambdaLR)
CASES = [
    ("sgd", lambda: SGD(lr=0.1), lambda t, p: t.optim.SGD(p, lr=0.1), 0.0),
    ("sgd-momentum", lambda: SGD(lr=0.05, momentum=0.9), lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9), 0.0),
    ("sgd-dampening", lambda: SGD(lr=0.05, momentum=0.8, dampening=0.3),
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3), 0.0),
    ("sgd-nesterov", lambda: SGD(lr=0.05, momentum=0.9, nesterov=True),
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True), 0.0),
    ("sgd-weight-decay", lambda: SGD(lr=0.1, weight_decay=0.01), lambda t, p: t.optim.SGD(p, lr=0.1, weight_decay=0.01), 0.0),
    ("sgd-decay", lambda: SGD(lr=0.2, decay=0.05), lambda t, p: t.optim.SGD(p, lr=0.2), 0.05),
    ("sgd-all", lambda: SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3, decay=0.02),
     lambda t, p: t.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), 0.02),
    ("adam", lambda: Adam(lr=0.01), lambda t, p: t.optim.Adam(p, lr=0.01), 0.0),
    ("adam-betas-eps", lambda: Adam(lr=0.02, betas=(0.8, 0.95), eps=1e-3),
     lambda t, p: t.optim.Adam(p, lr=0.02, betas=(0.8, 0.95), eps=1e-3), 0.0),
    ("adam-amsgrad", lambda: Adam(lr=0.01, amsgrad=True), lambda t, p: t.optim.Adam(p, lr=0.01, amsgrad=True), 0.0),
    ("adam-weight-decay", lambda: Adam(lr=0.01, weight_decay=0.1), lambda t, p: t.optim.Adam(p, lr=0.01, weight_decay=0.1), 0.0),
    ("adam-decay", lambda: Adam(lr=0.01, decay=0.1), lambda t, p: t.optim.Adam(p, lr=0.01), 0.1),
    ("adamw", lambda: AdamW(lr=0.01), lambda t, p: t.optim.AdamW(p, lr=0.01), 0.0),
    ("adamw-amsgrad-wd", lambda: AdamW(lr=0.01, weight_decay=0.3, amsgrad=True),
     lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.3, amsgrad=True), 0.0),
    ("adam-decoupled", lambda: Adam(lr=0.01, weight_decay=0.2, decoupled_weight_decay=True),
     lambda t, p: t.optim.AdamW(p, lr=0.01, weight_decay=0.2), 0.0),
    ("rmsprop", lambda: RMSprop(lr=0.01), lambda t, p: t.optim.RMSprop(p, lr=0.01), 0.0),
    ("rmsprop-alpha-eps", lambda: RMSprop(lr=0.01, alpha=0.9, eps=1e-3),
     lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-3), 0.0),
    ("rmsprop-momentum", lambda: RMSprop(lr=0.005, momentum=0.9),
     lambda t, p: t.optim.RMSprop(p, lr=0.005, momentum=0.9), 0.0),
    ("rmsprop-centered", lambda: RMSprop(lr=0.005, centered=True),
     lambda t, p: t.optim.RMSprop(p, lr=0.005, centered=True), 0.0),
    ("rmsprop-centered-momentum-wd-decay", lambda: RMSprop(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01, decay=0.1),
     lambda t, p: t.optim.RMSprop(p, lr=0.005, centered=True, momentum=0.5, weight_decay=0.01), 0.1),
    ("adagrad", lambda: Adagrad(lr=0.1), lambda t, p: t.optim.Adagrad(p, lr=0.1), 0.0),
    ("adagrad-lr-decay", lambda: Adagrad(lr=0.1, decay=0.05), lambda t, p: t.optim.Adagrad(p, lr=0.1, lr_decay=0.05), 0.0),
    ("adagrad-accumulator-eps-wd", lambda: Adagrad(lr=0.1, initial_accumulator_value=0.1, eps=1e-3, weight_decay=0.01),
     lambda t, p: t.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=1e-3, weight_decay=0.01), 0.0),
]


@pytest.mark.parametrize("name, make_ref, make_torch, decay", CASES, ids=[c[0] for c in CASES])
def test_matches_torch_after_50_steps(name, make_ref, make_torch, decay):
    torch = pytest.importorskip("torch")
    X, y, batches = _problem()
    start = _train_reference(SGD(lr=1e-300), X, y, batches[:1])  # (practically) the initial weights
    ours = _train_reference(make_ref(), X, y, batches)
    theirs = _train_torch(torch, lambda p: make_torch(torch, p), decay, X, y, batches)
    scale = max(abs(v) for v in theirs)
    err = max(abs(a - b) for a, b in zip(ours, theirs))
    assert err <= 1e-10 * scale, f"{name}: max |Δw| = {err:.3e} (scale {scale:.3g})"
    moved = max(abs(a - b) for a, b in zip(ours, start))
    assert moved > 1e-3 * scale, f"{name}: the weights barely moved ({moved:.3e}); the comparison would prove nothing"


def test_full_batch_gradient_descent_matches_torch():
    torch = pytest.importorskip("torch")
    X, y, _ = _problem(1)
    everything = [list(range(len(X)))] * N_STEPS
    ours = _train_reference(SGD(lr=0.3), X, y, everything)
    theirs = _train_torch(torch, lambda p: torch.optim.SGD(p, lr=0.3), 0.0, X, y, everything)
    assert max(abs(a - b) for a, b in zip(ours, theirs)) <= 1e-10 * max(abs(v) for v in theirs)


# ----------------------------------------------------------------------------- by hand
def _run(opt, grads, w0=1.0):
    """Weights after each step of ``opt`` on a single weight, fed the gradients ``grads``."""
    w, out = [[w0]], []
    for g in grads:
        opt.step(w, [[g]])
        out.append(w[0][0])
    return out


def test_sgd_plain_and_time_decay():
    # η_t = 0.1 / (1 + 0.5 t): 0.1, 0.1/1.5, 0.05
    assert _run(SGD(lr=0.1, decay=0.5), [1.0, 2.0, -1.0]) == pytest.approx(
        [1.0 - 0.1, 1.0 - 0.1 - 0.2 / 1.5, 1.0 - 0.1 - 0.2 / 1.5 + 0.05], abs=1e-15)


def test_sgd_momentum_lr_outside_and_inside_velocity():
    g = [1.0, 2.0, -1.0]
    lr = [0.1, 0.1 / 1.5, 0.1 / 2.0]  # decay 0.5
    # torch: b1 = g1, b_t = μ b + g; w -= η_t b_t
    b1, b2, b3 = 1.0, 0.9 * 1.0 + 2.0, 0.9 * 2.9 - 1.0
    w1 = 1.0 - lr[0] * b1
    w2 = w1 - lr[1] * b2
    torch_form = [w1, w2, w2 - lr[2] * b3]
    # Keras / scikit-learn: v_t = μ v - η_t g_t; w += v_t
    v1 = -lr[0] * 1.0
    v2 = 0.9 * v1 - lr[1] * 2.0
    v3 = 0.9 * v2 + lr[2] * 1.0
    keras_form = [1.0 + v1, 1.0 + v1 + v2, 1.0 + v1 + v2 + v3]
    assert _run(SGD(lr=0.1, momentum=0.9, decay=0.5), g) == pytest.approx(torch_form, abs=1e-15)
    assert _run(SGD(lr=0.1, momentum=0.9, decay=0.5, momentum_form="lr_inside"), g) == pytest.approx(keras_form, abs=1e-15)
    assert abs(torch_form[2] - keras_form[2]) > 1e-3  # the forms part once η changes


def test_sgd_nesterov_both_forms():
    g = [1.0, 2.0]
    # torch: w -= η (g + μ b)
    w1 = 1.0 - 0.1 * (1.0 + 0.9 * 1.0)
    w2 = w1 - 0.1 * (2.0 + 0.9 * (0.9 + 2.0))
    assert _run(SGD(lr=0.1, momentum=0.9, nesterov=True), g) == pytest.approx([w1, w2], abs=1e-15)
    # Keras / scikit-learn: v = μ v - η g; w += μ v - η g
    v1 = -0.1
    k1 = 1.0 + 0.9 * v1 - 0.1 * 1.0
    v2 = 0.9 * v1 - 0.1 * 2.0
    k2 = k1 + 0.9 * v2 - 0.1 * 2.0
    assert _run(SGD(lr=0.1, momentum=0.9, nesterov=True, momentum_form="lr_inside"), g) == pytest.approx([k1, k2], abs=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_forms_agree_for_a_constant_learning_rate(nesterov):
    rng = random.Random(5)
    g = [rng.gauss(0, 1) for _ in range(30)]
    a = _run(SGD(lr=0.05, momentum=0.8, nesterov=nesterov), g)
    b = _run(SGD(lr=0.05, momentum=0.8, nesterov=nesterov, momentum_form="lr_inside"), g)
    assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


def test_weight_decay_coupled_and_decoupled():
    # coupled: w -= η (g + λ w);  decoupled: w = (1 - η λ) w - η g
    assert _run(SGD(lr=0.1, weight_decay=0.5), [2.0]) == pytest.approx([1.0 - 0.1 * (2.0 + 0.5)])
    assert _run(SGD(lr=0.1, weight_decay=0.5, decoupled_weight_decay=True), [2.0]) == pytest.approx([0.95 - 0.2])
    # With momentum they differ: the coupled term enters the velocity.
    g = [2.0, 1.0]
    c = _run(SGD(lr=0.1, momentum=0.9, weight_decay=0.5), g)
    d = _run(SGD(lr=0.1, momentum=0.9, weight_decay=0.5, decoupled_weight_decay=True), g)
    w1 = 1.0 - 0.1 * 2.5
    b2 = 0.9 * 2.5 + (1.0 + 0.5 * w1)
    assert c == pytest.approx([w1, w1 - 0.1 * b2])
    u1 = 0.95 - 0.2
    u2 = 0.95 * u1 - 0.1 * (0.9 * 2.0 + 1.0)
    assert d == pytest.approx([u1, u2])


def _adam_by_hand(g, lr, b1, b2, eps, placement, w=1.0):
    m = v = 0.0
    out = []
    for t, gt in enumerate(g, start=1):
        m = b1 * m + (1 - b1) * gt
        v = b2 * v + (1 - b2) * gt * gt
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        if placement == "after":
            w -= lr * (m / c1) / (math.sqrt(v / c2) + eps)
        else:
            w -= lr * math.sqrt(c2) / c1 * m / (math.sqrt(v) + eps)
        out.append(w)
    return out


def test_adam_eps_before_and_after_bias_correction():
    g = [0.5, -0.2, 0.1]
    after = _adam_by_hand(g, 0.1, 0.9, 0.999, 0.1, "after")
    before = _adam_by_hand(g, 0.1, 0.9, 0.999, 0.1, "before")
    assert _run(Adam(lr=0.1, eps=0.1), g) == pytest.approx(after, abs=1e-14)
    assert _run(Adam(lr=0.1, eps=0.1, eps_placement="before_bias_correction"), g) == pytest.approx(before, abs=1e-14)
    assert abs(after[0] - before[0]) > 1e-2  # a large ε shows the difference
    # Step 1 worked out: m̂ = 0.5, v̂ = 0.25  ->  w = 1 - 0.1 · 0.5 / (0.5 + 0.1)
    assert after[0] == pytest.approx(1 - 0.1 * 0.5 / 0.6, abs=1e-15)


def test_adam_amsgrad_uses_the_running_maximum():
    g = [1.0, 0.01, 0.01]
    w, m, v, vmax = 1.0, 0.0, 0.0, 0.0
    expect = []
    for t, gt in enumerate(g, start=1):
        m = 0.9 * m + 0.1 * gt
        v = 0.999 * v + 0.001 * gt * gt
        vmax = max(vmax, v)
        w -= 0.1 / (1 - 0.9 ** t) * m / (math.sqrt(vmax / (1 - 0.999 ** t)) + 1e-8)
        expect.append(w)
    assert _run(Adam(lr=0.1, amsgrad=True), g) == pytest.approx(expect, abs=1e-15)
    assert _run(Adam(lr=0.1), g)[2] != pytest.approx(expect[2], abs=1e-6)


def test_adamw_decays_before_the_adam_step():
    # w1 = (1 - η λ) w0 - η m̂ / (√v̂ + ε), with m̂ = g, √v̂ = |g| at the first step
    assert _run(AdamW(lr=0.1, weight_decay=0.5, eps=0.0), [4.0]) == pytest.approx([0.95 - 0.1], abs=1e-15)
    assert _run(Adam(lr=0.1, weight_decay=0.5, eps=0.0), [4.0]) == pytest.approx([0.9], abs=1e-15)  # coupled: g+λw = 4.5


def test_rmsprop_eps_placement_centered_and_momentum_forms():
    g = [2.0, -1.0]
    a, eps, lr = 0.9, 0.01, 0.1
    s1 = 0.1 * 4.0
    s2 = a * s1 + 0.1 * 1.0
    # eps outside the square root (torch) and inside (Keras)
    out1 = 1.0 - lr * 2.0 / (math.sqrt(s1) + eps)
    out2 = out1 + lr * 1.0 / (math.sqrt(s2) + eps)
    in1 = 1.0 - lr * 2.0 / math.sqrt(s1 + eps)
    in2 = in1 + lr * 1.0 / math.sqrt(s2 + eps)
    assert _run(RMSprop(lr=lr, alpha=a, eps=eps), g) == pytest.approx([out1, out2], abs=1e-15)
    assert _run(RMSprop(lr=lr, alpha=a, eps=eps, eps_placement="inside_sqrt"), g) == pytest.approx([in1, in2], abs=1e-15)
    # centered: divide by √(s - ḡ²) + ε, ḡ the running mean of g
    gb1 = 0.1 * 2.0
    gb2 = a * gb1 + 0.1 * -1.0
    c1 = 1.0 - lr * 2.0 / (math.sqrt(s1 - gb1 ** 2) + eps)
    c2 = c1 + lr * 1.0 / (math.sqrt(s2 - gb2 ** 2) + eps)
    assert _run(RMSprop(lr=lr, alpha=a, eps=eps, centered=True), g) == pytest.approx([c1, c2], abs=1e-15)
    # momentum with a decaying η: torch b = μ b + g/r, w -= η_t b; Keras b = μ b + η_t g/r, w -= b
    r1, r2 = math.sqrt(s1) + eps, math.sqrt(s2) + eps
    lr2 = lr / 2.0  # decay 1.0
    bt1, bt2 = 2.0 / r1, 0.5 * (2.0 / r1) - 1.0 / r2
    t1 = 1.0 - lr * bt1
    t2 = t1 - lr2 * bt2
    bk1, bk2 = lr * 2.0 / r1, 0.5 * (lr * 2.0 / r1) - lr2 * 1.0 / r2
    k1 = 1.0 - bk1
    k2 = k1 - bk2
    assert _run(RMSprop(lr=lr, alpha=a, eps=eps, momentum=0.5, decay=1.0), g) == pytest.approx([t1, t2], abs=1e-15)
    assert _run(RMSprop(lr=lr, alpha=a, eps=eps, momentum=0.5, decay=1.0, momentum_form="lr_inside"), g) == pytest.approx(
        [k1, k2], abs=1e-15)
    assert abs(t2 - k2) > 1e-3


def test_adagrad_eps_placement_and_initial_accumulator():
    g = [3.0, 4.0]
    s1, s2 = 0.1 + 9.0, 0.1 + 9.0 + 16.0
    out1 = 1.0 - 0.5 * 3.0 / (math.sqrt(s1) + 0.2)
    out2 = out1 - 0.5 * 4.0 / (math.sqrt(s2) + 0.2)
    in1 = 1.0 - 0.5 * 3.0 / math.sqrt(s1 + 0.2)
    in2 = in1 - 0.5 * 4.0 / math.sqrt(s2 + 0.2)
    assert _run(Adagrad(lr=0.5, eps=0.2, initial_accumulator_value=0.1), g) == pytest.approx([out1, out2], abs=1e-15)
    assert _run(Adagrad(lr=0.5, eps=0.2, initial_accumulator_value=0.1, eps_placement="inside_sqrt"), g) == pytest.approx(
        [in1, in2], abs=1e-15)


def test_state_is_kept_per_row_and_every_row_is_updated():
    opt = Adam(lr=0.1)
    params = [[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]]
    grads = [[1.0, -1.0], [0.5], [2.0, 0.0, -3.0]]
    before = [row[:] for row in params]
    opt.step(params, grads)
    for b, p, g in zip(before, params, grads):
        for bi, pi, gi in zip(b, p, g):
            assert pi == pytest.approx(bi - 0.1 * (1.0 if gi > 0 else -1.0 if gi < 0 else 0.0), abs=1e-7)
    assert sorted(opt.state) == [0, 1, 2]
    assert [len(s["m"]) for s in opt.state.values()] == [2, 1, 3]


def test_current_lr_follows_keras_time_decay():
    opt = SGD(lr=0.3, decay=0.25)
    lrs = []
    for _ in range(4):
        lrs.append(opt.current_lr())
        opt.step([[0.0]], [[1.0]])
    assert lrs == pytest.approx([0.3 / (1 + 0.25 * t) for t in range(4)])


@pytest.mark.parametrize("make, message", [
    (lambda: SGD(lr=0.0), "learning rate"),
    (lambda: SGD(lr=-0.1), "learning rate"),
    (lambda: Adam(lr=float("nan")), "learning rate"),
    (lambda: SGD(lr=0.1, momentum=-0.5), "momentum"),
    (lambda: SGD(lr=0.1, nesterov=True), "Nesterov"),
    (lambda: SGD(lr=0.1, momentum=0.9, dampening=0.1, momentum_form="lr_inside"), "dampening"),
    (lambda: SGD(lr=0.1, momentum_form="keras"), "momentum_form"),
    (lambda: Adam(betas=(0.9, 1.0)), "betas"),
    (lambda: Adam(eps_placement="inside"), "eps_placement"),
    (lambda: RMSprop(alpha=1.5), "alpha"),
    (lambda: Adagrad(eps=-1.0), "eps"),
    (lambda: SGD(lr=0.1, weight_decay=-1.0), "weight_decay"),
    (lambda: SGD(lr=0.1, decay=-1.0), "decay"),
    (lambda: make_optimizer("lbfgs", 0.1), "unknown optimizer"),
])
def test_bad_hyperparameters_are_rejected(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_types_and_shapes_are_rejected():
    with pytest.raises(TypeError, match="learning rate"):
        SGD(lr="0.1")
    opt = SGD(lr=0.1)
    with pytest.raises(ValueError, match="same number of rows"):
        opt.step([[1.0]], [[1.0], [2.0]])
    with pytest.raises(ValueError, match="same length"):
        opt.step([[1.0, 2.0]], [[1.0]])
    assert opt.t == 0  # a rejected step changes nothing
    with pytest.raises(NotImplementedError):
        Optimizer(0.1).step([[1.0]], [[1.0]])
