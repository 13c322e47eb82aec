"""The minimal work of each benchmark: bytes it must move, FLOPs it must do, and the floor they imply.

A benchmark row is judged against the least traffic and arithmetic any implementation needs
(each input read once, each output written once), not against what a particular kernel does:

    achieved bandwidth  = minimal bytes / time        (memory-bound kernels: cross-entropy)
    achieved rate       = minimal FLOPs / time        (matrix-bound kernels: linear + activation)
    floor               = max(bytes / copy bandwidth, FLOPs / matmul rate)

The ceilings (copy bandwidth, matmul rate per precision) are measured in the same run as the rows;
:data:`NOMINAL_CEILINGS` are DESIGN.md's H100 numbers, used only for the pre-measurement floors in
NOTES.md and flagged as nominal wherever they appear.

>>> cross_entropy_bytes(8192, 32000, "bf16", "fwd+bwd") / 1e9  # read logits + write gradient + targets
1.048641536
>>> round(floor_ms(cross_entropy_bytes(8192, 32000, "bf16", "fwd+bwd"), 0, "bf16", NOMINAL_CEILINGS), 3)
0.35
>>> linear_flops(8192, 4096, 4096, "fwd+bwd") / 1e12
0.824633720832
"""
from __future__ import annotations

import importlib

# Storage size of one element; "tf32" is float32 storage whose matmuls use TF32 tensor cores.
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "tf32": 4}
TARGET_BYTES = 8  # class-index targets are int64, as torch.nn.functional.cross_entropy takes them

# Which matmul ceiling bounds a dtype's tensor-core work: fp16 and bf16 run at the same rate.
MATMUL_CEILING = {"bf16": "matmul_bf16", "fp16": "matmul_bf16", "tf32": "matmul_tf32", "fp32": "matmul_fp32"}

# DESIGN.md, H100 80GB HBM3: copy counts bytes read + written (TB/s); matmuls in TFLOP/s.
NOMINAL_CEILINGS = {"copy": 3.0, "matmul_bf16": 673.0, "matmul_tf32": 360.0, "matmul_fp32": 52.0}

CE_MODES = ("fwd", "bwd", "fwd+bwd", "fwd_nograd")
LINEAR_MODES = ("fwd", "bwd", "fwd+bwd")


def torch_dtype(dtype: str):
    """The torch storage dtype of a benchmark dtype, by either name (tf32 is float32 storage)."""
    import torch

    from conformance.dtypes import long_name

    name = long_name(dtype)
    return torch.float32 if name == "tf32" else getattr(torch, name)


def _check_dtype(dtype: str) -> int:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {sorted(DTYPE_BYTES)}, got {dtype!r}")
    return DTYPE_BYTES[dtype]


def cross_entropy_bytes(n: int, v: int, dtype: str, mode: str) -> int:
    """Minimal bytes of softmax cross-entropy (mean reduction) over logits [n, v].

    fwd, fwd_nograd: read logits and targets            n v b + 8 n
    bwd:             read logits, targets, per-row lse;
                     write the gradient                  2 n v b + 12 n
    fwd+bwd:         read logits and targets once,
                     write the gradient once             2 n v b + 8 n
    The scalar loss (4 bytes) is left out.
    """
    b = _check_dtype(dtype)
    if mode in ("fwd", "fwd_nograd"):
        return n * v * b + TARGET_BYTES * n
    if mode == "bwd":
        return 2 * n * v * b + (TARGET_BYTES + 4) * n
    if mode == "fwd+bwd":
        return 2 * n * v * b + TARGET_BYTES * n
    raise ValueError(f"mode must be one of {CE_MODES}, got {mode!r}")


def ours_cross_entropy_bytes(n: int, v: int, dtype: str, mode: str) -> int:
    """What this project's kernels move for a mode (``triton_kernels.cross_entropy.traffic``, the
    count beside the kernels): the minimum plus the prologue's second read of the targets for "mean"
    and, with a gradient, the saved lse (12 bytes a row).

    >>> ours_cross_entropy_bytes(4096, 10, "bf16", "fwd+bwd") / cross_entropy_bytes(4096, 10, "bf16", "fwd+bwd")
    1.25
    """
    from triton_kernels.cross_entropy import traffic

    if mode not in ("fwd", "fwd_nograd", "fwd+bwd"):  # "bwd": the gradient is formed in the forward
        raise ValueError(f"mode must be one of fwd, fwd_nograd, fwd+bwd, got {mode!r}")
    return traffic(n, v, _check_dtype(dtype), gradient=mode != "fwd_nograd")


def linear_flops(m: int, k: int, n: int, mode: str) -> int:
    """Matmul FLOPs of y = act(x W^T + b), x [m, k], W [n, k]: 2mnk forward, 4mnk backward (dx and dW)."""
    per_matmul = 2 * m * n * k
    factor = {"fwd": 1, "bwd": 2, "fwd+bwd": 3}.get(mode)
    if factor is None:
        raise ValueError(f"mode must be one of {LINEAR_MODES}, got {mode!r}")
    return factor * per_matmul


def linear_bytes(m: int, k: int, n: int, dtype: str, mode: str) -> int:
    """Minimal bytes of y = act(x W^T + b) (element size b):

    fwd:     read x, W, bias; write y                         (mk + nk + n + mn) b
    bwd:     read dy, the saved pre-activation z, x, W;
             write dx, dW, dbias                              (2mn + 2mk + 2nk + n) b
    fwd+bwd: read x, W, bias, dy; write y, dx, dW, dbias      (2mk + 2nk + 2n + 2mn) b
    """
    b = _check_dtype(dtype)
    if mode == "fwd":  # the inference forward's count beside the kernel, which moves just that
        return importlib.import_module("triton_kernels.linear_act").traffic(m, k, n, b)
    if mode == "bwd":
        return (2 * m * n + 2 * m * k + 2 * n * k + n) * b
    if mode == "fwd+bwd":
        return (2 * m * k + 2 * n * k + 2 * n + 2 * m * n) * b
    raise ValueError(f"mode must be one of {LINEAR_MODES}, got {mode!r}")


def tb_per_s(nbytes: float, ms: float) -> float:
    """Bandwidth in TB/s (10^12 bytes per second) of ``nbytes`` moved in ``ms`` milliseconds."""
    return nbytes / (ms * 1e-3) / 1e12


def tflop_per_s(flops: float, ms: float) -> float:
    """Rate in TFLOP/s of ``flops`` done in ``ms`` milliseconds."""
    return flops / (ms * 1e-3) / 1e12


def floor_ms(nbytes: float, flops: float, dtype: str, ceilings: dict) -> float:
    """Floor time in ms: max(bytes / copy bandwidth, FLOPs / matmul rate of ``dtype``).

    ``ceilings`` maps "copy" to TB/s and "matmul_*" to TFLOP/s (see :data:`NOMINAL_CEILINGS`).
    """
    t_bytes = nbytes / (ceilings["copy"] * 1e12) * 1e3
    t_flops = flops / (ceilings[MATMUL_CEILING[dtype]] * 1e12) * 1e3 if flops else 0.0
    return max(t_bytes, t_flops)
