"""The kernels as torch.library custom operators (namespace ``oracle_kernels``): opcheck on each
operator, torch.compile(fullgraph=True) of a training step (through the operators) against eager
(which runs their implementations directly), autocast, CUDA graphs.

Without a GPU the operators run under the Triton interpreter on CPU, and torch.compile uses the
aot_eager backend (inductor's C++ build takes most of a minute per graph there); the tests marked
gpu repeat them on CUDA, with inductor.
"""
import pytest
import torch
from torch.library import opcheck

import triton_kernels as tk

HAS_CUDA = torch.cuda.is_available()
ops = torch.ops.oracle_kernels


def _randn(*shape, device, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# opcheck: schema, fake implementation, autograd registration, AOT dispatch with dynamic shapes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation,slope,recompute,bias,dtype", [
    ("identity", 0.0, False, True, torch.float32), ("relu", 0.0, False, False, torch.float32),
    ("leaky_relu", -0.5, False, True, torch.bfloat16), ("gelu", 0.0, False, True, torch.float16),
    ("silu", 0.0, True, True, torch.float32),
], ids=["identity", "relu-no-bias", "leaky-negative-bf16", "gelu-fp16", "silu-recompute"])
def test_opcheck_linear_act(device, activation, slope, recompute, bias, dtype):
    x = _randn(5, 7, device=device, dtype=dtype).requires_grad_()
    w = _randn(6, 7, device=device, dtype=dtype, seed=1).requires_grad_()
    b = _randn(6, device=device, dtype=dtype, seed=2).requires_grad_() if bias else None
    for needs_grad in (True, False):
        opcheck(ops.linear_act, (x, w, b, activation, slope, "ieee", recompute, needs_grad))


@pytest.mark.parametrize("source,mask", [
    ("dy", [True, True, True]), ("y", [False, True, False]), ("g", [True, False, True]),
    ("recompute", [True, True, False]),
])
def test_opcheck_linear_act_backward(device, source, mask):
    x, w, b = _randn(5, 7, device=device), _randn(6, 7, device=device, seed=1), _randn(6, device=device, seed=2)
    dy = _randn(6, 5, device=device, seed=3).t()  # transposed: any strides
    aux = _randn(5, 6, device=device, seed=4).abs() if source in ("y", "g") else None
    opcheck(ops.linear_act_backward, (dy, x, w, b, aux, "gelu" if source != "y" else "relu", 0.0, "ieee",
                                      source, mask))


_CE_OPTIONS = ("mean", -100, 0.1, 1e-3, 8)  # reduction, ignore_index, ε, z, block_v (8: chunked rows)


def _ce_inputs(device, soft=False, dtype=torch.float32):
    logits = _randn(6, 11, device=device, dtype=dtype, seed=6)
    if soft:
        target = torch.softmax(_randn(6, 11, device=device, seed=7), 1)
    else:
        target = torch.tensor([1, 0, -100, 3, 10, 2], device=device)
    return logits, target, _randn(11, device=device, seed=8).abs()


@pytest.mark.parametrize("reduction,soft,compute_grad,store_lse", [
    ("none", False, True, True), ("sum", True, True, True), ("mean", False, False, False),
    ("mean", False, True, True),
])
def test_opcheck_cross_entropy(device, reduction, soft, compute_grad, store_lse):
    logits, target, weight = _ce_inputs(device, soft, torch.bfloat16)
    logits.requires_grad_(compute_grad)  # as the public function calls it
    args = (logits, target, weight, reduction, *_CE_OPTIONS[1:], compute_grad, store_lse)
    # For "mean"/"sum" with compute_grad the gradient output is the buffer that the backward
    # completes in place (grad_output = 1 costs nothing). An AOT graph that returns it to the caller
    # as well is refused by the partitioner; the public function never returns it, and the compiled
    # step below runs the AOT dispatch through it.
    fused = compute_grad and reduction != "none"
    skip = ("test_aot_dispatch_dynamic",) if fused else ()
    opcheck(ops.cross_entropy, args,
            test_utils=[t for t in ("test_schema", "test_autograd_registration", "test_faketensor",
                                    "test_aot_dispatch_dynamic") if t not in skip])


@pytest.mark.parametrize("soft", [False, True], ids=["indices", "soft"])
def test_opcheck_cross_entropy_inplace(device, soft):
    logits, target, weight = _ce_inputs(device, soft)
    opcheck(ops.cross_entropy_inplace, (logits, target, weight, *_CE_OPTIONS, True))


@pytest.mark.parametrize("reduction,recompute,skip_if_one", [
    ("mean", True, True), ("sum", True, False), ("none", True, False), ("mean", False, False),
], ids=["mean-skip-if-one", "sum", "none", "rescale-in-place"])
def test_opcheck_cross_entropy_backward(device, reduction, recompute, skip_if_one):
    logits, target, weight = _ce_inputs(device)
    loss, lse, a_sum, consts, grad = ops.cross_entropy(logits, target, weight, reduction, *_CE_OPTIONS[1:],
                                                       reduction != "none", True)
    if reduction == "none":
        grad = torch.empty_like(logits)
    grad_output = _randn(6, device=device, seed=9) if reduction == "none" else torch.tensor(2.5, device=device)
    opcheck(ops.cross_entropy_backward, (grad, logits if recompute else None, target, weight, lse, a_sum, consts,
                                         grad_output, reduction, *_CE_OPTIONS[1:], skip_if_one))


# ---------------------------------------------------------------------------------------------
# torch.compile: the whole step in one graph, the eager numbers
# ---------------------------------------------------------------------------------------------
class _MLP(torch.nn.Module):
    """Three FusedLinear layers covering what the backward keeps: g (leaky_relu with a negative
    slope), nothing (recompute), y (relu); the middle one frozen."""

    def __init__(self, device):
        super().__init__()
        torch.manual_seed(0)
        self.layers = torch.nn.Sequential(
            tk.FusedLinear(12, 16, activation="leaky_relu", negative_slope=-0.2, device=device),
            tk.FusedLinear(16, 16, activation="gelu_tanh", recompute=True, device=device),
            tk.FusedLinear(16, 10, activation="relu", allow_tf32=False, device=device),
        )
        self.layers[1].weight.requires_grad_(False)

    def forward(self, x):
        return self.layers(x)


def _step(model, x, target, scale):
    # A loss scale other than 1 takes the backward that recomputes the gradient from the logits.
    return scale * tk.cross_entropy(model(x), target, label_smoothing=0.1, ignore_index=-100)


def _check_compiled_step(device, backend, scale):
    model = _MLP(device)
    x = _randn(9, 12, device=device, seed=5)
    target = torch.tensor([1, 0, -100, 3, 9, 9, 2, -100, 5], device=device)
    want = _step(model, x, target, scale)
    want.backward()
    want_grads = {name: p.grad for name, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    compiled = torch.compile(_step, fullgraph=True, backend=backend)  # fullgraph: a graph break raises
    got = compiled(model, x, target, scale)
    got.backward()
    # Every kernel is an opaque operator: the same launches, the same numbers, in either backend.
    assert torch.equal(got, want), (got, want)
    for name, p in model.named_parameters():
        assert (p.grad is None) == (name not in want_grads), name
        if p.grad is not None:
            assert torch.equal(p.grad, want_grads[name]), name


# ---------------------------------------------------------------------------------------------
# Eager calls run the implementations directly (the dispatcher costs more than short kernels);
# traced, faked or intercepted calls go through the operators
# ---------------------------------------------------------------------------------------------
def test_eager_calls_skip_the_operators(monkeypatch):
    def refuse(*args):
        raise AssertionError("an eager call went through the operator")

    for name in ("cross_entropy", "cross_entropy_inplace", "cross_entropy_backward", "linear_act",
                 "linear_act_backward"):
        monkeypatch.setattr(ops, name, refuse)
    device = "cuda" if HAS_CUDA else "cpu"
    model = _MLP(device)
    x = _randn(9, 12, device=device, seed=5)
    target = torch.tensor([1, 0, -100, 3, 9, 9, 2, -100, 5], device=device)
    _step(model, x, target, 3.0).backward()  # the forwards, then the backwards that recompute
    h = _randn(9, 10, device=device, seed=6).requires_grad_()
    tk.cross_entropy(h * 1, target, inplace_backward=True).backward()  # the in-place operator
    assert model.layers[0].weight.grad is not None and h.grad is not None


def test_fake_tensors_go_through_the_operators():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        y = tk.linear_act(torch.empty(9, 12), torch.empty(16, 12), torch.empty(16), "gelu")
        loss = tk.cross_entropy(torch.empty(9, 10), torch.zeros(9, dtype=torch.long), reduction="none")
    assert y.shape == (9, 16) and loss.shape == (9,)  # from the operators' fake implementations


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_compiled_training_step_aot_eager(scale):
    _check_compiled_step("cuda" if HAS_CUDA else "cpu", "aot_eager", scale)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_gpu_compiled_training_step_inductor(scale):
    _check_compiled_step("cuda", "inductor", scale)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_gpu_training_step_in_a_cuda_graph():
    """Forward and backward of both kernels captured once and replayed: no host synchronisation
    anywhere on the path, and the replay gives the eager loss and gradients."""
    model = _MLP("cuda")
    x = _randn(64, 12, device="cuda", seed=5)
    target = torch.randint(0, 10, (64,), device="cuda")
    target[::5] = -100

    def step():
        loss = _step(model, x, target, 2.0)
        loss.backward()
        return loss.detach()

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):  # warm-up on a side stream (Triton's compilation, autotuning)
        for _ in range(2):
            model.zero_grad(set_to_none=False)
            step()
    torch.cuda.current_stream().wait_stream(stream)
    model.zero_grad(set_to_none=False)  # .grad buffers kept: the graph accumulates into them
    want_loss = step()
    want = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    graph = torch.cuda.CUDAGraph()
    model.zero_grad(set_to_none=False)
    with torch.cuda.graph(graph):
        loss = step()
    model.zero_grad(set_to_none=False)
    graph.replay()
    torch.cuda.synchronize()
    assert torch.equal(loss, want_loss)
    for name, p in model.named_parameters():
        if name in want:
            assert torch.equal(p.grad, want[name]), name


# ---------------------------------------------------------------------------------------------
# Autocast
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_linear_act_under_autocast_casts_like_f_linear(device, dtype):
    x = _randn(6, 8, device=device)
    w = _randn(5, 8, device=device, seed=1).requires_grad_()
    b = _randn(5, device=device, seed=2).requires_grad_()
    with torch.autocast(device, dtype=dtype):
        y = tk.linear_act(x, w, b, "gelu")
        assert y.dtype == torch.nn.functional.linear(x, w, b).dtype == dtype
    assert torch.equal(y, tk.linear_act(x.to(dtype), w.to(dtype), b.to(dtype), "gelu"))
    y.float().sum().backward()
    assert w.grad.dtype == b.grad.dtype == torch.float32  # through the cast to the master weights


def test_mixed_dtypes_outside_autocast_name_them(device):
    x, w = _randn(6, 8, device=device, dtype=torch.bfloat16), _randn(5, 8, device=device)
    with pytest.raises(TypeError, match=r"weight must have x's dtype torch.bfloat16, got torch.float32"):
        tk.linear_act(x, w)


def test_cross_entropy_under_autocast_keeps_16_bit_logits():
    """torch runs its cross-entropy in float32 under autocast; these kernels take the 16-bit logits
    as they are (float32 inside), so the gradient stays 16-bit and nothing is copied."""
    device = "cuda" if HAS_CUDA else "cpu"
    logits, target, _ = _ce_inputs(device, dtype=torch.bfloat16)
    logits.requires_grad_()
    with torch.autocast(device, dtype=torch.bfloat16):
        loss = tk.cross_entropy(logits, target, label_smoothing=0.1)
    assert loss.dtype == torch.float32
    assert torch.equal(loss, tk.cross_entropy(logits, target, label_smoothing=0.1))
    loss.backward()
    assert logits.grad.dtype == torch.bfloat16
