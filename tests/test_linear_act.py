"""triton_kernels.linear_act against the float64 oracle reference.linear.

Every kernel result is checked elementwise against the error bound of the module docstring of
triton_kernels.linear_act (dtype- and reduction-length-dependent), not a blanket rtol; why that
model and not conformance.tolerance's (whose formats it uses): conformance/TOLERANCE.md, "The
kernels' own tests". Output buffers come out of torch.empty poisoned with NaN, so an element a
kernel forgets to write fails.
Without a GPU the kernels run under the Triton interpreter with 16-wide tiles, so the shapes below
(1, primes, 15/17, 31/33) hit partial, single and multiple tiles in every dimension.
"""
import importlib
import math
import os
import subprocess
import sys
import types

import pytest
import torch
import triton
import triton.language as tl

from conformance import tolerance as T
from reference import linear as ref
from reference.activations import get_activation
from triton_kernels.activations import ACTIVATIONS, ERFCX_R, activation_fn, activation_grad

# The package may re-export the function under the module's own name, so fetch the module itself.
la = importlib.import_module("triton_kernels.linear_act")
linear_act, FusedLinear = la.linear_act, la.FusedLinear

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
U_ACC = T.FLOAT32.compute  # float32 accumulation, 2^-24
# σ alone is 1 / (1 + e^-z), whose e^-z overflows to inf on purpose (numpy warns under the interpreter).
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
U_TF32 = T.TF32.multiply  # 2^-11
UNIT = {getattr(torch, f.torch_dtype): f.storage for f in (T.FLOAT32, T.FLOAT16, T.BFLOAT16)}  # 2^-24, -11, -8
# Absolute error floor of a stored value: half fp16's smallest subnormal; for float32 and bf16
# (float32's exponent range) the smallest normal number, as GPU float32 math may flush subnormals.
UNDERFLOW = {torch.float32: 2.0 ** -126, torch.float16: 2.0 ** -25, torch.bfloat16: 2.0 ** -126}
# (dtype, allow_tf32) combinations every activation is tested in.
PRECISIONS = [(torch.float32, False), (torch.float32, True), (torch.float16, None), (torch.bfloat16, None)]
# sup|σ'| and sup|σ''| over the real line (None: σ' jumps at 0).
SUP_DERIVATIVES = {
    "identity": (1.0, 0.0), "relu": (1.0, None), "leaky_relu": (1.0, None), "sigmoid": (0.25, 0.0963),
    "tanh": (1.0, 0.770), "gelu": (1.129, 0.798), "gelu_tanh": (1.129, 0.798), "silu": (1.100, 0.500),
}


@pytest.fixture(autouse=True)
def nan_poisoned_empty(monkeypatch, guarded_alloc):
    """torch.empty / empty_like hand out NaN-filled floating buffers with canaries around them
    (tests/conftest.py) for the duration of a test."""
    empty, empty_like = torch.empty, torch.empty_like
    monkeypatch.setattr(torch, "empty", lambda *a, **k: guarded_alloc(empty(*a, **k)))
    monkeypatch.setattr(torch, "empty_like", lambda *a, **k: guarded_alloc(empty_like(*a, **k)))


# ---------------------------------------------------------------------------------------------
# Oracle and error model
# ---------------------------------------------------------------------------------------------
def _params(activation, slope):
    return {"negative_slope": slope} if activation == "leaky_relu" else {}


def _oracle(x, w, b, dy, activation, slope):
    """ξ, y, σ'(ξ), dx, dW, db from reference.linear, as float64 CPU tensors."""
    params = _params(activation, slope)
    xs, ws, dys = (t.double().cpu().tolist() for t in (x, w, dy))
    bs = b.double().cpu().tolist() if b is not None else None
    xi = ref.linear(xs, ws, bs)
    y = ref.linear_act(xs, ws, bs, activation, **params)
    dx, dw, db = ref.linear_act_backward(xs, ws, bs, activation, dys, **params)
    act = get_activation(activation)
    g = [[act.df(v, **params) for v in row] for row in xi]
    out = {"xi": xi, "y": y, "g": g, "dx": dx, "dw": dw, "db": db}
    return {k: torch.tensor(v, dtype=torch.float64) if v is not None else None for k, v in out.items()}


def _eval_error(activation, xi, y, g):
    """Bounds on the float32 evaluation error of σ(ξ) and σ'(ξ) with the formulas of
    triton_kernels/activations.py: 16 u (1 + |exp argument|) times the magnitude of the terms
    summed, plus the underflow floor carried through the factor that scales a flushed
    intermediate (ξ in ξ σ(ξ); 2 ξ s' in gelu_tanh's σ', as conformance's 4 A(ξ))."""
    a = xi.abs()
    if activation in ("identity", "relu"):
        return torch.zeros_like(xi), torch.zeros_like(xi)
    if activation == "leaky_relu":  # the slope rounded to float32, and the product
        return 2 * U_ACC * y.abs(), U_ACC * g.abs()
    if activation == "gelu":
        phi = torch.exp(-0.5 * xi * xi) / math.sqrt(2 * math.pi)
        arg, s_y, s_g = 0.5 * xi * xi, y.abs(), 0.5 * torch.erfc(-xi / math.sqrt(2)) + a * phi
    elif activation == "gelu_tanh":  # y = ξ σ(2s), σ' = σ(2s) + 2 ξ s' σ(2s) σ(-2s)
        two_s = 2 * math.sqrt(2 / math.pi) * (xi + 0.044715 * xi ** 3)
        ds = 2 * math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * xi * xi)
        arg, s_y = two_s.abs(), y.abs()
        s_g = torch.sigmoid(two_s) + a * ds * torch.sigmoid(two_s) * torch.sigmoid(-two_s)
    elif activation == "silu":  # y = ξ σ(ξ), σ' = σ(ξ) + ξ σ(ξ) σ(-ξ)
        arg, s_y = a, y.abs()
        s_g = torch.sigmoid(xi) + a * torch.sigmoid(xi) * torch.sigmoid(-xi)
    else:  # sigmoid, tanh
        arg, s_y, s_g = (a if activation == "sigmoid" else 2 * a), y.abs(), g.abs()
    scale = 16 * U_ACC * (1 + arg)
    flushed = a * ds if activation == "gelu_tanh" else a
    return scale * s_y + 2.0 ** -126 * (1 + a), scale * s_g + 2.0 ** -126 * (1 + flushed)


def _bounds(x, w, b, dy, o, activation, slope, dtype, tf32):
    """Elementwise error bounds for y, dx, dW, db (the model in triton_kernels.linear_act)."""
    x, w, dy = (t.double().cpu() for t in (x, w, dy))
    m, k = x.shape
    n = w.shape[0]
    u_io, tiny = UNIT[dtype], UNDERFLOW[dtype]
    u_dot = U_TF32 if tf32 else 0.0
    ax, aw = x.abs(), w.abs()
    e_xi = ((k + 2) * U_ACC + 2 * u_dot) * (ax @ aw.T)
    if b is not None:
        e_xi += U_ACC * b.double().cpu().abs()
    l1, l2 = SUP_DERIVATIVES[activation]
    if activation == "leaky_relu":
        l1 = max(1.0, abs(slope))
    e_y, e_g = _eval_error(activation, o["xi"], o["y"], o["g"])
    bound = {"y": l1 * e_xi + e_y + u_io * o["y"].abs() + tiny}

    delta = dy * o["g"]
    e_delta = dy.abs() * ((l2 or 0.0) * e_xi + e_g + u_io * o["g"].abs() + tiny) + 2 * (u_io * delta.abs() + tiny)
    if l2 is None:  # a kink: where ξ is within its error of 0 the kernel may take either side
        near = o["xi"].abs() <= e_xi + tiny
        e_delta += near * dy.abs() * abs(1.0 - (slope if activation == "leaky_relu" else 0.0))
    ad = delta.abs()
    bound["dx"] = e_delta @ aw + ((n + 2) * U_ACC + 2 * u_dot) * (ad @ aw) + u_io * o["dx"].abs() + tiny
    bound["dw"] = e_delta.T @ ax + ((m + 2) * U_ACC + 2 * u_dot) * (ad.T @ ax) + u_io * o["dw"].abs() + tiny
    if b is not None:
        bound["db"] = e_delta.sum(0) + (m + 2) * U_ACC * ad.sum(0) + u_io * o["db"].abs() + tiny
    return bound


def _worst(got, want, bound):
    """max |got - want| / bound (exact is 0 even where the bound is 0; NaN is infinitely wrong)."""
    err = (got.double().cpu() - want).abs()
    ratio = torch.where(err == 0, 0.0, err / bound)
    return float(torch.nan_to_num(ratio, nan=math.inf).max())


def _check(results, o, bound, what=""):
    """Assert every result is within its bound; returns the worst fraction of the bound used."""
    worst = {}
    for name, got in results.items():
        if got is None:
            continue
        worst[name] = _worst(got.reshape(o[name].shape), o[name], bound[name])
    assert max(worst.values()) <= 1.0, f"{what}: error / bound = {worst}"
    return worst


def _inputs(m, k, n, dtype, seed, bias=True):
    """x [m, k], W [n, k] scaled so that ξ ~ N(0, 1.25): the activations' curved part; dy [m, n]."""
    gen = torch.Generator(device=DEVICE).manual_seed(seed)
    normal = lambda *shape: torch.randn(*shape, generator=gen, device=DEVICE)  # noqa: E731
    x = normal(m, k).to(dtype)
    w = (normal(n, k) / math.sqrt(k)).to(dtype)
    b = (0.5 * normal(n)).to(dtype) if bias else None
    dy = normal(m, n).to(dtype)
    return x, w, b, dy


def _run(x, w, b, dy, activation, **kwargs):
    """Forward and backward through linear_act; returns y, dx, dW, db."""
    x, w = x.detach().requires_grad_(), w.detach().requires_grad_()
    b = b.detach().requires_grad_() if b is not None else None
    y = linear_act(x, w, b, activation, **kwargs)
    y.backward(dy)
    return {"y": y.detach(), "dx": x.grad, "dw": w.grad, "db": b.grad if b is not None else None}


def _verify(m, k, n, activation, dtype=torch.float32, tf32=False, seed=0, slope=0.01, bias=True, **kwargs):
    x, w, b, dy = _inputs(m, k, n, dtype, seed, bias)
    got = _run(x, w, b, dy, activation, negative_slope=slope, allow_tf32=tf32, **kwargs)
    o = _oracle(x, w, b, dy, activation, slope)
    return _check(got, o, _bounds(x, w, b, dy, o, activation, slope, dtype, tf32),
                  f"{activation} {dtype} tf32={tf32} {(m, k, n)} {kwargs}")


# ---------------------------------------------------------------------------------------------
# The activation device functions alone
# ---------------------------------------------------------------------------------------------
@triton.jit
def _activation_kernel(z_ptr, y_ptr, g_ptr, n, negative_slope, ACTIVATION: tl.constexpr, WITH_GRAD: tl.constexpr,
                       BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    z = tl.load(z_ptr + offs, mask=mask, other=0.0)
    tl.store(y_ptr + offs, activation_fn(z, ACTIVATION, negative_slope, WITH_GRAD), mask=mask)
    tl.store(g_ptr + offs, activation_grad(z, ACTIVATION, negative_slope), mask=mask)


def test_gelu_tail_polynomial_gives_erfc_to_its_stated_accuracy():
    # Φ(-|ξ|) = erfc(x) / 2 = e^(-x²) t R(t) / 2, t = 1 / (1 + x/2), x = |ξ| / √2, in float64: the
    # fit's 1.1e-8 relative, from ξ = 0 to far beyond where Φ(ξ) underflows float32 (ξ = -13.2).
    worst = 0.0
    for i in range(26001):
        x = i * 1e-3
        t = 1 / (1 + x / 2)
        r = math.fsum(c * t ** j for j, c in enumerate(ERFCX_R))
        worst = max(worst, abs(t * r * math.exp(-x * x) / math.erfc(x) - 1))
    assert worst < 1.2e-8


def _check_activation(activation, z, with_grad):
    # with_grad: σ formed from the parts σ' shares (the "y+g" epilogue), else alone (the "y" one).
    y, g = torch.full_like(z, float("nan")), torch.full_like(z, float("nan"))
    slope = 0.2
    _activation_kernel[(triton.cdiv(z.numel(), 128),)](z, y, g, z.numel(), slope, ACTIVATION=activation,
                                                       WITH_GRAD=with_grad, BLOCK=128)
    act, params = get_activation(activation), _params(activation, slope)
    zs = z.double().cpu()
    want_y = torch.tensor([act.f(v, **params) for v in zs.tolist()], dtype=torch.float64)
    want_g = torch.tensor([act.df(v, **params) for v in zs.tolist()], dtype=torch.float64)
    e_y, e_g = _eval_error(activation, zs, want_y, want_g)
    assert _worst(y, want_y, e_y) <= 1.0, f"{activation} value error / bound {_worst(y, want_y, e_y)}"
    assert _worst(g, want_g, e_g) <= 1.0, f"{activation} derivative error / bound {_worst(g, want_g, e_g)}"


# The branch points of the formulas (0, tanh's 0.4), cancellation, saturation and underflow regions.
_SPECIAL = [0.0, 1e-30, 1e-6, 0.01, 0.3999, 0.4, 0.4001, 0.75, 1.0, 3.0, 10.0, 13.0, 17.0, 20.0, 30.0, 88.0]


@pytest.mark.parametrize("with_grad", [False, True], ids=["y", "y+g"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_functions_match_reference_to_float32_accuracy(activation, with_grad, device):
    # Every region, on a dense grid out to where every σ saturates or underflows (flushed to 0 on a
    # GPU and, as fastmath.py emulates it, under the interpreter); on a GPU, its own exp and
    # reciprocal instructions.
    z = torch.cat([torch.tensor(_SPECIAL), -torch.tensor(_SPECIAL), torch.linspace(-100, 100, 40001)])
    _check_activation(activation, z.to(device), with_grad)


# ---------------------------------------------------------------------------------------------
# Forward and backward against the oracle
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,tf32", PRECISIONS, ids=["fp32", "tf32", "fp16", "bf16"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_forward_and_gradients_match_oracle(activation, dtype, tf32, record_property):
    # 33 = 2 tiles + 1 row, 31 = 2 tiles - 1, 17 = 1 tile + 1 (16-wide tiles under the interpreter).
    worst = _verify(33, 31, 17, activation, dtype, tf32, seed=ACTIVATIONS.index(activation))
    record_property("error_over_bound", worst)  # e.g. ~0.95 for a 16-bit y (its final rounding)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_recompute_mode_matches_oracle(activation, dtype):
    _verify(17, 33, 15, activation, dtype, seed=10 + ACTIVATIONS.index(activation), recompute=True)


@pytest.mark.parametrize("m,k,n", [
    (1, 1, 1), (1, 16, 16), (2, 1, 33), (15, 17, 16), (47, 5, 3), (3, 64, 2), (16, 37, 31), (5, 130, 7),
])
@pytest.mark.parametrize("activation", ["relu", "gelu_tanh"])
def test_odd_shapes(m, k, n, activation):
    _verify(m, k, n, activation, torch.float32, seed=m * 1000 + k * 10 + n)
    _verify(m, k, n, activation, torch.bfloat16, seed=m * 1000 + k * 10 + n + 1)


def test_no_bias():
    _verify(19, 23, 18, "silu", torch.float16, bias=False, seed=5)
    _verify(19, 23, 18, "relu", torch.float32, bias=False, seed=6)


@pytest.mark.parametrize("slope", [-0.5, 0.0, 0.3, 2.0])
def test_leaky_relu_slopes(slope):
    # Negative slopes cannot be read back from y's sign: the backward then keeps σ'(ξ) instead.
    _verify(18, 20, 17, "leaky_relu", torch.float32, seed=7, slope=slope)


def test_long_reduction_bound_grows_with_k():
    # K = 300 is 19 reduction steps; the fp16/bf16 bounds must still hold without slack.
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        _verify(9, 300, 5, "tanh", dtype, seed=8)


def test_leading_dims_and_non_contiguous_inputs():
    gen = torch.Generator().manual_seed(3)
    k, n = 20, 13
    x_base = torch.randn(3, 5, 2 * k, generator=gen).to(DEVICE)
    x = x_base[..., ::2]  # [3, 5, k] with stride 2 along k; flattens to a strided view
    w = (torch.randn(k, n, generator=gen) / math.sqrt(k)).to(DEVICE).t()  # [n, k], column-major
    b = torch.randn(3 * n, generator=gen).to(DEVICE)[::3]
    dy = torch.randn(3, 5, 2 * n, generator=gen).to(DEVICE)[..., 1::2]
    assert not (x.is_contiguous() or w.is_contiguous() or b.is_contiguous() or dy.is_contiguous())
    got = _run(x, w, b, dy, "gelu")
    assert got["y"].shape == (3, 5, n) and got["dx"].shape == x.shape
    x2, dy2 = x.reshape(-1, k), dy.reshape(-1, n)
    o = _oracle(x2, w, b, dy2, "gelu", 0.0)
    _check(got, o, _bounds(x2, w, b, dy2, o, "gelu", 0.0, torch.float32, False), "strided")


def test_one_dimensional_x():
    x, w, b, dy = _inputs(1, 24, 10, torch.float16, seed=14)
    got = _run(x[0], w, b, dy[0], "silu")
    assert got["y"].shape == (10,) and got["dx"].shape == (24,)
    o = _oracle(x, w, b, dy, "silu", 0.0)
    _check(got, o, _bounds(x, w, b, dy, o, "silu", 0.0, torch.float16, False), "1-D x")


def test_transposed_x_and_broadcast_gradient():
    # x = x_t.t() has stride 1 along M; y.sum() sends back a gradient with strides (0, 0).
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(24, 17, generator=gen).to(DEVICE).t()  # [17, 24]
    w, b = torch.randn(9, 24, generator=gen).to(DEVICE) / 5, torch.randn(9, generator=gen).to(DEVICE)
    xg, wg, bg = (t.clone().requires_grad_() for t in (x, w, b))  # clone keeps the strides
    assert xg.stride() == (1, 17)
    y = linear_act(xg, wg, bg, "sigmoid")
    y.sum().backward()
    got = {"y": y.detach(), "dx": xg.grad, "dw": wg.grad, "db": bg.grad}
    ones = torch.ones(17, 9, device=DEVICE)
    o = _oracle(x, w, b, ones, "sigmoid", 0.0)
    _check(got, o, _bounds(x, w, b, ones, o, "sigmoid", 0.0, torch.float32, False), "transposed")


@pytest.mark.parametrize("layout", ["broadcast", "transposed", "sliced"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=["fp32", "fp16", "bf16"])
@pytest.mark.parametrize("activation,slope,recompute", [
    ("identity", 0.01, False), ("relu", 0.0, False), ("leaky_relu", -0.5, False), ("gelu", 0.0, False),
    ("gelu", 0.0, True), ("relu", 0.0, True),
], ids=["dy", "y", "g-negative-slope", "g", "recompute-gelu", "recompute-relu"])
def test_every_saved_tensor_mode_with_non_contiguous_dy(activation, slope, recompute, dtype, layout):
    # The δ pass reads dy through its strides: (0, 0) as from y.sum(), column-major, every other column.
    x, w, b, _ = _inputs(19, 21, 18, dtype, seed=15)
    gen = torch.Generator(device=DEVICE).manual_seed(16)
    dy = {"broadcast": lambda: torch.ones((), device=DEVICE, dtype=dtype).expand(19, 18),
          "transposed": lambda: torch.randn(18, 19, generator=gen, device=DEVICE).to(dtype).t(),
          "sliced": lambda: torch.randn(19, 40, generator=gen, device=DEVICE).to(dtype)[:, 1:37:2]}[layout]()
    assert not dy.is_contiguous()
    got = _run(x, w, b, dy, activation, negative_slope=slope, recompute=recompute)
    o = _oracle(x, w, b, dy, activation, slope)
    _check(got, o, _bounds(x, w, b, dy, o, activation, slope, dtype, False), f"{activation} {layout} dy")


@pytest.mark.parametrize("needs", [(True, False, True), (False, True, False), (False, False, True)],
                         ids=["x+b", "w", "b-only"])
def test_only_requested_gradients(needs):
    x, w, b, dy = _inputs(21, 18, 19, torch.float32, seed=9)
    leaves = [t.clone().requires_grad_(r) for t, r in zip((x, w, b), needs)]
    y = linear_act(*leaves, "tanh")
    y.backward(dy)
    o = _oracle(x, w, b, dy, "tanh", 0.0)
    bound = _bounds(x, w, b, dy, o, "tanh", 0.0, torch.float32, False)
    got = {"y": y.detach()} | {k: t.grad for k, t in zip(("dx", "dw", "db"), leaves) if t.requires_grad}
    _check(got, o, bound, f"needs={needs}")
    assert all((t.grad is None) != r for t, r in zip(leaves, needs))


def test_without_grad_the_same_output_and_no_graph():
    x, w, b, _ = _inputs(20, 16, 17, torch.float32, seed=11)
    with torch.no_grad():
        y0 = linear_act(x, w.requires_grad_(), b, "gelu")
    assert y0.grad_fn is None
    y1 = linear_act(x, w, b, "gelu")
    assert torch.equal(y0, y1.detach())


@pytest.mark.parametrize("activation,recompute,kept", [
    ("identity", False, None), ("relu", False, "y"), ("leaky_relu", False, "y"), ("gelu", False, "g"),
    ("gelu", True, None), ("relu", True, None),
])
def test_what_the_backward_keeps(activation, recompute, kept):
    x, w, b, _ = _inputs(8, 16, 12, torch.float32, seed=12)
    y = linear_act(x, w.requires_grad_(), b, activation, recompute=recompute)
    saved = y.grad_fn.next_functions[0][0].saved_tensors  # behind the view to [..., N]
    assert saved[0] is not None and saved[1] is not None
    if kept is None:
        assert saved[3] is None
    elif kept == "y":  # the output itself: no extra memory
        assert saved[3].data_ptr() == y.data_ptr()
    else:
        assert saved[3].shape == y.shape and saved[3].data_ptr() != y.data_ptr()


def test_empty_batch():
    x = torch.empty(0, 7, device=DEVICE, requires_grad=True)
    w = torch.randn(5, 7, device=DEVICE, requires_grad=True)
    b = torch.randn(5, device=DEVICE, requires_grad=True)
    y = linear_act(x, w, b, "silu")
    assert y.shape == (0, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 7)
    assert torch.equal(w.grad, torch.zeros_like(w)) and torch.equal(b.grad, torch.zeros_like(b))


def test_bounds_catch_a_wrong_result():
    """The bounds have teeth: dropping the bias, the wrong activation or a perturbed gradient fails."""
    x, w, b, dy = _inputs(17, 19, 16, torch.bfloat16, seed=13)
    o = _oracle(x, w, b, dy, "gelu", 0.0)
    bound = _bounds(x, w, b, dy, o, "gelu", 0.0, torch.bfloat16, False)
    good = _run(x, w, b, dy, "gelu")
    _check(good, o, bound)
    for bad in (_run(x, w, b * 0, dy, "gelu"), _run(x, w, b, dy, "gelu_tanh")):
        with pytest.raises(AssertionError):
            _check(bad, o, bound)
    nudged = dict(good, dw=good["dw"].clone())
    nudged["dw"][3, 4] += 0.05 * good["dw"].abs().max()
    with pytest.raises(AssertionError):
        _check(nudged, o, bound)


# ---------------------------------------------------------------------------------------------
# The two forward kernels: persistent with TMA (Hopper), portable (elsewhere, and unaligned inputs)
# ---------------------------------------------------------------------------------------------
class _Forbidden:
    """Stands in for a kernel that must not be launched."""

    def __init__(self, name):
        self.name = name

    def __getitem__(self, grid):
        raise AssertionError(f"{self.name} was launched")


@pytest.fixture
def forward_kernel(monkeypatch):
    """forward_kernel("tma" or "portable"): launch as on a GPU with TMA (under the interpreter,
    which emulates the descriptors), failing the test if the other forward kernel runs."""
    if torch.cuda.is_available() and torch.cuda.get_device_capability()[0] < 9:
        pytest.skip("TMA needs compute capability 9.0 or later")
    monkeypatch.setattr(la, "_tma_capable", lambda t: True)

    def expect(kind):
        other = "_linear_act_fwd_kernel" if kind == "tma" else "_linear_act_fwd_tma_kernel"
        monkeypatch.setattr(la, other, _Forbidden(other))

    return expect


@pytest.mark.parametrize("dtype,tf32", PRECISIONS[1:], ids=["tf32", "fp16", "bf16"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_tma_kernel_matches_oracle(activation, dtype, tf32, forward_kernel):
    # With 16-wide tiles: 53 rows = 4 row tiles (the last has 5 rows), 40 columns = 3 column tiles
    # (the last has 8: one of its two epilogue halves lies wholly outside y), K = 40 = 3 reduction
    # steps (the last half read as zeros): 12 tiles for 3 persistent programs.
    forward_kernel("tma")
    _verify(53, 40, 40, activation, dtype, tf32, seed=40 + ACTIVATIONS.index(activation))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["tf32", "bf16"])
@pytest.mark.parametrize("activation", ["relu", "gelu_tanh", "sigmoid"])
def test_tma_kernel_recompute_mode(activation, dtype, forward_kernel):
    forward_kernel("tma")
    _verify(37, 24, 24, activation, dtype, tf32=True, seed=50 + ACTIVATIONS.index(activation), recompute=True)
    _verify(5, 8, 8, activation, dtype, tf32=True, seed=60, recompute=True, bias=False)  # one tile, 3 programs


@pytest.mark.parametrize("layout", ["broadcast", "transposed"])
def test_tma_kernel_recompute_reads_dy_through_its_strides(layout, forward_kernel):
    forward_kernel("tma")
    x, w, b, _ = _inputs(19, 24, 24, torch.bfloat16, seed=17)
    dy = (torch.full((), 0.75, device=DEVICE, dtype=torch.bfloat16).expand(19, 24) if layout == "broadcast"
          else torch.randn(24, 19, generator=torch.Generator(device=DEVICE).manual_seed(18), device=DEVICE)
          .to(torch.bfloat16).t())
    got = _run(x, w, b, dy, "gelu", recompute=True)
    o = _oracle(x, w, b, dy, "gelu", 0.0)
    _check(got, o, _bounds(x, w, b, dy, o, "gelu", 0.0, torch.bfloat16, False), f"{layout} dy")


@pytest.mark.parametrize("dtype,tf32", PRECISIONS[1:], ids=["tf32", "fp16", "bf16"])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "gelu_tanh", "sigmoid"])  # δ from y, y, g, g
def test_fused_dx_forms_delta_inside_the_matmul(activation, dtype, tf32, forward_kernel, monkeypatch):
    # On a GPU with TMA, dx = δ W takes δ = dy σ'(ξ) from the dy and y or g tiles it loads (no δ
    # pass), writes δ for dW and db's partial sums: 53 rows = 4 row tiles (the last partial), N = 40
    # = 3 reduction steps (the last half zeros), K = 40 = 3 column tiles of dx, 3 programs.
    forward_kernel("tma")
    monkeypatch.setattr(la, "_linear_act_delta_kernel", _Forbidden("_linear_act_delta_kernel"))
    _verify(53, 40, 40, activation, dtype, tf32, seed=70 + ACTIVATIONS.index(activation))


def test_fused_dx_with_a_frozen_weight_and_no_bias(forward_kernel, monkeypatch):
    # Neither dW nor db: the kernel writes dx alone (no δ stored, no partials).
    forward_kernel("tma")
    monkeypatch.setattr(la, "_linear_act_delta_kernel", _Forbidden("_linear_act_delta_kernel"))
    x, w, _, dy = _inputs(37, 24, 40, torch.bfloat16, seed=80)
    leaf = x.detach().requires_grad_()
    y = linear_act(leaf, w, None, "gelu_tanh")
    y.backward(dy)
    o = _oracle(x, w, None, dy, "gelu_tanh", 0.01)
    bound = _bounds(x, w, None, dy, o, "gelu_tanh", 0.01, torch.bfloat16, False)
    _check({"y": y.detach(), "dx": leaf.grad}, o, bound, "frozen weight, no bias")


def test_fused_dx_is_off_where_it_does_not_apply(forward_kernel, monkeypatch):
    # identity (δ = dy: nothing to form), IEEE float32 products, and the switch: the δ pass and cuBLAS
    # (the fixture alone: as on a GPU with TMA, either forward kernel).
    monkeypatch.setattr(la, "_linear_act_dx_tma_kernel", _Forbidden("_linear_act_dx_tma_kernel"))
    _verify(21, 24, 24, "identity", torch.bfloat16, seed=81)
    _verify(21, 24, 24, "relu", torch.float32, tf32=False, seed=82)
    monkeypatch.setattr(la, "_FUSED_DX", False)
    _verify(21, 24, 24, "relu", torch.bfloat16, seed=83)


def _verify_tensors(x, w, b, activation, dtype, what):
    dy = torch.randn(x.shape[0], w.shape[0], generator=torch.Generator(device=DEVICE).manual_seed(19),
                     device=DEVICE).to(dtype)
    got = _run(x, w, b, dy, activation)
    o = _oracle(x, w, b, dy, activation, 0.0)
    _check(got, o, _bounds(x, w, b, dy, o, activation, 0.0, dtype, False), what)


def test_tma_kernel_takes_rows_that_are_not_contiguous(forward_kernel):
    # x a column slice of a wider tensor: row starts 16-byte aligned apart, unit stride along a row.
    forward_kernel("tma")
    x, w, b, _ = _inputs(21, 48, 24, torch.float16, seed=20)
    _verify_tensors(x[:, :40], w[:, :40], b, "silu", torch.float16, "sliced rows")


@pytest.mark.parametrize("case", ["odd K", "odd N", "shifted start", "column-major W", "IEEE float32",
                                  "broadcast x"])
def test_the_portable_kernel_takes_what_tma_cannot_address_and_ieee_float32(case, forward_kernel):
    forward_kernel("portable")
    dtype = torch.float32 if case == "IEEE float32" else torch.bfloat16
    m, k, n = 19, {"odd K": 36}.get(case, 40), {"odd N": 20}.get(case, 24)  # 72 and 40 bytes: not 16-aligned
    x, w, b, _ = _inputs(m, k + 8, n, dtype, seed=21)
    x = x[:, 1:k + 1] if case == "shifted start" else x[:, :k]  # starts 2 bytes past an aligned address
    if case == "broadcast x":  # one row for all: row stride 0
        x = x[:1].expand(m, k)
    w = w[:, :k].t().contiguous().t() if case == "column-major W" else w[:, :k].contiguous()
    _verify_tensors(x, w, b, "gelu_tanh", dtype, case)


# ---------------------------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------------------------
def test_fused_linear_is_initialised_like_nn_linear():
    for bias in (True, False):
        torch.manual_seed(21)
        plain = torch.nn.Linear(40, 24, bias=bias)
        torch.manual_seed(21)
        fused = FusedLinear(40, 24, bias=bias, activation="gelu")
        assert [(k, v.shape) for k, v in fused.state_dict().items()] == \
               [(k, v.shape) for k, v in plain.state_dict().items()]
        for (_, a), (_, c) in zip(fused.named_parameters(), plain.named_parameters()):
            assert torch.equal(a, c)
    assert "activation='gelu'" in repr(fused)


def test_state_dict_round_trip_with_sequential_linear_relu():
    torch.manual_seed(22)
    seq = torch.nn.Sequential(torch.nn.Linear(18, 11), torch.nn.ReLU()).to(DEVICE)
    fused = FusedLinear(18, 11, device=DEVICE)
    # nn.Sequential prefixes the layer index: "0.weight", "0.bias"; the tensors move as they are.
    fused.load_state_dict({k.removeprefix("0."): v for k, v in seq.state_dict().items()})
    for name in ("weight", "bias"):
        assert torch.equal(getattr(fused, name), getattr(seq[0], name))
    x, _, _, dy = _inputs(9, 18, 11, torch.float32, seed=23)
    xg = x.clone().requires_grad_()
    y = fused(xg)
    y.backward(dy)
    got = {"y": y.detach(), "dx": xg.grad, "dw": fused.weight.grad, "db": fused.bias.grad}
    w, b = seq[0].weight.detach(), seq[0].bias.detach()
    o = _oracle(x, w, b, dy, "relu", 0.0)
    _check(got, o, _bounds(x, w, b, dy, o, "relu", 0.0, torch.float32, False), "FusedLinear")
    with torch.no_grad():  # and back, after the fused layer's parameters change
        fused.weight.mul_(-0.5)
        fused.bias.add_(1.0)
    seq.load_state_dict({f"0.{k}": v for k, v in fused.state_dict().items()})
    assert torch.equal(seq[0].weight, fused.weight) and torch.equal(seq[0].bias, fused.bias)


def test_fused_linear_dtype_and_device_arguments():
    layer = FusedLinear(8, 4, bias=False, activation="leaky_relu", device=DEVICE, dtype=torch.bfloat16,
                        negative_slope=0.1)
    assert layer.weight.dtype == torch.bfloat16 and layer.bias is None
    assert "negative_slope=0.1" in repr(layer)
    x = torch.randn(3, 2, 8, device=DEVICE, dtype=torch.bfloat16)
    y = layer(x)
    assert y.shape == (3, 2, 4) and y.dtype == torch.bfloat16
    x2, w, ones = x.reshape(6, 8), layer.weight.detach(), torch.ones(6, 4, device=DEVICE)
    o = _oracle(x2, w, None, ones, "leaky_relu", 0.1)
    _check({"y": y.detach()}, o, _bounds(x2, w, None, ones, o, "leaky_relu", 0.1, torch.bfloat16, False))


# ---------------------------------------------------------------------------------------------
# Errors before launch, precision flag, block configurations
# ---------------------------------------------------------------------------------------------
def _bad_calls():
    x = torch.randn(4, 6, device=DEVICE)
    w = torch.randn(3, 6, device=DEVICE)
    b = torch.randn(3, device=DEVICE)
    meta_w = torch.empty(3, 6, device="meta")
    return [
        ((x.tolist(), w), {}, TypeError, "x must be a torch.Tensor"),
        ((x, w[0]), {}, ValueError, "weight must be 2-D"),
        ((x, w[:, :5]), {}, ValueError, r"x must have shape \[\.\.\., 5\]"),
        ((x[0, 0], w), {}, ValueError, "x must have shape"),
        ((x, w[:0]), {}, ValueError, "positive out_features"),
        ((x, w, b[:2]), {}, ValueError, r"bias must have shape \[3\]"),
        ((x.double(), w.double()), {}, TypeError, "x must be float32, float16 or bfloat16"),
        ((x, w.half()), {}, TypeError, "weight must have x's dtype"),
        ((x, w, b.half()), {}, TypeError, "bias must have x's dtype"),
        ((x, meta_w), {}, ValueError, "weight must be on x's device"),
        ((torch.empty(4, 6, device="meta"), meta_w), {}, ValueError, "x must be a CUDA tensor"),
        ((x, w, b, "swish"), {}, ValueError, "activation must be one of"),
        ((x, w, b, 3), {}, TypeError, "activation must be a str"),
        ((x, w), {"negative_slope": "0.1"}, TypeError, "negative_slope must be a real number"),
        ((x, w), {"allow_tf32": 1}, TypeError, "allow_tf32 must be None or a bool"),
        ((x, w), {"recompute": None}, TypeError, "recompute must be a bool"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_calls())))
def test_bad_input_raises_before_launch(case, monkeypatch):
    def no_launch(*args, **kwargs):
        raise AssertionError("a kernel was launched")

    monkeypatch.setattr(la, "_forward", no_launch)
    args, kwargs, error, message = _bad_calls()[case]
    with pytest.raises(error, match=message):
        linear_act(*args, **kwargs)


def test_bad_module_activation():
    with pytest.raises(ValueError, match="activation must be one of"):
        FusedLinear(4, 4, activation="softmax")


@pytest.mark.parametrize("args,kwargs,error,message", [
    ((0, 4), {}, ValueError, "in_features must be positive, got 0"),
    ((8, -1), {}, ValueError, "out_features must be positive, got -1"),
    ((8.0, 4), {}, TypeError, "in_features must be an int, got float"),
    ((8, True), {}, TypeError, "out_features must be an int, got bool"),
    ((8, 4), {"dtype": torch.float64}, TypeError, "dtype must be .*, got torch.float64"),
])
def test_bad_module_arguments_raise_at_construction(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        FusedLinear(*args, **kwargs)


def test_module_dtype_defaults_to_torchs_and_is_checked():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with pytest.raises(TypeError, match="got torch.float64"):
            FusedLinear(8, 4)
    finally:
        torch.set_default_dtype(old)
    assert FusedLinear(8, 4).weight.dtype == old


@pytest.mark.skipif(torch.cuda.is_available(), reason="the package chooses the interpreter only without a GPU")
def test_interpreter_chosen_at_import_without_a_gpu():
    # A user who sets TRITON_INTERPRET=1 after the import (too late for Triton) still gets a result.
    code = ("import os, torch, triton_kernels as tk\n"
            "assert os.environ['TRITON_INTERPRET'] == '1' and os.environ['TRITON_DEFAULT_FP_FUSION'] == '1'\n"
            "os.environ['TRITON_INTERPRET'] = '1'\n"
            "print(tk.linear_act(torch.ones(2, 3), torch.ones(4, 3)).sum().item())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "TRITON_DEFAULT_FP_FUSION")}
    proc = subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "24.0"


def _cublas_tf32_settings():
    """(attribute, value allowing TF32, value forbidding it) of the cuBLAS setting this torch has."""
    try:
        torch.backends.cuda.matmul.fp32_precision
        return "fp32_precision", "tf32", "ieee"
    except AttributeError:  # torch < 2.9
        return "allow_tf32", True, False


def test_tf32_flag_follows_torch_unless_given():
    assert la._input_precision(torch.float32, True) == "tf32"
    assert la._input_precision(torch.float32, False) == "ieee"
    # Set and restore torch's setting by hand: torch.backends.cuda.matmul serves it through
    # __getattr__, which pytest's monkeypatch (9.x) takes for a missing attribute and deletes on undo.
    matmul = torch.backends.cuda.matmul
    name, allow, forbid = _cublas_tf32_settings()
    saved = getattr(matmul, name)
    try:
        for value, expected in ((allow, "tf32"), (forbid, "ieee")):
            setattr(matmul, name, value)
            assert la._input_precision(torch.float32, None) == expected
    finally:
        setattr(matmul, name, saved)
    assert getattr(matmul, name) == saved
    assert la._input_precision(torch.bfloat16, False) == "tf32"  # 16-bit products are exact anyway


def _prune(rows, cols, red, dtype, tma=False, epilogue="y", precision="tf32"):
    configs = la._configs(la._TMA_TILES if tma else la._PORTABLE_TILES, tma)
    x = torch.empty(1, dtype=dtype)
    operand = {"x_desc": types.SimpleNamespace(base=x)} if tma else {"x_ptr": x}
    return la._pruner(tma)(configs, {"M": rows, "N": cols, "K": red, **operand}, EPILOGUE=epilogue,
                           INPUT_PRECISION=precision)


def _tiles(configs):
    return [(c.kwargs["BLOCK_M"], c.kwargs["BLOCK_N"], c.kwargs["BLOCK_K"], c.num_stages, c.num_warps)
            for c in configs]


@pytest.mark.parametrize("tma", [False, True], ids=["portable", "tma"])
def test_small_problems_get_one_config_without_autotuning(tma):
    # The 8x8-digits MLP 64 -> 128 -> 10 on a full batch: the smallest tile, nothing to benchmark.
    smallest = (la._TMA_TILES if tma else la._PORTABLE_TILES)[-1]
    for rows, cols, red in ((1797, 128, 64), (1797, 10, 128), (1, 1, 1)):
        for dtype in (torch.float32, torch.bfloat16):
            assert _tiles(_prune(rows, cols, red, dtype, tma)) == [smallest]


def test_large_problems_autotune_over_tiles_that_fit_shared_memory():
    bf16 = _prune(8192, 4096, 4096, torch.bfloat16)
    fp32 = _prune(8192, 4096, 4096, torch.float32)
    assert len(bf16) == len(la._PORTABLE_TILES)  # every portable tile fits in bf16
    assert 1 < len(fp32) < len(bf16)  # the 3-stage 128x256x64 float32 tiles do not
    for cfg in fp32:
        kw = cfg.kwargs
        assert cfg.num_stages * (kw["BLOCK_M"] + kw["BLOCK_N"]) * kw["BLOCK_K"] * 4 <= la._SMEM_BYTES
    # a narrow output keeps only tiles no wider than it
    assert all(cfg.kwargs["BLOCK_N"] <= 64 for cfg in _prune(8192, 64, 4096, torch.bfloat16))


@pytest.mark.parametrize("epilogue", ["y", "y+g", "delta"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_tma_tiles_count_their_store_buffers_and_load_whole_lines(dtype, epilogue):
    kept = _prune(8192, 4096, 4096, dtype, tma=True, epilogue=epilogue)
    elem = dtype.itemsize
    # Each tile once, its loops flattened except for "y+g" (which spills so with triton 3.6).
    assert len(set(_tiles(kept))) == len(kept) and {c.kwargs["FLATTEN"] for c in kept} == {epilogue != "y+g"}
    for cfg in kept:
        bm, bn, bk, stages, warps = _tiles([cfg])[0]
        parts = cfg.kwargs["EPI_SPLIT"]  # the epilogue's halves or quarters: stores (and dy)
        staged = (2 if epilogue == "delta" else 1) * bm * bn // parts * elem
        # Programs sharing an SM share its shared memory and registers.
        per_sm = cfg.kwargs["PER_SM"]
        assert stages * (bm + bn) * bk * elem + staged <= la._SMEM_BYTES / per_sm
        assert (cfg.maxnreg or 256) * 32 * warps * per_sm <= 65536 * (1 if per_sm > 1 else 2)
        assert bk * elem >= 128  # bf16 drops the 32-deep tiles, float32 keeps them
    # Two programs an SM: a 128x128 bf16 tile at 3 stages fits twice with its epilogue in quarters,
    # in registers for y alone.
    assert any(cfg.kwargs["PER_SM"] == 2 for cfg in kept) == (epilogue == "y" and dtype == torch.bfloat16)
    # Epilogues with a second tile (y and σ', or δ and dy) spill with 128 accumulators a thread,
    # unless the TMA epilogue takes the tile in quarters.
    widest = (128, 256, 64 if dtype == torch.bfloat16 else 32, 3, 8)
    assert (widest in _tiles(kept)) == (epilogue == "y")
    # In quarters, a fourth stage (or a 128-deep second) fits beside the 128x256 bf16 tile, with
    # one quarter-tile store buffer (δ's second one, for dy, does not fit).
    deep = {(128, 256, 64, 4, 8), (128, 256, 128, 2, 8)}
    assert (deep <= set(_tiles(kept))) == (epilogue != "delta" and dtype == torch.bfloat16)
    for tma in (False, True):
        if epilogue != "y":
            configs = _prune(8192, 4096, 4096, dtype, tma=tma, epilogue=epilogue)
            halves = [c for c in configs if c.kwargs.get("EPI_SPLIT", 2) == 2]
            assert halves and all(bm * bn // (32 * warps) <= 64 for bm, bn, _, _, warps in _tiles(halves))


@pytest.mark.parametrize("epilogue", ["y", "y+g", "delta"])
def test_ieee_tiles_count_the_operands_a_thread_holds(epilogue):
    # IEEE float32 products run on the CUDA cores with both operand slices in registers: 64x128x64
    # on 4 warps holds 160 values a thread and spills, 64x128x32 on 8 warps holds 56.
    kept = _tiles(_prune(8192, 4096, 4096, torch.float32, epilogue=epilogue, precision="ieee"))
    assert (64, 128, 32, 4, 8) in kept and (64, 128, 64, 4, 4) not in kept
    assert all((bm * bn + (bm + bn) * bk) // (32 * warps) <= 64 for bm, bn, bk, _, warps in kept)
    assert (64, 128, 64, 4, 4) in _tiles(_prune(8192, 4096, 4096, torch.float32, epilogue=epilogue))  # TF32


# ---------------------------------------------------------------------------------------------
# GPU: the Hopper tiles themselves (the interpreter runs a single 16-wide config)
# ---------------------------------------------------------------------------------------------
def _verify_sampled(m, k, n, activation, dtype, tf32, seed, rows, cols, **kwargs):
    """_verify for problems too large for the pure-Python oracle over every element: y and dx are
    checked on the given rows, y, dW and db on the given columns (empty: skip)."""
    x, w, b, dy = _inputs(m, k, n, dtype, seed)
    got = _run(x, w, b, dy, activation, allow_tf32=tf32, **kwargs)
    what = f"{activation} {dtype} tf32={tf32} {(m, k, n)}"
    if rows:
        o = _oracle(x[rows], w, b, dy[rows], activation, 0.01)
        bound = _bounds(x[rows], w, b, dy[rows], o, activation, 0.01, dtype, tf32)
        _check({"y": got["y"][rows], "dx": got["dx"][rows]}, o, bound, what + f" rows {rows}")
    if cols:
        o = _oracle(x, w[cols], b[cols], dy[:, cols], activation, 0.01)
        bound = _bounds(x, w[cols], b[cols], dy[:, cols], o, activation, 0.01, dtype, tf32)
        _check({"y": got["y"][:, cols], "dw": got["dw"][cols], "db": got["db"][cols]}, o, bound,
               what + f" columns {cols}")


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("activation,dtype,tf32,recompute", [
    ("gelu_tanh", torch.float32, False, False), ("relu", torch.float32, True, False),
    ("silu", torch.float16, None, False), ("gelu_tanh", torch.bfloat16, None, False),
    ("sigmoid", torch.bfloat16, None, True),
], ids=["fp32", "tf32", "fp16", "bf16", "bf16-recompute"])
@pytest.mark.parametrize("m,k,n", [(641, 513, 513), (256, 2048, 384), (641, 1024, 520)])
def test_gpu_autotuned_tiles(m, k, n, activation, dtype, tf32, recompute):
    # Over 2^27 multiply-adds, so the autotuner runs the Hopper tiles: 641 = 5 x 128 + 1 and
    # 513 = 2 x 256 + 1 leave one-element edge tiles; the last row and column are always checked.
    # K = 513 takes the portable kernel (rows of 513 elements are not 16-byte multiples), the
    # others the TMA kernel on Hopper (520 = 2 x 256 + 8: an edge tile with one empty half).
    _verify_sampled(m, k, n, activation, dtype, tf32, seed=31, rows=[0, m // 3, m - 1],
                    cols=[1, n // 2, n - 1], recompute=recompute)


@pytest.mark.gpu
@pytest.mark.xdist_group("device_memory")
@requires_cuda
@pytest.mark.parametrize("tma", [True, False], ids=["tma", "portable"])
def test_gpu_64_bit_offsets(tma, monkeypatch):
    # M K = M N > 2^31 elements: rows past the 2^31st element need 64-bit offsets in every kernel.
    if not tma:
        monkeypatch.setattr(la, "_tma_capable", lambda t: False)
    elif torch.cuda.get_device_capability()[0] < 9:
        pytest.skip("TMA needs compute capability 9.0 or later")
    dtype = torch.bfloat16
    m = 2 ** 21 + 3
    _verify_sampled(m, 1024, 1024, "relu", dtype, None, seed=33, rows=[0, m // 2, m - 2, m - 1], cols=[])



def test_training_step_allocates_no_zero_gradient_for_g(large_outputs):
    """σ'(ξ) (g) is an output that gets no gradient: autograd is told not to fill one of zeros, an
    [M, N] buffer and a pass in every backward."""
    m, k, n = 40, 16, 24
    gen = torch.Generator(device=DEVICE).manual_seed(41)
    x = torch.randn(m, k, device=DEVICE, generator=gen, requires_grad=True)
    w = torch.randn(n, k, device=DEVICE, generator=gen, requires_grad=True)
    b = torch.randn(n, device=DEVICE, generator=gen, requires_grad=True)
    dy = torch.randn(m, n, device=DEVICE, generator=gen)
    with large_outputs(m * n) as seen:
        torch.autograd.grad(linear_act(x, w, b, activation="gelu"), (x, w, b), dy)
    assert ("aten.zeros", (m, n)) not in seen.seen and ("aten.zeros_like", (m, n)) not in seen.seen
    assert seen.seen[0] == ("oracle_kernels.linear_act", (m, n))  # y, then g


@pytest.mark.parametrize("epilogue", ["y", "y+g", "delta"])
@pytest.mark.parametrize("kind", ["tma", "portable"])
def test_forward_traffic_is_what_the_launches_report(launch_metadata, monkeypatch, kind, epilogue):
    monkeypatch.setattr(la, "_tma_capable", lambda t: kind == "tma")  # nothing runs: the launch is recorded
    reports = launch_metadata(la, "_linear_act_fwd_tma_kernel" if kind == "tma" else "_linear_act_fwd_kernel")
    m, k, n = 48, 32, 64
    x, w, b, dy = _inputs(m, k, n, torch.bfloat16, 0)
    la._forward(x, w, b if epilogue != "delta" else None, "gelu", 0.01, "tf32", epilogue,
                dy=dy if epilogue == "delta" else None)
    (report,) = reports
    bias = epilogue != "delta"
    assert report["bytes"] == la.traffic(m, k, n, 2, epilogue=epilogue, bias=bias) == 2 * (
        m * k + n * k + n * bias + m * n * (1 if epilogue == "y" else 2))
    assert report["flops16"] == 2 * m * n * k
    with pytest.raises(ValueError, match="epilogue"):
        la.traffic(m, k, n, 2, epilogue="g")


def test_the_delta_pass_caps_registers_where_rows_allow_no_vector_access(monkeypatch):
    # N not a multiple of 16: an address an element; capped so that two programs share an SM,
    # where ptxas left alone (triton 3.6) spills the 16-bit variants (compile_check)
    launches = []

    class Recorder:
        def __getitem__(self, grid):
            return lambda *args, **kwargs: launches.append(kwargs)

    monkeypatch.setattr(la, "_linear_act_delta_kernel", Recorder())
    for n in (64, 60):
        dy, aux = torch.randn(48, n).to(torch.float16), torch.randn(48, n).to(torch.float16)
        la._delta_and_db(dy, aux, 0.01, "g", True, True)
    warps = la._DELTA_TILE[2]
    assert [kw["maxnreg"] for kw in launches] == [None, min(255, 65536 // (2 * 32 * warps) // 8 * 8)]  # GPU: 128


@pytest.mark.parametrize("source,need_delta,need_db", [("g", True, True), ("y", True, False), ("dy", False, True)])
def test_backward_traffic_is_what_the_launches_report(launch_metadata, source, need_delta, need_db):
    m, k, n = 48, 32, 64
    x, w, b, dy = _inputs(m, k, n, torch.bfloat16, 0)
    aux = torch.randn(m, n).to(torch.bfloat16)
    reports = launch_metadata(la, "_linear_act_delta_kernel")
    la._delta_and_db(dy, aux, 0.01, source, need_delta, need_db)
    (delta,) = reports
    tensors = 1 + (source != "dy") + (need_delta and source != "dy")  # dy, y or g, δ
    partials = delta["bytes"] - m * n * tensors * 2  # db's float32 partial rows
    assert partials % (4 * n) == 0 and (partials > 0) == need_db
    if source == "dy":
        return  # the fused dx kernel forms δ from y or g
    reports.clear()
    launch_metadata(la, "_linear_act_dx_tma_kernel")
    la._dx_fused(dy, aux, w, 0.01, source, "tf32", need_delta, need_db)
    (dx,) = reports
    elements = m * n * (2 + need_delta) + n * k + m * k
    assert dx["flops16"] == 2 * m * n * k
    partials = dx["bytes"] - elements * 2
    assert partials % (4 * n) == 0 and (partials > 0) == need_db
