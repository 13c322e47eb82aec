"""Timing, input rotation, peak memory and progress, for the GPU and (as a smoke test) the CPU.

On CUDA a measurement is ``triton.testing.do_bench``: warm-up, then many timed calls between CUDA
events with the L2 cache flushed before each; we keep the median and the 20th/80th percentiles.
On the CPU (the teaching figure's CPU rows, and the benchmark code paths in CI) it is a wall-clock
loop over rounds; we keep the minimum, since other processes and the OS only ever add time (the
least disturbed round is what another machine reproduces), with the median and maximum as the
spread.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import statistics
import sys
import time

# Rotation stops at this many input sets: enough to exceed the L2 for any shape worth timing.
MAX_ROTATING_SETS = 64


class Device:
    """Where a benchmark runs and how it is timed there.

    ``warmup_ms`` and ``rep_ms`` are do_bench's budgets: time spent warming up and time spent in
    timed repetitions (do_bench derives the counts from a first estimate of one call).
    """

    def __init__(self, kind: str, warmup_ms: float = 25, rep_ms: float = 100):
        if kind not in ("cuda", "cpu"):
            raise ValueError(f"device kind must be 'cuda' or 'cpu', got {kind!r}")
        self.kind = kind
        self.warmup_ms = warmup_ms
        self.rep_ms = rep_ms
        self.l2_bytes = None
        self._stream = None
        if kind == "cuda":
            import torch

            self.l2_bytes = getattr(torch.cuda.get_device_properties(0), "L2_cache_size", None)

    def synchronize(self) -> None:
        if self.kind == "cuda":
            import torch

            torch.cuda.synchronize()

    def time(self, fn, grad_to_none=None) -> dict:
        """``fn()``'s time in ms. CUDA: median, 20th and 80th percentile {"ms", "ms_p20", "ms_p80"};
        CPU: minimum, median, maximum and the number of rounds {"ms", "ms_median", "ms_max", "rounds"}."""
        if self.kind == "cuda":
            from triton.testing import do_bench

            p50, p20, p80 = do_bench(
                fn, warmup=self.warmup_ms, rep=self.rep_ms, grad_to_none=grad_to_none, quantiles=[0.5, 0.2, 0.8]
            )
            return {"ms": p50, "ms_p20": p20, "ms_p80": p80}
        return _cpu_time(fn, grad_to_none, self.warmup_ms, self.rep_ms)

    @property
    def can_replay(self) -> bool:
        """Whether :meth:`graph_time` can run here (a CUDA device)."""
        return self.kind == "cuda"

    def stream(self):
        """The context the benchmarks run in: on CUDA a stream of their own, which :meth:`graph_time`
        captures on. Inputs must be made there too: the autograd engine makes the stream a tensor was
        made on wait for its gradient, and when that is the legacy default stream CUDA refuses the
        dependency inside a capture (on the H200 every forward + backward with non-leaf logits
        failed to capture so, eager torch's too)."""
        if self.kind != "cuda":
            return contextlib.nullcontext()
        import torch

        if self._stream is None:
            self._stream = torch.cuda.Stream()
        return torch.cuda.stream(self._stream)

    def graph_time(self, fn) -> dict:
        """``fn()``'s GPU time without its host work: warmed up, checked for host syncs, captured once
        in a CUDA graph on the current stream (see :meth:`stream`), and the replay timed as
        :meth:`time` times a call (L2 flushed before each) {"graph_ms", "graph_ms_p20", "graph_ms_p80"}.
        On the GPU machine the host takes up to 1 ms to issue a short step (report/NOTES.md), which
        a call's time includes and a replay's does not. Raises where ``fn`` cannot be captured: a
        CPU device, the default stream, a host sync in ``fn`` (found before capturing, since a
        failed capture leaves torch's CUDA generator unusable for the rest of the process)."""
        if self.kind != "cuda":
            raise RuntimeError("a CUDA graph needs a CUDA device")
        import torch

        stream = torch.cuda.current_stream()
        if stream == torch.cuda.default_stream():
            raise RuntimeError("graph_time runs under Device.stream(): a capture cannot use the default stream")
        for _ in range(2):  # allocations and lazy initialisation happen before the capture
            fn()
        torch.cuda.set_sync_debug_mode("error")
        try:
            fn()
        except RuntimeError as exc:
            raise RuntimeError(f"not captured: the call waits for the GPU ({exc})") from None
        finally:
            torch.cuda.set_sync_debug_mode("default")
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            fn()
        timed = self.time(graph.replay)
        return {"graph_ms": timed["ms"], "graph_ms_p20": timed["ms_p20"], "graph_ms_p80": timed["ms_p80"]}

    def rotating(self, make_set, set_bytes: int) -> list:
        """Input sets to cycle through so that together they exceed twice the L2 cache.

        do_bench flushes the L2 before each timed call by writing its own buffer, but that leaves
        the cache full of dirty lines of that buffer; distinct inputs whose total is well past the
        L2 make a small problem read its operands from device memory however the flush behaves.
        """
        if not self.l2_bytes or set_bytes >= 2 * self.l2_bytes:
            return [make_set()]
        count = min(MAX_ROTATING_SETS, math.ceil(2 * self.l2_bytes / max(set_bytes, 1)))
        return [make_set() for _ in range(count)]

    def peak_extra_bytes(self, fn) -> int | None:
        """Device memory ``fn()`` needs beyond what is allocated when it starts (None on the CPU)."""
        if self.kind != "cuda":
            return None
        import torch

        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base


def _cpu_time(fn, grad_to_none, warmup_ms: float, rep_ms: float) -> dict:
    """Wall-clock statistics of ``fn()``: warm up for ``warmup_ms``, then time calls until
    ``rep_ms`` have passed (at least 3 calls); the minimum is the measurement."""
    def once() -> float:
        for t in grad_to_none or ():
            t.grad = None
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3

    def run_for(budget_ms: float, at_least: int) -> list:
        samples = [once()]
        while len(samples) < at_least or sum(samples) < budget_ms:
            samples.append(once())
        return samples

    run_for(warmup_ms, 1)
    samples = run_for(rep_ms, 3)
    return {"ms": min(samples), "ms_median": statistics.median(samples), "ms_max": max(samples),
            "rounds": len(samples)}


def cycling(fn, sets):
    """A no-argument callable that applies ``fn`` to the next input set each time it is called."""
    it = itertools.cycle(sets)
    return lambda: fn(*next(it))


class Progress:
    """One line per case: ``[  3/120  0:00:12] label ... result`` (flushed, so logs stream)."""

    def __init__(self, total: int, stream=None, verbose: bool = False, budget_s: float | None = None):
        self.total = total
        self.verbose = verbose  # print tracebacks of failed cases
        self.done = 0
        self.start = time.perf_counter()
        self.budget_s = budget_s  # no case starts once this many seconds have passed
        self.stream = stream or sys.stdout

    def out_of_time(self) -> bool:
        return self.budget_s is not None and time.perf_counter() - self.start > self.budget_s

    def start_case(self, label: str) -> None:
        self.done += 1
        elapsed = int(time.perf_counter() - self.start)
        width = len(str(self.total))
        stamp = f"{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        print(f"[{self.done:>{width}}/{self.total} {stamp}] {label} ...", end=" ", file=self.stream, flush=True)

    def end_case(self, result: str) -> None:
        print(result, file=self.stream, flush=True)

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
