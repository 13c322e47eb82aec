"""Softmax cross-entropy benchmarks: this project against torch eager, torch.compile and Liger-Kernel.

Shapes cover small to LLM vocabularies, N chosen so the logits are far larger than the L2 cache:

    V        10       1024    32000   50304   128256
    N     4194304    65536     8192    8192     4096

Implementations: ``ours`` (triton_kernels.cross_entropy), ``ours_inplace`` (the same with
inplace_backward=True), ``eager`` (F.cross_entropy on the logits as given: no float32 upcast, its
cheapest form), ``compile`` (that function under torch.compile), ``liger`` (Liger-Kernel's
LigerCrossEntropyLoss, when installed).

Modes (reduction "mean", int64 targets, logits ~ N(0, 1)):
    fwd         the loss, with the logits requiring grad (a training step's forward)
    bwd         the gradient from a retained graph; not for this project, whose gradient is
                computed inside the forward (its backward only hands the buffer over)
    fwd+bwd     loss and the gradient wrt the logits
    fwd_nograd  the loss only, under torch.no_grad() (evaluation)
Peak memory is measured for one forward+backward beside its time.

Every gradient is taken with ``torch.autograd.grad(loss, logits)`` from non-leaf logits (see
``make_set``). The timing loop is report.suite's; this module says what to time.
"""
from __future__ import annotations

import contextlib
import sys

from . import suite
from .metrics import DTYPE_BYTES, TARGET_BYTES, cross_entropy_bytes, ours_cross_entropy_bytes, torch_dtype
from .results import finite_or_text
from .suite import Job

SHAPES = ((4194304, 10), (65536, 1024), (8192, 32000), (8192, 50304), (4096, 128256))
QUICK_SHAPES = ((65536, 1024), (8192, 32000))
DTYPES = ("bf16", "fp32")
IMPLS = ("ours", "eager", "compile", "liger", "ours_inplace")
MODES = {
    "ours": ("fwd_nograd", "fwd", "fwd+bwd", "bwd"),  # bwd: a row saying it is fused (FUSED_NOTE)
    "eager": ("fwd_nograd", "fwd", "fwd+bwd", "bwd"),
    "compile": ("fwd_nograd", "fwd", "fwd+bwd", "bwd"),
    "liger": ("fwd", "fwd+bwd", "bwd"),
    "ours_inplace": ("fwd+bwd",),
}
FUSED_NOTE = "this project computes the gradient inside the forward (see fwd and fwd+bwd)"
LIGER_MISSING = "Liger-Kernel is not installed: its columns are skipped (pip install liger-kernel to add them)"


# The plan of ``python -m report gpu-check``: what the speed goals are judged on (forward + backward
# at every shape and dtype, peak memory beside it), and nothing else, so that it fits a short lease.
GOAL_MODES = ("fwd+bwd",)


def configs(quick: bool, shapes=None, dtypes=None, goals: bool = False) -> list[dict]:
    """One config per (dtype, shape); ``modes`` limits the modes timed (all when absent)."""
    shapes = shapes or (QUICK_SHAPES if quick and not goals else SHAPES)
    dtypes = dtypes or (("bf16",) if quick and not goals else DTYPES)
    extra = {"modes": GOAL_MODES} if goals else {}
    return [{"n": n, "v": v, "dtype": d, **extra} for d in dtypes for n, v in shapes]


# ----------------------------------------------------------------------------------------------
# The suite (see report.suite)
# ----------------------------------------------------------------------------------------------
SECTION = "cross_entropy"
MODE_KINDS = {"fwd_nograd": "inference", "fwd": "forward", "bwd": "backward", "fwd+bwd": "forward+backward"}


def label(cfg: dict) -> str:
    return f"cross_entropy {cfg['dtype']} N={cfg['n']} V={cfg['v']}"


def jobs(cfg: dict, impls, notes: list) -> list:
    """One job per implementation, in IMPLS order; the unselected and the missing are skipped."""
    losses = _loss_functions("liger" in impls)
    out = []
    for impl in IMPLS:
        modes = tuple(m for m in MODES[impl] if m in cfg.get("modes", MODES[impl]))
        skip = "not selected" if impl not in impls else LIGER_MISSING if losses[impl] is None else None
        if skip == LIGER_MISSING:
            notes.append(LIGER_MISSING)
        out.append(Job(impl, losses[impl], modes, compile=impl == "compile", skip=skip,
                       skip_modes={"bwd": FUSED_NOTE} if impl == "ours" else {}))
    return out


def row(cfg: dict, job, mode: str) -> dict:
    n, v, dtype = cfg["n"], cfg["v"], cfg["dtype"]
    moved = {"moved_bytes": ours_cross_entropy_bytes(n, v, dtype, mode)} if job.impl == "ours" and mode != "bwd" else {}
    return {"n": n, "v": v, "dtype": dtype, "impl": job.impl, "mode": mode,
            "bytes": cross_entropy_bytes(n, v, dtype, mode), **moved}


def set_bytes(cfg: dict) -> int:
    return cfg["n"] * cfg["v"] * DTYPE_BYTES[cfg["dtype"]] + TARGET_BYTES * cfg["n"]


def make_set(cfg: dict, device):
    """Non-leaf logits (raw + a zero scalar: AddBackward saves no tensor, so no second copy) and targets.

    Every gradient is taken with torch.autograd.grad from such logits (the output of an operation,
    as a model's head produces them), which the in-place mode requires, and which keeps .grad
    accumulation out of every implementation's time alike."""
    import torch

    dtype = torch_dtype(cfg["dtype"])
    zero = torch.zeros((), device=device.kind, dtype=dtype, requires_grad=True)
    logits = torch.randn(cfg["n"], cfg["v"], device=device.kind, dtype=dtype) + zero
    return logits, torch.randint(0, cfg["v"], (cfg["n"],), device=device.kind)


def context(cfg: dict):
    return contextlib.nullcontext()


def refresh(sets) -> None:
    """Fresh logits: the in-place implementations (ours_inplace, Liger) overwrite them."""
    for logits, _ in sets:
        logits.detach().normal_()


def forward(fn, s):
    return fn(*s)


def inference(fn, s):
    import torch

    logits, target = s
    with torch.no_grad():
        return fn(logits.detach(), target)


def backward(loss, s, retain: bool):
    import torch

    return torch.autograd.grad(loss, s[0], retain_graph=retain)


def leaves(s) -> tuple:
    return ()


def rel_err(fn, job, s):
    """|loss - loss64| / |loss64| on one input set, loss64 from torch in float64: the time is only
    worth reporting beside the error of what was timed. None if the call raises (the timing then
    records the error)."""
    import torch.nn.functional as F

    logits, target = s
    exact = F.cross_entropy(logits.detach().double(), target)
    try:
        loss = fn(logits, target)
    except Exception:  # noqa: BLE001 -- reported by the timed rows
        return None
    return finite_or_text(float((loss.detach().double() - exact).abs() / exact.abs()))


def count_cases(cfgs: list[dict], impls=IMPLS) -> int:
    return suite.count_cases(sys.modules[__name__], cfgs, impls)


def run(device, cfgs: list[dict], progress, impls=IMPLS) -> dict:
    """Time every (shape, dtype, impl, mode) of ``cfgs``; returns the section record.

    ``impls`` selects implementations; the others get rows marked skipped, so tables keep their shape.
    """
    return suite.run(sys.modules[__name__], device, cfgs, progress, impls)


def _liger_loss():
    """Liger-Kernel's cross-entropy module, or None when it is not installed."""
    try:
        from liger_kernel.transformers import LigerCrossEntropyLoss
    except ImportError:
        return None
    return LigerCrossEntropyLoss(reduction="mean")


def _loss_functions(with_liger: bool) -> dict:
    import torch.nn.functional as F

    from triton_kernels.cross_entropy import cross_entropy

    def eager(logits, target):
        return F.cross_entropy(logits, target)

    return {
        "ours": cross_entropy,
        "ours_inplace": lambda logits, target: cross_entropy(logits, target, inplace_backward=True),
        "eager": eager,
        "compile": eager,  # compiled afresh for each shape by the driver
        "liger": _liger_loss() if with_liger else None,
    }
