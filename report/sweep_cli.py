"""What the GPU-side commands (ce-sweep, linear-sweep, host-time) share on the command line: the
device they time on, their shape arguments, what compiling cost, and how they end (table printed,
JSON written)."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json

from .timing import Device


def sweep_device(parser) -> Device:
    """The device a sweep times on: the GPU, or without one the CPU with the kernels under Triton's
    interpreter (the sweep's code is exercised there, its times mean nothing); a usage error from
    ``parser`` when neither can run the kernels."""
    from .environment import cuda_available

    cuda = cuda_available()
    if not cuda and not importlib.import_module("triton_kernels.launch").INTERPRET:
        parser.error("no CUDA device, and TRITON_INTERPRET is not 1: nothing can run the kernels")
    return Device("cuda" if cuda else "cpu", warmup_ms=10 if cuda else 0, rep_ms=50 if cuda else 0)


def shape_arg(names: str, example: str):
    """An argparse type for a shape written as positive integers joined by "x", one per letter of
    ``names`` (e.g. "NV" for 8192x32000)."""
    def parse(text: str) -> tuple[int, ...]:
        try:
            dims = tuple(int(part) for part in text.lower().split("x"))
        except ValueError:
            dims = ()
        if len(dims) != len(names):
            raise argparse.ArgumentTypeError(f"expected {' x '.join(names)} as e.g. {example}, got {text!r}")
        if min(dims) < 1:
            raise argparse.ArgumentTypeError(f"{', '.join(names)} must be positive, got {text!r}")
        return dims
    return parse


def publish(doc: dict, command: str, argv: list, table: str, out) -> None:
    """A command's ending: its environment recorded in ``doc``, its table printed, and the
    document written as JSON to ``out`` when given."""
    from .environment import collect

    doc["environment"] = collect([command, *argv])
    print()
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(doc, indent=1) + "\n")


@contextlib.contextmanager
def compiled_first(device: Device, budget_s: float, compile_all):
    """A sweep's timing: before it, ``compile_all()`` (compile_check.compile_launches' document)
    where it pays, on an sm_90 GPU (compile_check's target) with a budget that times more than the
    default; the document yielded (else {"skipped": why}), and after the timing it gains how many
    kernels Triton's cache gained meanwhile (0: the JIT found every one compiled)."""
    from .compile_check import ARCH, compiles_for_this_gpu, triton_cache_entries

    if budget_s <= 0:
        compiling = {"skipped": "no budget: nothing but the default is timed, compiled as it runs"}
    elif device.kind != "cuda" or not compiles_for_this_gpu():
        compiling = {"skipped": f"not an sm_{ARCH} GPU: each candidate compiles as it is timed"}
    else:
        compiling = compile_all()
    cached = triton_cache_entries()
    yield compiling
    if cached is not None:
        compiling["while_timing"] = triton_cache_entries() - cached


def compiling_lines(compiling: dict | None) -> list[str]:
    """A sweep's compiling before it timed anything (compile_check.compile_launches), and how many
    kernels still compiled while timing (Triton's cache entries: 0 when the warm-up found them all);
    nothing for a sweep that compiled as it timed (not on an sm_90 GPU, or an older document)."""
    if not compiling or "skipped" in compiling:
        return []
    line = f"Compiled before timing: {compiling['variants']} kernel variants in {compiling['seconds']:.0f} s"
    if compiling.get("errors"):
        line += f" ({compiling['errors']} with a tile that did not compile)"
    if "while_timing" in compiling:
        line += f"; {compiling['while_timing']} more while timing (Triton's cache entries)"
    return ["", line + "."]
