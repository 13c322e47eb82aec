"""python -m report ce-sweep: cross-entropy launch configurations timed side by side.

The cross-entropy kernel takes its launch from the row length (``_launch_config`` in
triton_kernels/cross_entropy.py): blocks of ROWS rows, BLOCK_V logits of each at a time, over
num_warps warps, a persistent grid of ``per_sm`` programs an SM, its loops (the chunks of a
long row, or a program's blocks of short rows) pipelined over ``stages``. Whether another choice
moves more bytes a second is a question for the GPU; this command answers it for one shape in one
run. It times forward +
backward (the fused forward that writes the gradient, then the backward that finds nothing left to
do, as ``loss.backward()`` after ``cross_entropy``) under each candidate, beside a copy of the
logits (the same minimal bytes: the logits read once, the gradient written once), and checks each
candidate's loss and gradient against the kernel's own choice (``default``).

    python -m report ce-sweep                                    8192 x 32000 bf16, 180 s at most
    python -m report ce-sweep --shape 8192x128256 --dtype fp32 --out sweep.json

Candidates: for rows of 16385 to 32768 logits first the whole row in one 32768-logit tile (16-bit
logits: also with the loop over rows pipelined), then every power-of-two BLOCK_V from --min-block
to the row's (capped at 16384), ROWS from 1 to as many as fill a 16384-logit tile (short rows:
many a program), warps from 4 to 32, with 4 to 32 logits a thread; programs for 32 or 16 warps an SM
(64 or 128 registers a thread: the kernel caps them so that all of an SM's programs are resident;
rows of at most 16 logits 16 or 8 warps, 128 or 255 registers);
1 and 3 pipeline stages, and 2 for chunked rows (Triton's 2 stages keep one copy in flight and
wait for it at once; 3 is the first that overlaps a load with the previous step's reductions).
Rows of 1025 to 2048 logits first try a row a one-warp program (``_row_a_warp``). Rows of at
most 16 logits are a thread's each (``ROW_A_THREAD`` in the kernel), a block loaded and stored as
one run (``_ROW_RUNS``); their first candidates are the default with its runs pipelined (3
stages), the former layout, 16 threads a row (``row_a_thread: False``), which the third H200 run
timed at ~0.5 ms for 4194304 x 10, then the
rows loaded class by class (``row_runs: False``) with the gradient stored through shared memory
or straight from the class-major layout (``row_major_stores: False``). Each is a separate
compilation (a few seconds): on an sm_90 GPU every candidate's kernels are compiled first, all at
once in parallel processes, into Triton's cache, so that the timing finds them there (the third H200
run, compiling one candidate after another inside its 60 s, timed 80 of 127); the budget, compiling
included, stops the sweep, and what was not reached is listed as such, as is a count of the kernels
compiled while timing (0 when the warm-up found them all).

On a GPU each candidate is timed twice: as a call (``ms``, what a training step pays, host work
included) and replayed from a CUDA graph (``graph_ms``, the kernels alone). The GPU machine's
host takes about 1 ms to issue one forward + backward (report/NOTES.md), more than the kernels
at this shape, so candidates are ranked by the replay, and the fraction of copy is the replay's.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import itertools
import sys
import time
from pathlib import Path

from .compile_check import CROSS_ENTROPY_KERNELS, MAX_SHARED, compile_launches
from .metrics import cross_entropy_bytes, torch_dtype
from .runner import error_text
from .sweep_cli import compiled_first, compiling_lines, publish, shape_arg, sweep_device
from .timing import Device

MAX_BLOCK = 16384  # the kernel's longest tile (_MAX_BLOCK_V): longer rows are streamed in chunks
PER_THREAD = (4, 32)  # logits a thread, least and most (registers: the tile is float32 there)


def candidates(v: int, min_block: int = 1024, element_size: int = 2) -> list[dict]:
    """(BLOCK_V, ROWS, warps, stages, programs an SM) to try for rows of ``v`` logits (see the module
    docstring), in the order a budget should reach them: 32 logits a thread (the kernel's own
    density) first, then 16, 8, 4; within each, more warps an SM before fewer (32 or 16, rows of at
    most 16 logits 16 or 8: 64 to 255 registers a thread), the whole
    row in one tile before chunks, one stage before three before two, and the longest tile first."""
    top = min(MAX_BLOCK, 1 << max(0, v - 1).bit_length())
    out = []
    block = max(16, min(min_block, top))
    while block <= top:
        rows = 1
        while rows * block <= MAX_BLOCK:
            for warps in (4, 8, 16, 32):
                if PER_THREAD[0] <= rows * block // (32 * warps) <= PER_THREAD[1]:
                    # rows a thread's each (block 16) hold 16 logits a thread: 128-255 registers
                    per_sm_warps = (16, 8) if block <= 16 else (32, 16)
                    for stages, warps_per_sm in itertools.product((1, 3, 2) if block < v else (1, 3), per_sm_warps):
                        if warps <= warps_per_sm:
                            out.append({"block_v": block, "rows": rows, "warps": warps, "stages": stages,
                                        "per_sm": warps_per_sm // warps})
            rows *= 2
        block *= 2
    density = {32: 0, 16: 1, 8: 2, 4: 3}
    stage_order = {1: 0, 3: 1, 2: 2}
    ranked = sorted(out, key=lambda c: (density[c["rows"] * c["block_v"] // (32 * c["warps"])],
                                        -c["per_sm"] * c["warps"], c["block_v"] < v,
                                        stage_order[c["stages"]], -c["block_v"], -c["rows"]))
    return _whole_row(v, element_size) + _short_row_layouts(v) + _row_a_warp(v) + ranked


def _short_row_layouts(v: int) -> list[dict]:
    """For rows of at most 16 logits: the default's launch with the full blocks' runs pipelined (3
    stages: three blocks in flight a program, ~30 KB an SM at V = 10 in bf16, against the 10 KB of
    one); the launch before rows became a thread's each, in the layout it had (16 threads a row);
    then rows a thread's each loaded class by class (a warp's load spanning 32 rows) instead of as
    one run a block, their gradient stored through shared memory into row-major runs and straight
    from the class-major layout: every choice timed beside the default in the same run."""
    if v > 16:
        return []
    default = {"block_v": 16, "rows": 128, "warps": 4, "stages": 1, "per_sm": 4}
    by_class = {**default, "row_runs": False}
    return [{**default, "stages": 3},
            {"block_v": 16, "rows": 128, "warps": 16, "stages": 1, "per_sm": 2, "row_a_thread": False},
            by_class, {**by_class, "row_major_stores": False}]


def _row_a_warp(v: int) -> list[dict]:
    """For rows of 1025 to 2048 logits: a row a one-warp program (64 logits a thread), as the kernel
    runs rows of 257 to 1024, at 16 programs an SM (128 registers a thread)."""
    if not 1024 < v <= 2048:
        return []
    return [{"block_v": 2048, "rows": 1, "warps": 1, "stages": 1, "per_sm": 16}]


def _whole_row(v: int, element_size: int) -> list[dict]:
    """First, for rows of 16385 to 32768 logits: the whole row in registers (64 or 32 logits a
    thread on 16 or 32 warps, one program an SM: 128 or 64 registers a thread), read once and
    exponentiated once instead of streamed twice in chunks: the question the chunked default
    leaves open (issue "Kernels v3", item 1); then, where two rows in flight fit shared memory
    (16-bit logits: 2 x 64 KB), the loop over rows pipelined, the next rows' loads issued while
    this one reduces (sm_90: no spill either way, compile_check)."""
    if not MAX_BLOCK < v <= 2 * MAX_BLOCK:
        return []
    stages = (1, 3) if 2 * 2 * MAX_BLOCK * element_size <= MAX_SHARED else (1,)  # two rows' buffers
    return [{"block_v": 2 * MAX_BLOCK, "rows": 1, "warps": warps, "stages": s, "per_sm": 1}
            for s in stages for warps in (16, 32)]


@contextlib.contextmanager
def launching(config: dict | None):
    """cross_entropy launched with ``config`` (None: the kernel's own choice)."""
    ce = importlib.import_module("triton_kernels.cross_entropy")  # not the function of that name
    if config is None:
        yield
        return
    saved = ce._launch_config, ce._ROW_A_THREAD, ce._ROW_MAJOR_STORES, ce._ROW_RUNS
    block, rows, warps = config["block_v"], config["rows"], config["warps"]
    ce._launch_config = lambda n_rows, n_cols, o, **flags: ce._Launch(
        block, rows, warps, n_cols <= block, config["per_sm"], config["stages"])
    if not config.get("row_a_thread", True):
        ce._ROW_A_THREAD = 0
    ce._ROW_MAJOR_STORES = config.get("row_major_stores", ce._ROW_MAJOR_STORES)
    ce._ROW_RUNS = config.get("row_runs", ce._ROW_RUNS)
    try:
        yield
    finally:
        ce._launch_config, ce._ROW_A_THREAD, ce._ROW_MAJOR_STORES, ce._ROW_RUNS = saved


def _step(logits, target):
    """Forward + backward as a training step runs them; returns (loss, gradient)."""
    import torch

    from triton_kernels import cross_entropy

    loss = cross_entropy(logits, target)
    return loss, torch.autograd.grad(loss, logits)[0]


def compile_candidates(configs, step, processes: int | None = None) -> dict:
    """Every config's kernels (None: the default's) compiled at once before any is timed
    (compile_check.compile_launches of ``step`` under each)."""
    def under(config):
        with launching(config):
            step()

    ce = importlib.import_module("triton_kernels.cross_entropy")
    return compile_launches(ce, CROSS_ENTROPY_KERNELS, [functools.partial(under, c) for c in configs], processes)


def sweep(n: int, v: int, dtype: str, device: Device, budget_s: float, min_block: int = 1024,
          progress=print, processes: int | None = None) -> dict:
    """Time the copy, the default and every candidate (until ``budget_s`` is spent, compiling
    included); the document. On an sm_90 GPU everything is compiled first, in ``processes`` (default:
    every core) at once."""
    import torch

    configs = [None] + candidates(v, min_block, torch_dtype(dtype).itemsize)
    deadline = time.monotonic() + budget_s
    with device.stream():  # inputs, timing and CUDA graphs on one stream (Device.stream)
        gen = torch.Generator(device=device.kind).manual_seed(0)
        zero = torch.zeros((), device=device.kind, dtype=torch_dtype(dtype), requires_grad=True)
        logits = torch.randn(n, v, device=device.kind, generator=gen).to(torch_dtype(dtype)) + zero
        target = torch.randint(0, v, (n,), device=device.kind, generator=gen)
        out = torch.empty_like(logits)
        raw = logits.detach()
        bytes_ = cross_entropy_bytes(n, v, dtype, "fwd+bwd")
        copy = device.time(lambda: out.copy_(raw))
        rows = []
        with compiled_first(device, budget_s,
                            lambda: compile_candidates(configs, lambda: _step(logits, target), processes)) as compiling:
            loss0, grad0 = _step(logits, target)
            scale = float(grad0.abs().max().float())
            for config, compile_error in zip(configs, compiling.pop("errors", [None] * len(configs))):
                row = {"config": "default" if config is None else config}
                if compile_error:
                    rows.append(dict(row, error=f"does not compile: {compile_error}"))
                    progress(_line(rows[-1]))
                    continue
                if config is not None and time.monotonic() > deadline:  # the default is always timed
                    rows.append(dict(row, skipped="the sweep's time budget (--budget) was spent"))
                    continue
                try:
                    with launching(config):
                        loss, grad = _step(logits, target)
                        row["loss_rel_diff"] = abs(loss.item() - loss0.item()) / abs(loss0.item())
                        row["grad_max_diff"] = float((grad.float() - grad0.float()).abs().max()) / scale
                        row.update(device.time(lambda: _step(logits, target)))
                        if device.can_replay:
                            row.update(device.graph_time(lambda: _step(logits, target)))
                    row["fraction_of_copy"] = copy["ms"] / _kernel_ms(row)
                    row["tb_per_s"] = bytes_ / _kernel_ms(row) / 1e9
                except Exception as exc:  # noqa: BLE001 -- one failing candidate must not end the sweep
                    for key in ("ms", "graph_ms"):
                        row.pop(key, None)
                    row["error"] = error_text(exc)
                progress(_line(row))
                rows.append(row)
    return {"n": n, "v": v, "dtype": dtype, "bytes": bytes_, "copy": copy, "compiling": compiling, "rows": rows}


def _name(config) -> str:
    if config == "default":
        return "default"
    name = f"BLOCK_V={config['block_v']} ROWS={config['rows']} warps={config['warps']} stages={config['stages']}"
    name += f" per_sm={config['per_sm']}" if "per_sm" in config else ""  # older sweeps have none
    name += " (16 threads a row)" if config.get("row_a_thread") is False else ""
    return name + (" (class-major stores)" if config.get("row_major_stores") is False else "")


def _kernel_ms(row: dict) -> float:
    """The time candidates are ranked by: the graph replay where there is one, else the call."""
    return row.get("graph_ms", row["ms"])


def _line(row: dict) -> str:
    if "ms" in row:
        replay = f"replay {row['graph_ms']:.4f} ms  " if "graph_ms" in row else ""
        return (f"{_name(row['config']):<48} {row['ms']:.4f} ms  {replay}{row['fraction_of_copy']:.0%} of copy  "
                f"loss diff {row['loss_rel_diff']:.1e}  grad diff {row['grad_max_diff']:.1e}")
    return f"{_name(row['config']):<48} {row.get('error') or row.get('skipped')}"


def table(doc: dict) -> str:
    """The timed candidates, fastest first (by the replay where there is one), as a markdown table."""
    timed = sorted((r for r in doc["rows"] if "ms" in r), key=_kernel_ms)
    lines = [f"Cross-entropy forward + backward, {doc['dtype']} {doc['n']} x {doc['v']}: copy of the logits "
             f"{doc['copy']['ms']:.4f} ms (the same minimal bytes)", "",
             "| configuration | call ms | replay ms | of copy | TB/s | loss rel. diff | grad diff / max |grad| |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {_name(r['config'])} | {r['ms']:.4f} | "
              + (f"{r['graph_ms']:.4f}" if "graph_ms" in r else "—")
              + f" | {r['fraction_of_copy']:.0%} | {r['tb_per_s']:.2f} | "
              f"{r['loss_rel_diff']:.1e} | {r['grad_max_diff']:.1e} |" for r in timed]
    missing = [r for r in doc["rows"] if "ms" not in r]
    if missing:
        lines += ["", f"{len(missing)} not timed: " + "; ".join(
            f"{_name(r['config'])}: {r.get('error') or r.get('skipped')}" for r in missing[:10])]
    return "\n".join(lines + compiling_lines(doc.get("compiling")))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m report ce-sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", type=shape_arg("NV", "8192x32000"), default=(8192, 32000), metavar="NxV",
                   help="default: 8192x32000")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), default="bf16")
    p.add_argument("--budget", type=float, default=180.0, metavar="SECONDS",
                   help="stop starting candidates after this long (default: 180)")
    p.add_argument("--min-block", type=int, default=1024, metavar="LOGITS",
                   help="shortest BLOCK_V to try, a power of two (default: 1024)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    argv = sys.argv[2:] if argv is None else list(argv)
    args = p.parse_args(argv)
    if args.min_block < 16 or args.min_block & (args.min_block - 1):
        p.error(f"--min-block must be a power of two >= 16, got {args.min_block}")
    device = sweep_device(p)
    n, v = args.shape
    doc = sweep(n, v, args.dtype, device, args.budget, args.min_block)
    publish(doc, "ce-sweep", argv, table(doc), args.out)
    return 0
