"""The kernels as torch.library custom operators (namespace ``oracle_kernels``): opcheck on each
operator, torch.compile(fullgraph=True) of a training step against eager, autocast.

Without a GPU the operators run under the Triton interpreter on CPU, and torch.compile uses the
aot_eager backend (inductor's C++ build takes most of a minute per graph there); the tests marked
gpu repeat them on CUDA, with inductor.
"""
import pytest
import torch
from torch.library import opcheck

import triton_kernels as tk

HAS_CUDA = torch.cuda.is_available()
# The interpreter takes CPU tensors only when there is no GPU (the package chooses it at import).
DEVICES = [
    pytest.param("cpu", marks=pytest.mark.skipif(HAS_CUDA, reason="CPU tensors run under the interpreter only")),
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")]),
]
ops = torch.ops.oracle_kernels


def _randn(*shape, device, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# opcheck: schema, fake implementation, autograd registration, AOT dispatch with dynamic shapes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
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


@pytest.mark.parametrize("device", DEVICES)
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


def _step(model, x, target):
    return torch.nn.functional.cross_entropy(model(x), target, label_smoothing=0.1, ignore_index=-100)


def _check_compiled_step(device, backend):
    model = _MLP(device)
    x = _randn(9, 12, device=device, seed=5)
    target = torch.tensor([1, 0, -100, 3, 9, 9, 2, -100, 5], device=device)
    want = _step(model, x, target)
    want.backward()
    want_grads = {name: p.grad for name, p in model.named_parameters() if p.requires_grad}
    model.zero_grad(set_to_none=True)
    compiled = torch.compile(_step, fullgraph=True, backend=backend)  # fullgraph: a graph break raises
    got = compiled(model, x, target)
    got.backward()
    exact = backend == "aot_eager"  # the same kernels in the same order; inductor regroups torch's ops
    close = torch.equal if exact else lambda a, b: torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    assert close(got, want), (got, want)
    for name, p in model.named_parameters():
        assert (p.grad is None) == (name not in want_grads), name
        if p.grad is not None:
            assert close(p.grad, want_grads[name]), name


def test_compiled_training_step_aot_eager():
    _check_compiled_step("cuda" if HAS_CUDA else "cpu", "aot_eager")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_gpu_compiled_training_step_inductor():
    _check_compiled_step("cuda", "inductor")


# ---------------------------------------------------------------------------------------------
# Autocast
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
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


@pytest.mark.parametrize("device", DEVICES)
def test_mixed_dtypes_outside_autocast_name_them(device):
    x, w = _randn(6, 8, device=device, dtype=torch.bfloat16), _randn(5, 8, device=device)
    with pytest.raises(TypeError, match=r"weight must have x's dtype torch.bfloat16, got torch.float32"):
        tk.linear_act(x, w)
