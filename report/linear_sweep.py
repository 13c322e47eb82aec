"""python -m report linear-sweep: the linear forward's autotuning table at the goal shapes.

The forward kernels of triton_kernels/linear_act.py are autotuned: for each key (M bucket, N, K,
activation, epilogue, precision) Triton times every tile the pruner keeps and keeps the fastest.
Which tiles win, and by how much, is what the per-GPU defaults are set from; this command writes
the autotuner's own full timing table (median, 20th and 80th percentile of each candidate, as
``Autotuner.configs_timings`` holds them) beside the cuBLAS matmul alone at the same shape, for the
TMA kernel and the portable one, both epilogues ("y": inference, "y+g": y and σ'(ξ) for training).
Then the winner's neighbours in what the autotuner does not search, since each would double its
candidates: groups of 4 and 16 row tiles (the L2 reuse of W's column tiles) instead of 8, and the
TMA kernel's loops flattened the other way, timed in the same way beside the winner again.

    python -m report linear-sweep                         goal shapes, bf16 and tf32, relu and gelu_tanh
    python -m report linear-sweep --shapes 8192x4096x4096 --dtypes bf16 --out sweep.json

Shapes are M x K x N as in report/linear_bench.py. Each candidate tile is a kernel variant of its
own (seconds to compile): on an sm_90 GPU every table's candidates are compiled first, all at once
in parallel processes, into Triton's cache, where the autotuner finds them (the winners' neighbours,
known only once a table is timed, compile as they are timed); the budget, compiling included, stops
the sweep, and what was not reached is listed as such, as is a count of the kernels compiled while
timing.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import importlib
import itertools
import sys
import time
from pathlib import Path

from .compile_check import compile_launches
from .linear_bench import GOAL_SHAPES, SMALL_GOAL_SHAPE, _portable_kernel
from .metrics import linear_flops, torch_dtype
from .runner import error_text, tf32_mode
from .sweep_cli import compiled_first, compiling_lines, publish, shape_arg, sweep_device
from .timing import Device

FORWARD_KERNELS = {"tma": "_linear_act_fwd_tma_kernel", "portable": "_linear_act_fwd_kernel"}  # linear_act's
KERNELS = tuple(FORWARD_KERNELS)
EPILOGUES = ("y", "y+g")


def _kernel_object(la, kernel: str):
    return getattr(la, FORWARD_KERNELS[kernel])


def table_of(m: int, k: int, n: int, dtype: str, activation: str, epilogue: str, kernel: str, seed: int = 0) -> dict:
    """Run one forward with the autotuner's memory emptied, so that it times every candidate the
    pruner keeps; the row: {"kernel_ran", "best", "candidates": [{"config", "ms", "ms_p20",
    "ms_p80"}], "neighbours": the same for the winner and its neighbours} (one candidate and no
    timings, nor neighbours, when the pruner keeps one tile)."""
    import torch

    la = importlib.import_module("triton_kernels.linear_act")  # the package's linear_act is the function
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=device).manual_seed(seed)
    dt = torch_dtype(dtype)
    x = torch.randn(m, k, device=device, generator=gen).to(dt)
    w = (torch.randn(n, k, device=device, generator=gen) / k ** 0.5).to(dt)
    b = torch.randn(n, device=device, generator=gen).to(dt)

    def run():
        for name in KERNELS:  # which kernel the launch took: its autotuner records a best config
            obj = _kernel_object(la, name)
            obj.cache.clear()
            obj.best_config = None
            with contextlib.suppress(AttributeError):
                del obj.configs_timings  # a table left by an earlier key must not be read as this one's
        _forward(x, w, b, dtype, activation, epilogue, kernel)
        ran = [name for name in KERNELS if _kernel_object(la, name).best_config is not None]
        if not ran:
            raise RuntimeError("neither forward kernel ran")
        return ran[0], _timed_rows(_kernel_object(la, ran[0]))

    name, rows = run()
    obj = _kernel_object(la, name)
    row = {"kernel_ran": name, "best": _config_dict(obj.best_config), "candidates": rows}
    if rows:
        saved = obj.configs, obj.early_config_prune
        obj.configs, obj.early_config_prune = [obj.best_config, *_neighbours(obj.best_config)], None
        try:
            row["neighbours"] = run()[1]
        finally:
            obj.configs, obj.early_config_prune = saved
            obj.cache.clear()
    return row


def _forward(x, w, b, dtype: str, activation: str, epilogue: str, kernel: str) -> None:
    """One forward of linear_act on ``kernel`` (the autotuner tunes it where its key is new)."""
    import torch

    la = importlib.import_module("triton_kernels.linear_act")
    precision = la._input_precision(x.dtype, dtype == "tf32")
    with _portable_kernel() if kernel == "portable" else contextlib.nullcontext(), torch.no_grad():
        la._forward(x, w, b, activation, 0.0 if activation == "relu" else 0.01, precision, epilogue)


def _compile_tables(specs, processes: int | None = None, device: str = "cuda") -> dict:
    """Every candidate tile of every table (dtype, (M, K, N), activation, epilogue, kernel) compiled
    at once before any is timed (compile_check.compile_launches: the launches recorded on empty
    tensors of the table's shapes, each config the pruner keeps). The winners' neighbours, known
    only after a table is timed, compile as they are timed."""
    import torch

    def launch(dtype, shape, activation, epilogue, kernel):
        m, k, n = shape
        empty = functools.partial(torch.empty, device=device, dtype=torch_dtype(dtype))
        _forward(empty(m, k), empty(n, k), empty(n), dtype, activation, epilogue, kernel)

    la = importlib.import_module("triton_kernels.linear_act")
    return compile_launches(la, list(FORWARD_KERNELS.values()),
                            [functools.partial(launch, *spec) for spec in specs], processes)


def _timed_rows(obj) -> list[dict]:
    """The autotuner's timings of its last tuning, fastest first."""
    timings = getattr(obj, "configs_timings", None) or {}
    return [{"config": _config_dict(cfg), **dict(zip(("ms", "ms_p20", "ms_p80"), _quantiles(t)))}
            for cfg, t in sorted(timings.items(), key=lambda item: _quantiles(item[1])[0])]


def _neighbours(cfg) -> list:
    """The config with 4 and 16 row tiles a group instead of its own, and (TMA) its loops flattened
    the other way."""
    changes = [{"GROUP": g} for g in (4, 16) if g != cfg.kwargs["GROUP"]]
    changes += [{"FLATTEN": not cfg.kwargs["FLATTEN"]}] if "FLATTEN" in cfg.kwargs else []
    out = []
    for change in changes:
        neighbour = copy.copy(cfg)
        neighbour.kwargs = {**cfg.kwargs, **change}
        out.append(neighbour)
    return out


def _quantiles(t) -> list[float]:
    return list(t) if isinstance(t, (list, tuple)) else [t]


def _config_dict(cfg) -> dict:
    kw = cfg.kwargs
    return {"BLOCK_M": kw["BLOCK_M"], "BLOCK_N": kw["BLOCK_N"], "BLOCK_K": kw["BLOCK_K"],
            "stages": cfg.num_stages, "warps": cfg.num_warps, "group": kw["GROUP"],
            **({"epilogue_parts": kw["EPI_SPLIT"], "programs_per_sm": kw["PER_SM"], "flattened": kw["FLATTEN"]}
               if "EPI_SPLIT" in kw else {})}  # the TMA kernel's


def _matmul_ms(m: int, k: int, n: int, dtype: str, device: Device) -> dict:
    import torch

    gen = torch.Generator(device=device.kind).manual_seed(1)
    dt = torch_dtype(dtype)
    x = torch.randn(m, k, device=device.kind, generator=gen).to(dt)
    w = torch.randn(n, k, device=device.kind, generator=gen).to(dt)
    return device.time(lambda: x @ w.t())


def sweep(shapes, dtypes, activations, kernels, epilogues, device: Device, budget_s: float, progress=print,
          processes: int | None = None) -> dict:
    """Every (shape, dtype, activation, epilogue, kernel) table until ``budget_s`` is spent (compiling
    included: on an sm_90 GPU every table's candidates first, in ``processes``, default every core,
    at once); the document. The goal's order: bf16 before tf32, the first shape's every table
    before the next shape's."""
    deadline = time.monotonic() + budget_s
    # IEEE float32 always takes the portable kernel
    specs = [(dtype, shape, activation, epilogue, kernel) for dtype in dtypes for shape in shapes
             for activation in activations for epilogue in epilogues for kernel in kernels
             if not (dtype == "fp32" and kernel == "tma")]
    groups = []
    with compiled_first(device, budget_s, lambda: _compile_tables(specs, processes)) as compiling:
        if "errors" in compiling:  # tables with a tile that failed
            compiling["errors"] = sum(e is not None for e in compiling["errors"])
        for (dtype, (m, k, n)), tables in itertools.groupby(specs, key=lambda spec: spec[:2]):
            with tf32_mode(dtype == "tf32"):
                group = {"m": m, "k": k, "n": n, "dtype": dtype, "flops": linear_flops(m, k, n, "fwd"),
                         "matmul": _matmul_ms(m, k, n, dtype, device), "tables": []}
                for *_, activation, epilogue, kernel in tables:
                    row = {"activation": activation, "epilogue": epilogue, "kernel": kernel}
                    if time.monotonic() > deadline:
                        row["skipped"] = "the sweep's time budget (--budget) was spent"
                    else:
                        try:
                            row.update(table_of(m, k, n, dtype, activation, epilogue, kernel))
                        except Exception as exc:  # noqa: BLE001 -- one failing table must not end the sweep
                            row["error"] = error_text(exc)
                    group["tables"].append(row)
                    progress(_line(group, row))
                groups.append(group)
    return {"compiling": compiling, "groups": groups}


def _tile(cfg: dict) -> str:
    """M x N x K, the TMA epilogue's parts where they are quarters, its programs an SM where several."""
    per_sm = cfg.get("programs_per_sm", 1)
    notes = ["epilogue in quarters"] * (cfg.get("epilogue_parts") == 4) + [f"{per_sm} programs an SM"] * (per_sm > 1)
    return f"{cfg['BLOCK_M']}x{cfg['BLOCK_N']}x{cfg['BLOCK_K']}" + "".join(f" ({n})" for n in notes)


def _change(cfg: dict, best: dict) -> str:
    """What a neighbour changes in the winner."""
    if cfg.get("group") != best.get("group"):
        return f"groups of {cfg['group']} row tiles (not {best['group']})"
    if cfg.get("flattened") != best.get("flattened"):
        return "loops flattened" if cfg["flattened"] else "loops not flattened"
    return f"none: the winner again, {_name(best)}"


def _name(cfg: dict) -> str:
    return f"{_tile(cfg)} s{cfg['stages']} w{cfg['warps']}"


def _line(group: dict, row: dict) -> str:
    head = (f"{group['dtype']} {group['m']}x{group['k']}x{group['n']} {row['activation']} {row['epilogue']} "
            f"{row['kernel']}:")
    if "error" in row or "skipped" in row:
        return f"{head} {row.get('error') or row['skipped']}"
    best = row["candidates"][0] if row["candidates"] else None
    if best is None:
        return f"{head} one candidate kept ({_name(row['best'])}), not timed by the autotuner"
    return (f"{head} best {_name(best['config'])} {best['ms']:.4f} ms "
            f"({group['matmul']['ms'] / best['ms']:.0%} of the matmul alone, {group['matmul']['ms']:.4f} ms); "
            f"{len(row['candidates'])} timed; ran {row['kernel_ran']}")


def table(doc: dict) -> str:
    """Every timed candidate of every table, fastest first, as markdown."""
    lines = []
    for g in doc["groups"]:
        mm = g["matmul"]["ms"]
        lines += [f"### {g['dtype']} M={g['m']} K={g['k']} N={g['n']}: cuBLAS matmul alone {mm:.4f} ms "
                  f"({g['flops'] / mm / 1e9:.0f} TFLOP/s)", ""]
        for row in g["tables"]:
            title = f"{row['activation']}, epilogue {row['epilogue']}, {row['kernel']} kernel"
            if "candidates" not in row:
                lines += [f"{title}: {row.get('error') or row.get('skipped')}", ""]
                continue
            if row["kernel_ran"] != row["kernel"]:
                title += f" (the {row['kernel_ran']} kernel ran)"
            lines += [f"{title}:", "", "| tile (M x N x K) | stages | warps | ms | p20-p80 | of matmul |",
                      "|---|---|---|---|---|---|"]
            for c in row["candidates"]:
                cfg = c["config"]
                spread = f"{c['ms_p20']:.4f}-{c['ms_p80']:.4f}" if "ms_p80" in c else "-"
                lines.append(f"| {_tile(cfg)} | {cfg['stages']} | "
                             f"{cfg['warps']} | {c['ms']:.4f} | {spread} | {mm / c['ms']:.0%} |")
            if not row["candidates"]:
                lines.append(f"| {_name(row['best'])} (the only candidate kept; not timed) | | | | | |")
            lines.append("")
            if row.get("neighbours"):
                lines += ["The winner beside its neighbours (timed together, after the table):", "",
                          "| change | ms | p20-p80 | of matmul |", "|---|---|---|---|"]
                for c in row["neighbours"]:
                    spread = f"{c['ms_p20']:.4f}-{c['ms_p80']:.4f}" if "ms_p80" in c else "-"
                    lines.append(f"| {_change(c['config'], row['best'])} | {c['ms']:.4f} | {spread} | "
                                 f"{mm / c['ms']:.0%} |")
                lines.append("")
    return "\n".join(lines + compiling_lines(doc.get("compiling")))


def _choices(allowed):
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in allowed]
        if not items or bad:
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {', '.join(allowed)}, got {text!r}")
        return items
    return parse


def main(argv=None) -> int:
    from triton_kernels.activations import ACTIVATIONS

    p = argparse.ArgumentParser(prog="python -m report linear-sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", type=shape_arg("MKN", "8192x4096x4096"), nargs="+", metavar="MxKxN",
                   default=[*GOAL_SHAPES, SMALL_GOAL_SHAPE], help="default: the goal shapes")
    p.add_argument("--dtypes", type=_choices(("bf16", "fp16", "tf32", "fp32")), default=["bf16", "tf32"])
    p.add_argument("--activations", type=_choices(tuple(ACTIVATIONS)), default=["relu", "gelu_tanh"])
    p.add_argument("--kernels", type=_choices(KERNELS), default=list(KERNELS))
    p.add_argument("--epilogues", type=_choices(EPILOGUES), default=list(EPILOGUES))
    p.add_argument("--budget", type=float, default=180.0, metavar="SECONDS",
                   help="stop starting tables after this long (default: 180)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    argv = sys.argv[2:] if argv is None else list(argv)
    args = p.parse_args(argv)
    device = sweep_device(p)  # on a CPU the interpreter has one tile: nothing for the autotuner to time
    doc = sweep(args.shapes, args.dtypes, args.activations, args.kernels, args.epilogues, device, args.budget)
    publish(doc, "linear-sweep", argv, table(doc), args.out)
    return 0
