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

Every gradient is taken with ``torch.autograd.grad(loss, logits)`` from non-leaf logits (the output
of an operation, as a model's head produces them), which the in-place mode requires, and which
keeps ``.grad`` accumulation out of every implementation's time alike.
"""
from __future__ import annotations

from .metrics import DTYPE_BYTES, TARGET_BYTES, cross_entropy_bytes
from .results import finite_or_text
from .runner import OUT_OF_TIME, failed, fresh_compile, measure, skipped
from .timing import cycling

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


def _modes(cfg: dict, impl: str) -> tuple:
    return tuple(m for m in MODES[impl] if m in cfg.get("modes", MODES[impl]))


def count_cases(cfgs: list[dict]) -> int:
    return sum(len(_modes(c, impl)) for c in cfgs for impl in IMPLS)


def _liger_loss():
    """Liger-Kernel's cross-entropy module, or None when it is not installed."""
    try:
        from liger_kernel.transformers import LigerCrossEntropyLoss
    except ImportError:
        return None
    return LigerCrossEntropyLoss(reduction="mean")


def _loss_functions(liger):
    import torch.nn.functional as F

    from triton_kernels.cross_entropy import cross_entropy

    def eager(logits, target):
        return F.cross_entropy(logits, target)

    return {
        "ours": cross_entropy,
        "ours_inplace": lambda logits, target: cross_entropy(logits, target, inplace_backward=True),
        "eager": eager,
        "compile": eager,  # compiled afresh for each shape by run()
        "liger": liger,
    }


def _make_set(n, v, torch_dtype, dev):
    """Non-leaf logits (raw + a zero scalar: AddBackward saves no tensor, so no second copy) and targets."""
    import torch

    zero = torch.zeros((), device=dev, dtype=torch_dtype, requires_grad=True)
    logits = torch.randn(n, v, device=dev, dtype=torch_dtype) + zero
    target = torch.randint(0, v, (n,), device=dev)
    return logits, target


def run(device, cfgs: list[dict], progress, impls=IMPLS) -> dict:
    """Time every (shape, dtype, impl, mode) of ``cfgs``; returns the section record.

    ``impls`` selects implementations; the others get rows marked skipped, so tables keep their shape.
    """
    import torch

    liger = _liger_loss() if "liger" in impls else None
    notes = [LIGER_MISSING] if "liger" in impls and liger is None else []
    losses = _loss_functions(liger)
    torch_dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    rows = []
    torch.manual_seed(0)
    for cfg in cfgs:
        n, v, dtype = cfg["n"], cfg["v"], cfg["dtype"]
        if progress.out_of_time():  # no inputs to make, nothing to compile
            rows += [skipped(progress, f"cross_entropy {dtype} N={n} V={v} {impl} {m}",
                             _row({"n": n, "v": v, "dtype": dtype, "impl": impl}, m), OUT_OF_TIME)
                     for impl in IMPLS for m in _modes(cfg, impl)]
            continue
        set_bytes = n * v * DTYPE_BYTES[dtype] + TARGET_BYTES * n
        sets = device.rotating(lambda: _make_set(n, v, torch_dtypes[dtype], device.kind), set_bytes)
        for impl in IMPLS:
            base = {"n": n, "v": v, "dtype": dtype, "impl": impl}
            label = f"cross_entropy {dtype} N={n} V={v} {impl}"
            if impl not in impls or losses[impl] is None:
                reason = "not selected" if impl not in impls else LIGER_MISSING
                rows += [skipped(progress, f"{label} {m}", _row(base, m), reason) for m in _modes(cfg, impl)]
                continue
            for logits, _ in sets:  # fresh values: the in-place modes (ours_inplace, Liger) overwrite them
                logits.detach().normal_()
            loss_fn = losses[impl]
            if impl == "compile":
                try:
                    loss_fn = fresh_compile(loss_fn)
                except Exception as exc:  # noqa: BLE001 -- reported as this impl's rows
                    rows += [failed(progress, f"{label} {m}", _row(base, m), exc) for m in _modes(cfg, impl)]
                    continue
            base["rel_err"] = _loss_error(loss_fn, *sets[0])
            rows += _time_impl(device, progress, label, base, loss_fn, sets, _modes(cfg, impl))
        del sets
    failures = [r for r in rows if "error" in r and not r["error"].startswith("skipped")]
    return {"status": "partial" if failures else "ok", "notes": notes, "rows": rows}


def _loss_error(loss_fn, logits, target):
    """|loss - loss64| / |loss64| on the first input set, loss64 from torch in float64: the time
    is only worth reporting beside the error of what was timed. None if the call raises (the
    timing then records the error)."""
    import torch.nn.functional as F

    exact = F.cross_entropy(logits.detach().double(), target)
    try:
        loss = loss_fn(logits, target)
    except Exception:  # noqa: BLE001 -- reported by the timed rows
        return None
    return finite_or_text(float((loss.detach().double() - exact).abs() / exact.abs()))


def _row(base: dict, mode: str) -> dict:
    n, v, dtype = base["n"], base["v"], base["dtype"]
    return dict(base, mode=mode, bytes=cross_entropy_bytes(n, v, dtype, mode))


def _time_impl(device, progress, label, base, loss_fn, sets, modes) -> list:
    import torch

    def fwd(logits, target):
        return loss_fn(logits, target)

    def fwd_nograd(logits, target):
        with torch.no_grad():
            return loss_fn(logits.detach(), target)

    def fwd_bwd(logits, target):
        return torch.autograd.grad(loss_fn(logits, target), logits)

    def bwd(loss, logits):
        return torch.autograd.grad(loss, logits, retain_graph=True)

    rows = []
    for mode in modes:
        row = _row(base, mode)
        if mode == "fwd+bwd":
            row["inputs_bytes"] = sets[0][0].numel() * sets[0][0].element_size() + TARGET_BYTES * len(sets[0][1])
            rows.append(measure(device, progress, f"{label} {mode}", row, cycling(fwd_bwd, sets),
                                memory_fn=lambda: fwd_bwd(*sets[0])))
        elif mode == "bwd" and base["impl"] == "ours":
            rows.append(skipped(progress, f"{label} {mode}", row, FUSED_NOTE))
        elif mode == "bwd":
            try:  # one retained graph per input set, freed before the next implementation runs
                graphs = [(loss_fn(logits, target), logits) for logits, target in sets]
            except Exception as exc:  # noqa: BLE001 -- reported as the row
                rows.append(failed(progress, f"{label} {mode}", row, exc))
                continue
            rows.append(measure(device, progress, f"{label} {mode}", row, cycling(bwd, graphs)))
            del graphs
        else:
            rows.append(measure(device, progress, f"{label} {mode}", row,
                                cycling(fwd if mode == "fwd" else fwd_nograd, sets)))
    return rows
