"""Running one benchmark case: time it, record a row, never let one failure end the run.

A GPU run is expensive to repeat, so a case that raises (out of memory, a peer's bug, a missing
compiler) becomes a row with an ``error`` instead of a time, and the run goes on.
"""
from __future__ import annotations

import contextlib
import math
import traceback

# Keep error strings short enough for a table footnote.
MAX_ERROR_CHARS = 300
OUT_OF_TIME = "the run's time budget (--budget) was spent before this case"


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _free_device_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
    except Exception:  # a broken CUDA context: the next case will report its own error
        pass


def measure(device, progress, label: str, row: dict, fn, grad_to_none=None, *, memory_fn=None,
            graph_fn=None) -> dict:
    """Time ``fn`` on ``device`` and return ``row`` completed with ms/ms_p20/ms_p80 or ``error``.

    ``memory_fn`` (one forward+backward on a single input set) adds ``peak_extra_bytes``, the
    device memory it needs beyond its inputs, measured after the timing so compilation and
    autotuning have already happened. ``graph_fn`` (one call on a single input set) adds, where
    the device can replay CUDA graphs, ``graph_ms``/``graph_ms_p20``/``graph_ms_p80``, its time replayed from a CUDA
    graph (the GPU's time without the host's), or ``graph_error`` where it cannot be captured.
    """
    progress.start_case(label)
    out = dict(row)
    try:
        out.update(device.time(fn, grad_to_none=grad_to_none))
        if not (math.isfinite(out["ms"]) and out["ms"] > 0):
            raise RuntimeError(f"the timer returned {out['ms']!r} ms")
    except Exception as exc:  # noqa: BLE001 -- recorded in the row, see the module docstring
        out.pop("ms", None)
        out["error"] = error_text(exc)
        progress.end_case("FAILED: " + out["error"])
        if progress.verbose:
            traceback.print_exc()
        _free_device_memory()
        return out
    result = f"{out['ms']:.4g} ms"
    if memory_fn is not None:
        for t in grad_to_none or ():  # gradients left by the timing would count as inputs
            t.grad = None
        try:
            peak = device.peak_extra_bytes(memory_fn)
        except Exception as exc:  # noqa: BLE001 -- keep the time, record why memory is missing
            out["memory_error"] = error_text(exc)
            result += f", memory FAILED: {out['memory_error']}"
            _free_device_memory()
        else:
            if peak is not None:
                out["peak_extra_bytes"] = peak
                result += f", +{peak / 2**20:.1f} MiB peak"
    if graph_fn is not None and device.can_replay:
        result += _graph(device, out, graph_fn, grad_to_none, progress.verbose)
    progress.end_case(result)
    return out


def _graph(device, out: dict, graph_fn, grad_to_none, verbose: bool) -> str:
    """Add the CUDA-graph replay time (or why there is none) to ``out``; the progress text."""
    for t in grad_to_none or ():  # no gradient buffers from the timing inside the graph's memory
        t.grad = None
    try:
        out.update(device.graph_time(graph_fn))
        text = f", graph replay {out['graph_ms']:.4g} ms"
    except Exception as exc:  # noqa: BLE001 -- keep the call's time, record why the replay is missing
        out["graph_error"] = error_text(exc)
        text = f", graph FAILED: {out['graph_error']}"
        if verbose:
            traceback.print_exc()
        _free_device_memory()
    for t in grad_to_none or ():  # gradients captured in the graph's pool: let it go
        t.grad = None
    return text


def failed(progress, label: str, row: dict, exc: BaseException) -> dict:
    """A row whose set-up raised before it could be timed."""
    progress.start_case(label)
    out = dict(row, error=error_text(exc))
    progress.end_case("FAILED: " + out["error"])
    return out


def skipped(progress, label: str, row: dict, reason: str) -> dict:
    """A row that was not measured, with the reason in place of a time."""
    progress.start_case(label)
    progress.end_case("skipped: " + reason)
    return dict(row, skipped=reason)


@contextlib.contextmanager
def tf32_mode(enabled: bool):
    """Allow (or forbid) TF32 tensor cores for float32 matmuls inside the block, then restore."""
    import torch

    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


def fresh_compile(fn):
    """``torch.compile(fn)`` with dynamo's caches cleared first.

    Each shape compiles on its own (dynamic=False, as a fixed-shape training step would), and a
    fresh cache keeps dynamo from hitting its recompile limit or switching to dynamic shapes
    after the first few shapes, which would time a different kernel than a user gets.
    """
    import torch

    torch._dynamo.reset()
    return torch.compile(fn, dynamic=False)
