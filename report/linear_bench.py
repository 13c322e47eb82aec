"""Fused linear + activation benchmarks: this project against torch eager, torch.compile and cuBLAS.

y = act(x W^T + b), x [M, K], W [N, K] (nn.Linear layout), for (M, K, N):

    (16384, 1024, 4096), (8192, 4096, 4096)   LLM-sized MLP blocks
    (4096, 784, 1024)                          an MNIST-sized MLP layer
    (4096, 64, 128), (4096, 128, 10)           the digits MLP 64 -> 128 -> 10 (launch-bound)

Implementations: ``ours`` (triton_kernels.linear_act), ``eager`` (F.linear then the activation),
``compile`` (the same under torch.compile), ``matmul`` (x @ W^T alone through cuBLAS, no bias, no
activation: the time the fused kernel tries to match, measured once per shape and dtype).
Precisions: bf16, tf32 (float32 storage, TF32 tensor cores allowed) and fp32 (IEEE; TF32 off).
Modes: fwd (under no_grad: inference), bwd (dx, dW, db from a retained graph), fwd+bwd.
"""
from __future__ import annotations

import math

from .metrics import DTYPE_BYTES, linear_bytes, linear_flops
from .results import finite_or_text
from .runner import OUT_OF_TIME, failed, fresh_compile, measure, skipped, tf32_mode
from .timing import cycling

SHAPES = ((16384, 1024, 4096), (8192, 4096, 4096), (4096, 784, 1024), (4096, 64, 128), (4096, 128, 10))
QUICK_SHAPES = ((8192, 4096, 4096), (4096, 784, 1024))
ACTIVATIONS = ("relu", "gelu_tanh")
DTYPES = ("bf16", "tf32", "fp32")
IMPLS = ("ours", "eager", "compile", "matmul")
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


def _jobs(cfg: dict) -> list:
    """(impl, activation) pairs of a config: the matmul alone once, then each activation."""
    impls = cfg.get("impls", IMPLS)
    jobs = [("matmul", MATMUL_ACTIVATION)] if "matmul" in impls else []
    return jobs + [(impl, a) for a in cfg["activations"] for impl in IMPLS if impl != "matmul" and impl in impls]


def count_cases(cfgs: list[dict]) -> int:
    return sum(len(_jobs(c)) * len(c.get("modes", MODES)) for c in cfgs)


def _eager(activation: str):
    import torch
    import torch.nn.functional as F

    act = {"identity": lambda z: z, "relu": F.relu, "leaky_relu": F.leaky_relu, "sigmoid": torch.sigmoid,
           "tanh": torch.tanh, "gelu": F.gelu, "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
           "silu": F.silu}[activation]

    def eager(x, weight, bias):
        return act(F.linear(x, weight, bias))

    return eager


def _matmul(x, weight, bias):
    return x @ weight.T


def _make_set(m, k, n, torch_dtype, dev):
    """x, W, b like nn.Linear's (W, b ~ U(-1/sqrt(k), 1/sqrt(k))), x ~ N(0, 1), and an upstream gradient dy."""
    import torch

    bound = 1 / math.sqrt(k)
    x = torch.randn(m, k, device=dev, dtype=torch_dtype, requires_grad=True)
    w = torch.empty(n, k, device=dev, dtype=torch_dtype).uniform_(-bound, bound).requires_grad_()
    b = torch.empty(n, device=dev, dtype=torch_dtype).uniform_(-bound, bound).requires_grad_()
    dy = torch.randn(m, n, device=dev, dtype=torch_dtype)
    return x, w, b, dy


def run(device, cfgs: list[dict], progress, impls=IMPLS) -> dict:
    """Time every (shape, dtype, activation, impl, mode) of ``cfgs``; returns the section record."""
    import torch

    from triton_kernels.linear_act import linear_act

    torch_dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "tf32": torch.float32, "fp32": torch.float32}
    rows = []
    torch.manual_seed(0)
    for cfg in cfgs:
        m, k, n, dtype = cfg["m"], cfg["k"], cfg["n"], cfg["dtype"]
        modes = cfg.get("modes", MODES)
        if progress.out_of_time():  # no inputs to make, nothing to compile
            rows += [skipped(progress, f"linear {dtype} {m}x{k}x{n} {a} {impl} {mode}",
                             _row({"m": m, "k": k, "n": n, "dtype": dtype, "activation": a, "impl": impl}, mode),
                             OUT_OF_TIME) for impl, a in _jobs(cfg) for mode in modes]
            continue
        set_bytes = (m * k + n * k + n + m * n) * DTYPE_BYTES[dtype]
        sets = device.rotating(lambda: _make_set(m, k, n, torch_dtypes[dtype], device.kind), set_bytes)
        with tf32_mode(dtype == "tf32"):
            for impl, activation in _jobs(cfg):
                if impl == "matmul":
                    fn = _matmul
                elif impl == "ours":
                    fn = lambda x, w, b, a=activation: linear_act(x, w, b, activation=a)  # noqa: E731
                else:
                    fn = _eager(activation)
                base = {"m": m, "k": k, "n": n, "dtype": dtype, "activation": activation, "impl": impl}
                label = f"linear {dtype} {m}x{k}x{n} {activation} {impl}"
                if impl not in impls:
                    rows += [skipped(progress, f"{label} {mode}", _row(base, mode), "not selected") for mode in modes]
                    continue
                if impl == "compile":
                    try:
                        fn = fresh_compile(fn)
                    except Exception as exc:  # noqa: BLE001 -- reported as this impl's rows
                        rows += [failed(progress, f"{label} {mode}", _row(base, mode), exc) for mode in modes]
                        continue
                base["rel_err"] = _output_error(fn, impl, activation, *sets[0][:3])
                rows += _time_impl(device, progress, label, base, fn, sets, modes)
        del sets
    failures = [r for r in rows if "error" in r and not r["error"].startswith("skipped")]
    return {"status": "partial" if failures else "ok", "notes": [], "rows": rows}


def _output_error(fn, impl, activation, x, w, b):
    """‖y - y64‖ / ‖y64‖ on the first input set, y64 the same function in float64 (for the
    matmul alone, x W^T); None if the call raises (the timing then records the error)."""
    import torch

    x64, w64, b64 = (t.detach().double() for t in (x, w, b))
    exact = _matmul(x64, w64, b64) if impl == "matmul" else _eager(activation)(x64, w64, b64)
    try:
        with torch.no_grad():
            y = fn(x, w, b)
    except Exception:  # noqa: BLE001 -- reported by the timed rows
        return None
    return finite_or_text(float(torch.linalg.vector_norm(y.double() - exact) / torch.linalg.vector_norm(exact)))


def _row(base: dict, mode: str) -> dict:
    m, k, n, dtype = base["m"], base["k"], base["n"], base["dtype"]
    return dict(base, mode=mode, bytes=linear_bytes(m, k, n, dtype, mode), flops=linear_flops(m, k, n, mode))


def _time_impl(device, progress, label, base, fn, sets, modes) -> list:
    import torch

    def fwd(x, w, b, dy):
        with torch.no_grad():
            return fn(x, w, b)

    def fwd_bwd(x, w, b, dy):
        fn(x, w, b).backward(dy)

    def bwd(y, dy):
        y.backward(dy, retain_graph=True)

    leaves = [t for s in sets for t in s[:3]]
    rows = []
    for mode in modes:
        row = _row(base, mode)
        if mode == "fwd":
            rows.append(measure(device, progress, f"{label} {mode}", row, cycling(fwd, sets)))
        elif mode == "fwd+bwd":
            x, w, b, dy = sets[0]
            row["inputs_bytes"] = sum(t.numel() * t.element_size() for t in (x, w, b, dy))
            rows.append(measure(device, progress, f"{label} {mode}", row, cycling(fwd_bwd, sets), grad_to_none=leaves,
                                memory_fn=lambda: fwd_bwd(*sets[0])))
        else:
            try:  # one retained graph per input set, freed before the next implementation runs
                graphs = [(fn(x, w, b), dy) for x, w, b, dy in sets]
            except Exception as exc:  # noqa: BLE001 -- reported as the row
                rows.append(failed(progress, f"{label} {mode}", row, exc))
                continue
            rows.append(measure(device, progress, f"{label} {mode}", row, cycling(bwd, graphs), grad_to_none=leaves))
            del graphs
    _clear_grads(leaves)
    return rows


def _clear_grads(tensors) -> None:
    for t in tensors:
        t.grad = None
