"""Fused linear + activation benchmarks: this project against torch eager, torch.compile and cuBLAS.

y = act(x W^T + b), x [M, K], W [N, K] (nn.Linear layout), for (M, K, N):

    (16384, 1024, 4096), (8192, 4096, 4096)   LLM-sized MLP blocks
    (4096, 784, 1024)                          an MNIST-sized MLP layer
    (4096, 64, 128), (4096, 128, 10)           the digits MLP 64 -> 128 -> 10 (launch-bound)

Implementations: ``ours`` (triton_kernels.linear_act), ``portable`` (ours with the forward held
to the portable kernel where the GPU would take the TMA one: forward only, 16-bit and TF32, to time
the two side by side), ``eager`` (F.linear then the activation), ``compile`` (the same under
torch.compile), ``matmul`` (x @ W^T alone through cuBLAS, no bias, no activation: the time the
fused kernel tries to match, measured once per shape and dtype).
Precisions: bf16, tf32 (float32 storage, TF32 tensor cores allowed) and fp32 (IEEE; TF32 off).
Modes: fwd (under no_grad: inference), bwd (dx, dW, db from a retained graph), fwd+bwd.
"""
from __future__ import annotations

import contextlib
import importlib
import math
import sys

from . import autotuning, suite
from .metrics import DTYPE_BYTES, linear_bytes, linear_flops, torch_dtype
from .results import finite_or_text
from .runner import tf32_mode
from .suite import Job

SHAPES = ((16384, 1024, 4096), (8192, 4096, 4096), (4096, 784, 1024), (4096, 64, 128), (4096, 128, 10))
QUICK_SHAPES = ((8192, 4096, 4096), (4096, 784, 1024))
ACTIVATIONS = ("relu", "gelu_tanh")
DTYPES = ("bf16", "tf32", "fp32")
IMPLS = ("ours", "portable", "cublas_dx", "eager", "compile", "matmul")
MODES = ("fwd", "bwd", "fwd+bwd")
MATMUL_ACTIVATION = "none"  # the matmul rows serve every activation of their shape


# Every activation the kernels offer; the forward goal holds for each of them.
ALL_ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu")
GOAL_SHAPES = ((16384, 1024, 4096), (8192, 4096, 4096))
SMALL_GOAL_SHAPE = (4096, 784, 1024)


def configs(quick: bool, shapes=None, dtypes=None, activations=None, goals: bool = False) -> list[dict]:
    """One config per (dtype, shape) with its activations; ``impls`` and ``modes`` limit what is
    timed (all when absent).

    ``goals`` is the plan of ``python -m report gpu-check``: what the speed goals are judged on, at
    the least compile time (each activation and implementation is a separate compilation):
    the forward of every activation against the matmul alone at the two large shapes; forward +
    backward of relu and gelu_tanh against the three matmuls alone, eager and torch.compile
    there; forward + backward against eager at the small MLP shape.
    """
    if goals:
        dtypes = dtypes or ("bf16",)
        pair = ("relu", "gelu_tanh")
        rest = tuple(a for a in ALL_ACTIVATIONS if a not in pair)
        out = []
        for d in dtypes:
            for m, k, n in GOAL_SHAPES:
                out.append({"m": m, "k": k, "n": n, "dtype": d, "activations": pair, "modes": ("fwd", "fwd+bwd")})
                out.append({"m": m, "k": k, "n": n, "dtype": d, "activations": rest, "modes": ("fwd",),
                            "impls": ("ours",)})
            m, k, n = SMALL_GOAL_SHAPE
            out.append({"m": m, "k": k, "n": n, "dtype": d, "activations": pair, "modes": ("fwd+bwd",),
                        "impls": ("ours", "eager", "matmul")})
        return out
    shapes = shapes or (QUICK_SHAPES if quick else SHAPES)
    dtypes = dtypes or (("bf16",) if quick else DTYPES)
    activations = activations or (("relu",) if quick else ACTIVATIONS)
    return [{"m": m, "k": k, "n": n, "dtype": d, "activations": tuple(activations)}
            for d in dtypes for m, k, n in shapes]


# ----------------------------------------------------------------------------------------------
# The suite (see report.suite)
# ----------------------------------------------------------------------------------------------
SECTION = "linear_act"
MODE_KINDS = {"fwd": "inference", "bwd": "backward", "fwd+bwd": "forward+backward"}


def label(cfg: dict) -> str:
    return f"linear {cfg['dtype']} {cfg['m']}x{cfg['k']}x{cfg['n']}"


def jobs(cfg: dict, impls, notes: list) -> list:
    """The matmul alone once, then each activation's implementations, those of ``cfg`` only."""
    from triton_kernels.linear_act import linear_act

    chosen = cfg.get("impls", IMPLS)
    modes = cfg.get("modes", MODES)
    pairs = [("matmul", MATMUL_ACTIVATION)] if "matmul" in chosen else []
    pairs += [(impl, a) for a in cfg["activations"] for impl in IMPLS if impl != "matmul" and impl in chosen]
    out = []
    for impl, activation in pairs:
        job_modes = modes
        if impl == "matmul":
            fn = _matmul
        elif impl == "ours":
            fn = lambda x, w, b, a=activation: linear_act(x, w, b, activation=a)  # noqa: E731
        elif impl == "portable":
            job_modes = tuple(m for m in modes if m == "fwd")
            if not job_modes or cfg["dtype"] == "fp32":  # IEEE float32 is always the portable kernel
                continue
            fn = _portable(activation)
        elif impl == "cublas_dx":  # the same function, its backward switched to the δ pass + cuBLAS dx
            job_modes = tuple(m for m in modes if m == "fwd+bwd")
            if not job_modes or cfg["dtype"] == "fp32":  # IEEE float32 always takes the δ pass and cuBLAS
                continue
            fn = lambda x, w, b, a=activation: linear_act(x, w, b, activation=a)  # noqa: E731
        else:
            fn = _eager(activation)
        out.append(Job(impl, fn, job_modes, fields={"activation": activation}, compile=impl == "compile",
                       skip=None if impl in impls else "not selected",
                       context=_cublas_dx_backward if impl == "cublas_dx" else contextlib.nullcontext))
    return out


def row(cfg: dict, job, mode: str) -> dict:
    m, k, n, dtype = cfg["m"], cfg["k"], cfg["n"], cfg["dtype"]
    return {"m": m, "k": k, "n": n, "dtype": dtype, "activation": job.fields["activation"], "impl": job.impl,
            "mode": mode, "bytes": linear_bytes(m, k, n, dtype, mode), "flops": linear_flops(m, k, n, mode)}


def set_bytes(cfg: dict) -> int:
    m, k, n = cfg["m"], cfg["k"], cfg["n"]
    return (m * k + n * k + n + m * n) * DTYPE_BYTES[cfg["dtype"]]


def make_set(cfg: dict, device):
    """x, W, b like nn.Linear's (W, b ~ U(-1/sqrt(k), 1/sqrt(k))), x ~ N(0, 1), and an upstream gradient dy."""
    import torch

    m, k, n, dtype, dev = cfg["m"], cfg["k"], cfg["n"], torch_dtype(cfg["dtype"]), device.kind
    bound = 1 / math.sqrt(k)
    x = torch.randn(m, k, device=dev, dtype=dtype, requires_grad=True)
    w = torch.empty(n, k, device=dev, dtype=dtype).uniform_(-bound, bound).requires_grad_()
    b = torch.empty(n, device=dev, dtype=dtype).uniform_(-bound, bound).requires_grad_()
    dy = torch.randn(m, n, device=dev, dtype=dtype)
    return x, w, b, dy


def context(cfg: dict):
    """TF32 tensor cores for float32 matmuls only in the tf32 configs (torch's and ours alike)."""
    return tf32_mode(cfg["dtype"] == "tf32")


def refresh(sets) -> None:
    """Nothing to do: no implementation overwrites its inputs."""


def forward(fn, s):
    return fn(*s[:3])


def inference(fn, s):
    import torch

    with torch.no_grad():
        return fn(*s[:3])


def backward(y, s, retain: bool):
    y.backward(s[3], retain_graph=retain)


def leaves(s) -> tuple:
    return s[:3]


def rel_err(fn, job, s):
    """‖y - y64‖ / ‖y64‖ on one input set, y64 the same function in float64 (for the matmul alone,
    x W^T); None if the call raises (the timing then records the error)."""
    import torch

    x64, w64, b64 = (t.detach().double() for t in s[:3])
    exact = _matmul(x64, w64, b64) if job.impl == "matmul" else _eager(job.fields["activation"])(x64, w64, b64)
    try:
        y = inference(fn, s)
    except Exception:  # noqa: BLE001 -- reported by the timed rows
        return None
    return finite_or_text(float(torch.linalg.vector_norm(y.double() - exact) / torch.linalg.vector_norm(exact)))


def count_cases(cfgs: list[dict], impls=IMPLS) -> int:
    return suite.count_cases(sys.modules[__name__], cfgs, impls)


# The autotuned kernels whose choices the section records (report.autotuning).
TUNED_KERNELS = ("_linear_act_fwd_tma_kernel", "_linear_act_fwd_kernel", "_linear_act_dx_tma_kernel")


def run(device, cfgs: list[dict], progress, impls=IMPLS) -> dict:
    """Time every (shape, dtype, activation, impl, mode) of ``cfgs``; returns the section record,
    with the autotuners' timing table for every key they tuned on the way ("autotune")."""
    la = importlib.import_module("triton_kernels.linear_act")  # the package's linear_act is the function
    with autotuning.recording({name: getattr(la, name) for name in TUNED_KERNELS}) as log:
        sec = suite.run(sys.modules[__name__], device, cfgs, progress, impls)
    return dict(sec, autotune=log)


def _eager(activation: str):
    import torch
    import torch.nn.functional as F

    act = {"identity": lambda z: z, "relu": F.relu, "leaky_relu": F.leaky_relu, "sigmoid": torch.sigmoid,
           "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
           "silu": F.silu}[activation]

    def eager(x, weight, bias):
        return act(F.linear(x, weight, bias))

    return eager


@contextlib.contextmanager
def _portable_kernel():
    """linear_act's forward on its portable kernel even where the GPU has TMA."""
    la = importlib.import_module("triton_kernels.linear_act")  # the package's linear_act is the function
    capable = la._tma_capable
    la._tma_capable = lambda t: False
    try:
        yield
    finally:
        la._tma_capable = capable


@contextlib.contextmanager
def _cublas_dx_backward():
    """linear_act's backward as before the fused dx kernel: the δ pass, then dx on cuBLAS."""
    la = importlib.import_module("triton_kernels.linear_act")
    fused = la._FUSED_DX
    la._FUSED_DX = False
    try:
        yield
    finally:
        la._FUSED_DX = fused


def _portable(activation: str):
    from triton_kernels.linear_act import linear_act

    def portable(x, weight, bias):
        with _portable_kernel():
            return linear_act(x, weight, bias, activation=activation)

    return portable


def _matmul(x, weight, bias):
    return x @ weight.T
