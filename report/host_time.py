"""python -m report host-time: how much of a call's measured time is the host's, on the GPU machine.

``do_bench`` flushes the L2 before each timed call and records its start event before the call's
Python runs, so a call whose host work (argument checks, descriptors, autograd, Triton's launcher)
outlasts the flush is timed at its host cost, not its kernels'. The first H200 run of the current
kernels measured exactly that (report/NOTES.md, "Host time"). For each case this command prints:

    do_bench   the median (p20, p80) the report times, L2 flushed between calls
    host       the host's time to issue one call, with the GPU kept busy by a long sleep kernel so
               that nothing waits for it (the mean of --calls calls)
    profile    (--profile) the calls' Python profile, the functions with the most own time
    kernels    (--kernels) the GPU kernels a call launches (torch.profiler), each one's launches and
               µs a call, the longest first: where the GPU time of a replayed step goes

for this project's kernels beside torch eager at the same shapes: cross-entropy forward + backward
(bf16 8192 x 32000 and 4194304 x 10), linear + relu forward (bf16 16384 x 1024 x 4096) and forward
+ backward (bf16 4096 x 784 x 1024).

    python -m report host-time --out host_time.json [--profile] [--kernels]
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

from .sweep_cli import publish

SLEEP_CYCLES = 2_000_000_000  # about a second of GPU time at H200 clocks: longer than any --calls issue


def _cross_entropy_step(impl: str, n: int, v: int):
    import torch
    import torch.nn.functional as F

    from triton_kernels import cross_entropy

    gen = torch.Generator(device="cuda").manual_seed(0)
    logits = torch.randn(n, v, device="cuda", generator=gen).to(torch.bfloat16).requires_grad_()
    target = torch.randint(0, v, (n,), device="cuda", generator=gen)
    loss_fn = cross_entropy if impl == "ours" else F.cross_entropy

    def step():
        return torch.autograd.grad(loss_fn(logits, target), logits)[0]
    return step


def _linear_step(impl: str, m: int, k: int, n: int, train: bool):
    import torch
    import torch.nn.functional as F

    from triton_kernels import linear_act

    gen = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(m, k, device="cuda", generator=gen).to(torch.bfloat16).requires_grad_(train)
    w = (torch.randn(n, k, device="cuda", generator=gen) / k ** 0.5).to(torch.bfloat16).requires_grad_(train)
    b = torch.randn(n, device="cuda", generator=gen).to(torch.bfloat16).requires_grad_(train)
    dy = torch.randn(m, n, device="cuda", generator=gen).to(torch.bfloat16)
    forward = ((lambda: linear_act(x, w, b, activation="relu")) if impl == "ours"
               else (lambda: F.relu(F.linear(x, w, b))))
    if train:
        return lambda: torch.autograd.grad(forward(), (x, w, b), dy)

    def inference():
        with torch.no_grad():
            return forward()
    return inference


CASES = {
    "cross_entropy bf16 8192x32000 fwd+bwd": lambda impl: _cross_entropy_step(impl, 8192, 32000),
    "cross_entropy bf16 4194304x10 fwd+bwd": lambda impl: _cross_entropy_step(impl, 4194304, 10),
    "linear relu bf16 16384x1024x4096 fwd": lambda impl: _linear_step(impl, 16384, 1024, 4096, False),
    "linear relu bf16 4096x784x1024 fwd+bwd": lambda impl: _linear_step(impl, 4096, 784, 1024, True),
}
IMPLS = ("ours", "eager")


def _issue(fn, calls: int, profiler=None) -> float:
    """Seconds the host takes to issue ``calls`` calls of ``fn`` while the GPU sleeps (nothing waits
    on it), under ``profiler`` (a cProfile.Profile) when given."""
    import torch

    torch.cuda.synchronize()
    torch.cuda._sleep(SLEEP_CYCLES)
    start = time.perf_counter()
    with profiler or contextlib.nullcontext():
        for _ in range(calls):
            fn()
    elapsed = time.perf_counter() - start
    torch.cuda.synchronize()
    return elapsed


def host_us(fn, calls: int) -> float:
    """Mean host time of one ``fn()`` in microseconds."""
    return _issue(fn, calls) / calls * 1e6


def profile_text(fn, calls: int, lines: int = 20) -> str:
    """The calls' Python profile, the functions with the most own time first."""
    prof = cProfile.Profile()
    _issue(fn, calls, prof)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def kernel_times(fn, calls: int, cuda: bool = True) -> list[dict]:
    """The GPU kernels ``calls`` calls of ``fn`` launch, by torch.profiler: each one's name, launches
    a call and µs a call (its own device time), the longest first. ``cuda=False`` (tests without a
    GPU): the CPU operators instead, by their own CPU time."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    fn()
    sync()
    with profile(activities=[ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU]) as prof:
        for _ in range(calls):
            fn()
        sync()
    rows = [{"kernel": e.key, "launches": e.count / calls,
             "us": (e.self_device_time_total if cuda else e.self_cpu_time_total) / calls}
            for e in prof.key_averages()]
    return sorted((r for r in rows if r["us"] > 0), key=lambda r: -r["us"])


def kernels_text(rows: list[dict], lines: int = 12) -> str:
    """kernel_times as a table: the ``lines`` longest, and the total of all."""
    out = [f"{r['us']:>9.1f} µs {r['launches']:>5.2f}x  {r['kernel'][:100]}" for r in rows[:lines]]
    return "\n".join(out + [f"{sum(r['us'] for r in rows):>9.1f} µs in all ({len(rows)} kernels)"])


def measure(calls: int, profile: bool, progress=print, kernels: bool = False) -> list[dict]:
    from triton.testing import do_bench

    rows = []
    for case, make in CASES.items():
        for impl in IMPLS:
            fn = make(impl)
            fn()  # compile and autotune outside the timings
            p50, p20, p80 = do_bench(fn, warmup=10, rep=50, quantiles=[0.5, 0.2, 0.8])
            row = {"case": case, "impl": impl, "do_bench_ms": p50, "do_bench_p20_ms": p20,
                   "do_bench_p80_ms": p80, "host_us": host_us(fn, calls)}
            if profile:
                row["profile"] = profile_text(fn, calls)
            if kernels:
                row["kernels"] = kernel_times(fn, min(calls, 20))
            progress(f"{case:<40} {impl:<6} do_bench {p50:.4f} ms ({p20:.4f}-{p80:.4f}); "
                     f"host {row['host_us']:.0f} us a call")
            rows.append(row)
    return rows


def main(argv=None) -> int:
    from .environment import cuda_available

    p = argparse.ArgumentParser(prog="python -m report host-time", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=50, help="calls a host measurement averages (default: 50)")
    p.add_argument("--profile", action="store_true", help="also profile the calls' Python (cProfile)")
    p.add_argument("--kernels", action="store_true", help="also list the GPU kernels a call launches (torch.profiler)")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write the results as JSON to FILE")
    argv = sys.argv[2:] if argv is None else list(argv)
    args = p.parse_args(argv)
    if args.calls < 1:
        p.error(f"--calls must be at least 1, got {args.calls}")
    if not cuda_available():
        p.error("needs a CUDA device: the host's share of a call is only seen beside a GPU")
    rows = measure(args.calls, args.profile, kernels=args.kernels)
    details = []
    for row in rows:
        parts = [row["profile"]] if "profile" in row else []
        parts += [kernels_text(row["kernels"])] if "kernels" in row else []
        if parts:
            details.append("\n".join([f"== {row['case']} {row['impl']}", *parts]))
    publish({"rows": rows}, "host-time", argv, table(rows) + "".join("\n\n" + d for d in details), args.out)
    return 0


def table(rows: list) -> str:
    """Each case's do_bench median beside its host time, as markdown."""
    lines = ["| case | impl | do_bench ms (p20-p80) | host µs a call |", "|---|---|---|---|"]
    lines += [f"| {r['case']} | {r['impl']} | {r['do_bench_ms']:.4f} ({r['do_bench_p20_ms']:.4f}-"
              f"{r['do_bench_p80_ms']:.4f}) | {r['host_us']:.0f} |" for r in rows]
    return "\n".join(lines)
