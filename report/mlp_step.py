"""The teaching figure: one MLP training step in the pure-Python reference, torch and the kernels.

Implementations (all from the same initial weights and batch, see report.workloads):
    reference  pure Python, float64, CPU   (reference.mlp, reference.losses, reference.optimizers)
    torch      float32, CPU, one thread    (nn.Linear, ReLU, F.cross_entropy, torch.optim.SGD)
    torch      float32, CUDA               (the same on the GPU)
    kernels    float32, CUDA               (triton_kernels FusedLinear + cross_entropy, torch.optim.SGD)
Each row records the loss of the first step beside the time of later ones: the loss columns must
agree, which shows the speedups compare the same computation. Torch on the CPU runs on one thread,
like the reference: the comparison is then compiled, vectorised code against the interpreter on
the same core, and it does not depend on how busy the machine's other cores are (on a loaded
2-core machine a batch-32 step took 176 ms on torch's two threads, 0.9 ms on one).
"""
from __future__ import annotations

import contextlib

from .results import finite_or_text
from .runner import failed, measure
from .timing import Device
from .workloads import LAYERS, digits_batch, reference_mlp, reference_optimizer, reference_step, torch_step_fn

BATCHES = (32, 512)
QUICK_BATCHES = (16,)
IMPLS = (("reference", "cpu", "fp64"), ("torch", "cpu", "fp32"), ("torch", "cuda", "fp32"), ("kernels", "cuda", "fp32"))
NO_CUDA_NOTE = "no CUDA device: the GPU rows (torch and this project's kernels on the GPU) are pending"


def configs(quick: bool, cuda: bool, batches=None) -> list[dict]:
    return [{"batch": b, "impl": impl, "device": dev, "dtype": dtype}
            for b in (batches or (QUICK_BATCHES if quick else BATCHES))
            for impl, dev, dtype in IMPLS if cuda or dev == "cpu"]


def count_cases(cfgs: list[dict]) -> int:
    return len(cfgs)


def run(cfgs: list[dict], progress, *, quick: bool, cuda: bool) -> dict:
    """Time each configuration's step; returns the section record."""
    # Pure Python takes ~seconds per step at batch 512: the minimum of a few rounds is stable.
    cpu = Device("cpu", warmup_ms=0, rep_ms=50 if quick else 2000)
    gpu = Device("cuda", warmup_ms=25, rep_ms=100) if cuda else None
    rows = []
    for cfg in cfgs:
        row = dict(cfg, layers=list(LAYERS))
        label = f"mlp step {cfg['impl']} {cfg['device']} {cfg['dtype']} batch {cfg['batch']}"
        single = cfg["impl"] == "torch" and cfg["device"] == "cpu"
        if single:
            row["threads"] = 1
        with _one_thread(single):
            try:
                step = _step(cfg)
                loss = step()  # the first step, from the shared initial weights
                row["loss"] = finite_or_text(float(loss.detach()) if hasattr(loss, "detach") else float(loss))
            except Exception as exc:  # noqa: BLE001 -- recorded in the row
                rows.append(failed(progress, label, row, exc))
                continue
            rows.append(measure(gpu if cfg["device"] == "cuda" else cpu, progress, label, row, step))
    failures = [r for r in rows if "error" in r]
    notes = [] if cuda else [NO_CUDA_NOTE]
    return {"status": "partial" if failures else "ok", "notes": notes, "rows": rows}


@contextlib.contextmanager
def _one_thread(enabled: bool):
    """torch.set_num_threads(1) inside the block when ``enabled``, then the old count again."""
    if not enabled:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _step(cfg: dict):
    """A no-argument step function for one configuration."""
    if cfg["impl"] == "reference":
        net, opt = reference_mlp(), reference_optimizer()
        X, y = digits_batch(cfg["batch"])
        return lambda: reference_step(net, opt, X, y)
    return torch_step_fn(cfg["impl"], cfg["device"], cfg["batch"])
