"""Compile every Triton kernel variant the library launches for an H100 (sm_90), without a GPU.

The kernels' tests run under TRITON_INTERPRET=1 where there is no GPU, and the interpreter compiles
nothing: a construct it accepts but the compiler rejects, a tile that spills registers or a
pipeline that needs more than Hopper's 227 KB of shared memory per block would only show on the
GPU. This tool finds them ahead of time.

It drives the real host code (the autograd functions of ``triton_kernels.linear_act`` and
``triton_kernels.cross_entropy``) on CPU tensors, with each kernel swapped for a recorder, so
what it compiles is exactly what the host launches: the same constexprs, the same integer
specialization (a value of 1 becomes a constant, multiples of 16 are marked divisible), the same
pointer alignment, and for autotuned kernels every config that the autotuner's own pruner keeps.
Each distinct variant is compiled by ``triton.compile`` for ``GPUTarget("cuda", 90, 32)``; the
ptxas bundled with the triton wheel assembles it, its ``-v`` log gives registers, spills and
stack, and the compiled metadata gives the shared memory.

It relies on two private interfaces, both checked with Triton 3.6 and 3.9: the library's
private host functions (``_forward``, the ``oracle_kernels`` operators, ``_CrossEntropyInplace``: the public ones
refuse CPU tensors outside the interpreter), and the JIT's own argument binding
(``create_function_from_signature``, ``JITFunction._pack_args``), so that the specialization is
Triton's and not a copy of it.

    python -m report.compile_check            # all ~1,700 variants: 12-16 minutes on 2 cores
    python -m report.compile_check --quick    # ~270 (TF32 and bf16, 4 activations): 3-6 minutes
    python -m report.compile_check --filter fwd --jobs 4
    python -m report.compile_check --warm --filter bf16   # on the GPU machine, before timing
    python -m report.compile_check --epilogue             # σ and σ' in SASS instructions an output (~20 s)
    python -m report.compile_check --rows                 # the cross-entropy loop's instructions a row (~10 s)

To check another Triton release, put it first on the path, e.g. ``pip install --target DIR
triton==3.6.0`` then ``PYTHONPATH=DIR python -m report.compile_check``. The exit status is 1 when
any variant fails to compile, or when a kernel launched without autotuning spills more than
``--max-spill`` bytes (default 16) or needs more registers or shared memory than a block can
have. Autotune candidates that do are flagged in the table only: the autotuner times every
candidate (a spilling tile is just slower) and skips those that cannot launch.
"""
import argparse
import collections
import contextlib
import importlib
import io
import itertools
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ARCH = 90  # compute capability of the H100
MAX_SHARED = 227 * 1024  # Hopper's largest shared memory allocation per block, in bytes
MAX_THREAD_REGS = 65536  # registers per SM: a block must fit (regs/thread x threads)
# Flags that are always False on a GPU (see the kernels): not worth a column.
_HIDDEN = {"INTERPRET_BF16", "ROUND_BF16"}
_PTXAS = {
    "regs": re.compile(r"Used (\d+) registers"),
    "spill_st": re.compile(r"(\d+) bytes spill stores"),
    "spill_ld": re.compile(r"(\d+) bytes spill loads"),
    "stack": re.compile(r"(\d+) bytes stack frame"),
}


# ---------------------------------------------------------------------------------------------
# Recording launches
# ---------------------------------------------------------------------------------------------
class _Recorder:
    """Stands in for a kernel object: ``kernel[grid](*args, **kwargs)`` adds the compile jobs of
    that launch to ``jobs`` (keyed like Triton's own cache) instead of running it."""

    def __init__(self, module, name, jobs):
        self.module, self.name, self.kernel, self.jobs = module, name, getattr(module, name), jobs

    def __getitem__(self, grid):
        return lambda *args, **kwargs: self.jobs.update(_launch_jobs(self, args, kwargs))


@contextlib.contextmanager
def recording(module, names, jobs):
    """While inside, launches of ``module``'s kernels ``names`` add their compile jobs to ``jobs``
    (a dict keyed like Triton's cache) instead of running: the host code runs as it is, the tensors
    it would have filled keep what they held."""
    recorders = [_Recorder(module, name, jobs) for name in names]
    for r in recorders:
        setattr(module, r.name, r)
    try:
        yield
    finally:
        for r in recorders:
            setattr(module, r.name, r.kernel)


@contextlib.contextmanager
def _linear_recording(la, jobs):
    """Record the linear_act kernels as launched on an H100 (which has TMA: aligned problems take
    the TMA kernels, the others the portable one and the δ pass); the backward's torch matmuls (cuBLAS on the GPU,
    nothing to compile) return empty results of their shapes instead of running on the CPU."""
    import torch

    mm, capable = la._mm, la._tma_capable
    la._mm = lambda a, b, precision: torch.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
    la._tma_capable = lambda t: True
    try:
        with recording(la, ["_linear_act_fwd_kernel", "_linear_act_fwd_tma_kernel", "_linear_act_delta_kernel",
                            "_linear_act_dx_tma_kernel"], jobs):
            yield
    finally:
        la._mm, la._tma_capable = mm, capable


CROSS_ENTROPY_KERNELS = ("_prologue_kernel", "_cross_entropy_kernel", "_backward_kernel")  # what a step launches


# The operators under the public functions: the public ones refuse CPU tensors outside the
# interpreter, and these tensors are only shapes for the recorders.
def _linear_op(x, w, b, activation, slope, precision, recompute):
    import torch

    return torch.ops.oracle_kernels.linear_act(x, w, b, activation, slope, precision, recompute, True)[0]


def _cross_entropy_op(logits, target, weight, reduction, smoothing, z_loss=0.1, inplace=False):
    import torch
    ce = importlib.import_module("triton_kernels.cross_entropy")

    options = (reduction, -100, smoothing, z_loss, ce._MAX_BLOCK_V)
    if inplace:
        return ce._CrossEntropyInplace.apply(logits, target, weight, *options, False)[0]
    return torch.ops.oracle_kernels.cross_entropy(logits, target, weight, *options, logits.requires_grad, False)[0]


def _linear_scenarios(quick):
    """Launch every linear_act kernel variant: each activation, dtype (fp32 IEEE and TF32, fp16,
    bf16), bias or not, each backward source of δ (dy, y, g, recompute), frozen weight."""
    import torch
    from triton_kernels.activations import ACTIVATIONS
    la = importlib.import_module("triton_kernels.linear_act")  # the package's linear_act is the function

    precisions = [(torch.float32, "ieee"), (torch.float32, "tf32"), (torch.float16, "tf32"), (torch.bfloat16, "tf32")]
    # A large aligned problem (the pruner keeps every tile that fits) and a small odd one (the
    # single small tile, no divisibility by 16).
    shapes = [(4096, 4096, 4096)] + ([] if quick else [(77, 33, 19)])
    activations = ACTIVATIONS
    if quick:  # TF32 and bf16; the cheapest epilogues and the one with the most registers
        precisions, activations = [precisions[1], precisions[3]], ("identity", "relu", "leaky_relu", "gelu_tanh")
    jobs = {}
    with _linear_recording(la, jobs):
        for (dtype, precision), (m, n, k), activation, has_bias, slope, recompute in itertools.product(
                precisions, shapes, activations, (True, False), (0.01, -0.5), (False, True)):
            if (slope < 0 and activation != "leaky_relu") or (recompute and activation == "identity"):
                continue
            x = torch.empty((m, k), dtype=dtype)
            w = torch.empty((n, k), dtype=dtype)
            b = torch.empty((n,), dtype=dtype) if has_bias else None
            slope = 0.0 if activation == "relu" else slope  # as linear_act does
            with torch.no_grad():  # inference: the plain "y" epilogue
                la._forward(x, w, b, activation, slope, precision, "y")
            # Training, then a frozen weight with a trainable bias (db without dW).
            for frozen in (False, True) if has_bias else (False,):
                params = [t.requires_grad_(not (frozen and t is w)) for t in (x, w, b) if t is not None]
                y = _linear_op(x, w, b, activation, slope, precision, recompute)
                y.backward(torch.empty_like(y))
                for t in params:
                    t.grad = None
                    t.requires_grad_(False)
        # A transposed (column-major) input: the unit stride moves to the batch dimension.
        x = torch.empty((4096, 4096), dtype=torch.bfloat16).t().requires_grad_()
        w = torch.empty((4096, 4096), dtype=torch.bfloat16, requires_grad=True)
        y = _linear_op(x, w, None, "gelu", 0.01, "tf32", False)
        y.backward(torch.empty_like(y))
    return jobs


def _linear_goal_scenarios():
    """Launch the linear_act variants that ``python -m report --goals`` times, at its shapes."""
    import torch
    from .linear_bench import IMPLS, _cublas_dx_backward, _portable_kernel, configs
    from .metrics import torch_dtype
    la = importlib.import_module("triton_kernels.linear_act")

    jobs = {}
    with _linear_recording(la, jobs):
        for cfg in configs(False, goals=True):
            dtype, precision = torch_dtype(cfg["dtype"]), "ieee" if cfg["dtype"] == "fp32" else "tf32"
            x = torch.empty((cfg["m"], cfg["k"]), dtype=dtype)
            w = torch.empty((cfg["n"], cfg["k"]), dtype=dtype)
            b = torch.empty((cfg["n"],), dtype=dtype)
            # The forward also on the portable kernel where the suite times it beside the TMA one.
            kernels = [contextlib.nullcontext]
            kernels += [_portable_kernel] if "portable" in cfg.get("impls", IMPLS) else []
            for activation in cfg["activations"]:
                slope = 0.0 if activation == "relu" else 0.01  # as linear_act does
                for kernel in kernels if "fwd" in cfg["modes"] else []:
                    with kernel(), torch.no_grad():
                        la._forward(x, w, b, activation, slope, precision, "y")
                # The backward also as before the fused dx kernel where the suite times it beside.
                backwards = [contextlib.nullcontext]
                backwards += [_cublas_dx_backward] if "cublas_dx" in cfg.get("impls", IMPLS) else []
                for backward in backwards if "fwd+bwd" in cfg["modes"] else []:
                    params = [t.requires_grad_() for t in (x, w, b)]
                    with backward():
                        _linear_op(x, w, b, activation, slope, precision, False).backward(
                            torch.empty((cfg["m"], cfg["n"]), dtype=dtype))
                    for t in params:
                        t.grad = None
                        t.requires_grad_(False)
    return jobs


def _cross_entropy_goal_scenarios():
    """Launch the cross-entropy variants that ``python -m report --goals`` times: forward + backward
    ("mean", grad_output 1), functional and in place, at each goal row length and dtype. 512 rows
    stand for each goal's N: the batch is not specialized, and 512 rows fill a block of any width
    (at most _TILE / 16 = 128 rows)."""
    import torch
    from .ce_bench import configs
    from .metrics import torch_dtype
    ce = importlib.import_module("triton_kernels.cross_entropy")

    jobs = {}
    with recording(ce, CROSS_ENTROPY_KERNELS, jobs):
        for cfg in configs(False, goals=True):
            logits = torch.empty((512, cfg["v"]), dtype=torch_dtype(cfg["dtype"]), requires_grad=True)
            target = torch.zeros((512,), dtype=torch.int64)
            _cross_entropy_op(logits, target, None, "mean", 0.0, z_loss=0.0).backward()
            _cross_entropy_op(logits * 1, target, None, "mean", 0.0, z_loss=0.0, inplace=True).backward()
    return jobs


def _cross_entropy_scenarios(quick):
    """Launch every cross-entropy kernel variant: each dtype, a row length per block size (and the
    chunked path), weights, label smoothing, fused forward+backward, forward only, backward only."""
    import torch
    ce = importlib.import_module("triton_kernels.cross_entropy")  # not the function of that name

    dtypes = [torch.float32, torch.float16, torch.bfloat16]
    # Powers of two pick every BLOCK_V (and so ROWS and num_warps) up to the register limit; 1000
    # and 50257 are not multiples of 16; 32000 and 50257 take the chunked path.
    lengths = [10, 64, 1000, 2048, 4096, 8192, 16384, 32000, 50257]
    if quick:
        dtypes, lengths = dtypes[2:], [10, 2048, 16384, 32000]
    n_rows = 4096
    jobs = {}
    with recording(ce, CROSS_ENTROPY_KERNELS, jobs):
        for dtype, n_cols, weighted, smoothing, reduction in itertools.product(
                dtypes, lengths, (False, True), (0.0, 0.1), ("mean", "none")):
            logits = torch.empty((n_rows, n_cols), dtype=dtype, requires_grad=True)
            target = torch.zeros((n_rows,), dtype=torch.int64)
            weight = torch.ones((n_cols,), dtype=torch.float32) if weighted else None
            loss = _cross_entropy_op(logits, target, weight, reduction, smoothing)
            # The backward kernel (one variant whatever grad_output is: its programs return at
            # once when it is 1), then the in-place mode's rescaling variant.
            loss.backward(torch.full_like(loss, 0.5))
            if reduction == "mean":
                h = torch.empty((n_rows, n_cols), dtype=dtype, requires_grad=True)
                _cross_entropy_op(h * 1, target, weight, reduction, smoothing, inplace=True).backward()
        # Soft targets: the heaviest variant (weights and smoothing), fused and recomputed.
        for dtype, n_cols, reduction in itertools.product(dtypes, lengths, ("mean", "none")):
            logits = torch.empty((n_rows, n_cols), dtype=dtype, requires_grad=True)
            probs, weight = torch.zeros((n_rows, n_cols), dtype=dtype), torch.ones((n_cols,), dtype=torch.float32)
            loss = _cross_entropy_op(logits, probs, weight, reduction, 0.1)
            loss.backward(torch.full_like(loss, 0.5))
        logits = torch.empty((n_rows, 1000), dtype=torch.bfloat16, requires_grad=True)
        _cross_entropy_op(logits, torch.zeros(n_rows, dtype=torch.int32), None, "mean", 0.0, z_loss=0.0).backward()
    return jobs


# ---------------------------------------------------------------------------------------------
# From launches to compile jobs
# ---------------------------------------------------------------------------------------------
def _backend():
    from triton.backends.compiler import GPUTarget
    from triton.compiler import make_backend
    target = GPUTarget("cuda", ARCH, 32)
    return target, make_backend(target)


def _launch_jobs(recorder, args, kwargs):
    """{key: job} for one launch: one job per config the autotuner would try (the configs its
    pruner keeps), with the signature, constexprs and attributes the JIT would compile."""
    from triton.runtime.autotuner import Autotuner
    from triton.runtime.jit import create_function_from_signature

    _, backend = _backend()
    kernel = recorder.kernel
    if isinstance(kernel, Autotuner):
        fn = kernel.fn
        configs = kernel.configs
        if kernel.early_config_prune:
            configs = kernel.early_config_prune(configs, dict(zip(kernel.arg_names, args)), **kwargs)
        variants = [(cfg.pre_hook, {**kwargs, **cfg.all_kwargs()}) for cfg in configs]
    else:
        fn, variants = kernel, [(None, kwargs)]
    binder = create_function_from_signature(fn.signature, fn.params, backend)
    jobs = {}
    for cfg_hook, kw in variants:
        if cfg_hook:  # e.g. the block shapes of TMA descriptors, which enter the signature
            cfg_hook({**dict(zip(fn.arg_names, args)), **kw})
        bound, specialization, options = binder(*args, **kw)
        options, signature, constexprs, attrs = fn._pack_args(backend, kw, bound, specialization, options)
        key = (recorder.name, str(signature), str(constexprs), str(attrs), str(options))
        jobs[key] = {"module": recorder.module.__name__, "name": recorder.name, "signature": signature,
                     "autotuned": isinstance(kernel, Autotuner),
                     "constexprs": constexprs, "attrs": attrs, "options": options.__dict__,
                     "label": _label(fn, signature, constexprs, attrs, kw)}
    return jobs


def _label(fn, signature, constexprs, attrs, kwargs):
    """Kernel variant as text: the first pointer's dtype, the constexprs, the integer arguments
    specialized to 1 (=1:) or left without divisibility by 16 (%16:), warps and stages."""
    dtype = next((t[1:] for t in signature.values() if isinstance(t, str) and t.startswith("*")), "")
    names = [p.name for p in fn.params]
    parts = [dtype]
    for (index, *_), value in sorted(constexprs.items()):
        name = names[index]
        if name in _HIDDEN or not fn.params[index].is_constexpr:
            continue  # specialized runtime ints (== 1) are in the signature, not the label
        parts.append(f"{name}={value}")
    ones = [names[i] for (i, *_), v in constexprs.items() if not fn.params[i].is_constexpr]
    if ones:
        parts.append("=1:" + ",".join(ones))
    # Integers the JIT could not mark divisible by 16 (another compiled variant).
    odd = [name for name, t in signature.items() if t in ("i32", "i64")
           and ["tt.divisibility", 16] not in attrs.get((names.index(name),), [])]
    if odd:
        parts.append("%16:" + ",".join(odd))
    parts.append(f"w{kwargs.get('num_warps', 4)} s{kwargs.get('num_stages', 3)}")
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# Compiling (in worker processes)
# ---------------------------------------------------------------------------------------------
def _compiled(job):
    """A job compiled for sm_90 (triton's CompiledKernel)."""
    import triton
    from triton.compiler import ASTSource
    from triton.runtime.autotuner import Autotuner

    kernel = getattr(importlib.import_module(job["module"]), job["name"])
    fn = kernel.fn if isinstance(kernel, Autotuner) else kernel
    target, _ = _backend()
    src = ASTSource(fn=fn, signature=job["signature"], constexprs=job["constexprs"], attrs=job["attrs"])
    return triton.compile(src, target=target, options=job["options"])


def compile_jobs(jobs, processes: int, progress=None) -> list[dict]:
    """Each of ``jobs`` compiled for sm_90 in ``processes`` worker processes, into Triton's cache
    (TRITON_CACHE_DIR or ~/.triton/cache), where the JIT finds it at launch: its resource usage or
    its error, in order. The workers are spawned, not forked: a parent that has started CUDA (a
    sweep about to time what it compiled) must not fork; each imports the kernel modules itself."""
    results = []
    with ProcessPoolExecutor(max(1, processes), mp_context=multiprocessing.get_context("spawn")) as pool:
        for i, r in enumerate(pool.map(_compile, jobs), 1):
            results.append(r)
            if progress:
                progress(i, len(jobs))
    return results


def compile_launches(module, names, steps, processes: int | None = None) -> dict:
    """Compile for sm_90, into Triton's cache, what each of ``steps`` (callables) launches of
    ``module``'s kernels ``names``: each step runs with its launches recorded instead of run (the
    JIT's own specialization, so the JIT finds them cached later), every distinct variant is
    compiled once, ``processes`` (default: one a core) at a time. {"variants": how many, "seconds",
    "errors": each step's first compile error or None, in order}: what a sweep does before it times
    anything."""
    start = time.perf_counter()
    jobs, used = {}, []
    for step in steps:
        launched = {}
        with recording(module, names, launched):
            step()
        used.append(list(launched))
        jobs.update(launched)
    results = dict(zip(jobs, compile_jobs(list(jobs.values()), processes or os.cpu_count() or 1)))
    return {"variants": len(jobs), "seconds": round(time.perf_counter() - start, 1),
            "errors": [next((results[k]["error"] for k in keys if "error" in results[k]), None) for keys in used]}


def compiles_for_this_gpu() -> bool:
    """Whether a CUDA GPU is here whose kernels this module compiles (sm_90): elsewhere the
    interpreter compiles nothing, and another GPU compiles its own at launch."""
    import torch

    return torch.cuda.is_available() and torch.cuda.get_device_capability() == divmod(ARCH, 10)


def triton_cache_entries() -> int | None:
    """Kernels in Triton's cache: a count that grows while timing means a variant compiled then,
    one the warm-up missed."""
    path = Path(os.environ.get("TRITON_CACHE_DIR") or Path.home() / ".triton" / "cache")
    return sum(1 for _ in path.iterdir()) if path.is_dir() else None


def _compile(job):
    """Compile one job for sm_90; returns its resource usage, or the error."""
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):  # TRITON_DUMP_PTXAS_LOG prints ptxas -v here
            compiled = _compiled(job)
    except Exception as e:  # noqa: BLE001 - every failure is a finding to report
        return {"error": f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"}
    usage = {k: int(m.group(1)) if (m := p.search(log.getvalue())) else None for k, p in _PTXAS.items()}
    usage.update(shared=compiled.metadata.shared, threads=32 * compiled.metadata.num_warps)
    return usage


# ---------------------------------------------------------------------------------------------
# Machine instructions (SASS): what a loop issues a row, what σ and σ' cost an output
# ---------------------------------------------------------------------------------------------
def _listing(compiled) -> str:
    """nvdisasm's listing of a compiled kernel's cubin."""
    import triton

    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(compiled.asm["cubin"])
        f.flush()
        return subprocess.run([triton.knobs.nvidia.nvdisasm.path, "-c", f.name], capture_output=True, text=True,
                              check=True).stdout


_INSTRUCTION = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)([^;]*);")


def _sass(compiled):
    """The instructions of a compiled kernel (nvdisasm of its cubin), NOPs left out."""
    return [m.group(2) for m in _INSTRUCTION.finditer(_listing(compiled)) if m.group(2) != "NOP"]


def _loops(listing: str) -> list[tuple[int, int, list[str]]]:
    """(first address, last address, instructions without NOPs) of each loop of the listing: from
    a label to a backward branch to it."""
    labels, instructions, label = {}, [], None
    for line in listing.splitlines():
        if m := re.match(r"\s*(\.L_x_\d+):", line):
            label = m.group(1)
        elif m := _INSTRUCTION.search(line):
            address = int(m.group(1), 16)
            if label:
                labels[label], label = address, None
            instructions.append((address, m.group(2), m.group(3)))
    return [(labels[target], address,
             [op for a, op, _ in instructions if labels[target] <= a <= address and op != "NOP"])
            for address, op, rest in instructions
            if op == "BRA" and (target := next(iter(re.findall(r"\.L_x_\d+", rest)), None)) in labels
            and labels[target] < address]


def _block_instructions(listing: str, repeats: int) -> list[str]:
    """The instructions a thread issues for one block of rows: the first outermost loop's body (the
    loop over full blocks where short rows' runs have a second one for the last, partial block),
    its inner loops (the chunk loops) ``repeats`` times."""
    loops = _loops(listing)
    outermost = [a for a in loops if not any(b[0] <= a[0] and a[1] <= b[1] and b != a for b in loops)]
    outer = min(outermost, key=lambda loop: loop[0])
    inner = [loop for loop in loops if outer[0] <= loop[0] and loop[1] < outer[1]]
    return outer[2] + [op for loop in inner for op in loop[2]] * (repeats - 1)


# H100 and H200 SXM: SMs, boost clock, thread-instructions an SM issues a clock (4 schedulers x 32 lanes).
_SMS, _CLOCK_GHZ, _ISSUE = 132, 1.98, 128
ROW_SHAPES = ((4194304, 10), (65536, 1024), (8192, 32000))  # the cross-entropy goal's short, middle and long rows


def row_costs(shapes=ROW_SHAPES) -> dict:
    """{(N, V): cost} of the cross-entropy main kernel as the bf16 forward + backward ("mean", the
    goal's) launches it for logits [N, V], from the SASS of its loop over blocks of rows (with its
    chunk loops counted V / BLOCK_V times where rows are chunked): instructions a thread issues a
    block, thread-instructions a row and a logit, MUFU operations a logit, and the time the issue
    alone takes at 128 thread-instructions a clock an SM on 132 SMs at 1.98 GHz, a floor beside the
    bytes' (at 4.2 TB/s and 4 bytes a logit, 32 instructions a logit is as fast as the copy)."""
    import torch
    ce = importlib.import_module("triton_kernels.cross_entropy")

    out = {}
    for n, v in shapes:
        jobs = {}
        with recording(ce, ["_prologue_kernel", "_cross_entropy_kernel"], jobs):
            logits = torch.empty((n, v), dtype=torch.bfloat16, requires_grad=True)
            _cross_entropy_op(logits, torch.zeros((n,), dtype=torch.int64), None, "mean", 0.0, z_loss=0.0)
        (job,) = [j for j in jobs.values() if j["name"] == "_cross_entropy_kernel"]
        constexprs = {key[0]: value for key, value in job["constexprs"].items()}
        names = [p.name for p in ce._cross_entropy_kernel.params]
        rows, block = constexprs[names.index("ROWS")], constexprs[names.index("BLOCK_V")]
        compiled = _compiled(job)
        issued = _block_instructions(_listing(compiled), -(-v // block))  # a chunked row: V / BLOCK_V chunks
        per_row = len(issued) * 32 * compiled.metadata.num_warps / rows
        mufu = sum(op.startswith("MUFU") for op in issued) * 32 * compiled.metadata.num_warps / rows
        out[n, v] = {"rows": rows, "block_v": block, "threads": 32 * compiled.metadata.num_warps,
                     "a_block": len(issued), "per_row": per_row, "per_logit": per_row / v, "mufu_per_logit": mufu / v,
                     "floor_ms": n / _SMS * per_row / _ISSUE / (_CLOCK_GHZ * 1e6)}
    return out


def _print_row_costs():
    import triton

    print(f"triton {triton.__version__}, sm_{ARCH}: the cross-entropy main loop, bf16 forward + backward "
          f"(issue at {_ISSUE} a clock an SM, {_SMS} SMs, {_CLOCK_GHZ} GHz)")
    print(f"{'N x V':>14} {'rows x V':>10} {'threads':>7} {'a block':>7} {'a row':>8} {'a logit':>7} "
          f"{'MUFU':>5} {'floor ms':>8}")
    for (n, v), c in row_costs().items():
        shape, tile = f"{n}x{v}", "{rows}x{block_v}".format(**c)
        print(f"{shape:>14} {tile:>10} {c['threads']:>7} {c['a_block']:>7} {c['per_row']:>8.0f} "
              f"{c['per_logit']:>7.1f} {c['mufu_per_logit']:>5.2f} {c['floor_ms']:>8.3f}")


_EPILOGUES = ("y", "g", "y+g")
_PROBE_WIDTH, _PROBE_WARPS = 1024, 4  # 8 elements a thread


def epilogue_costs():
    """{(activation, epilogue): (instructions, MUFU operations)} an output for σ (epilogue "y"),
    σ' ("g") and both ("y+g", the training forward's), beyond what identity's "y" costs: an
    elementwise kernel on float32 values with the functions of triton_kernels/activations.py,
    stored as bfloat16, compiled for sm_90. In the forward kernels this runs once an output while
    the tensor cores of that program wait; at 128 thread-instructions a clock an SM (16 for MUFU)
    it is the epilogue's issue time."""
    import triton
    import triton.language as tl
    from triton.compiler import ASTSource
    from triton_kernels.activations import ACTIVATIONS, activation_fn, activation_grad

    @triton.jit
    def probe(z_ptr, y_ptr, g_ptr, ACTIVATION: tl.constexpr, EPILOGUE: tl.constexpr, BLOCK: tl.constexpr):
        offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        z = tl.load(z_ptr + offs)
        if EPILOGUE != "g":
            tl.store(y_ptr + offs, activation_fn(z, ACTIVATION, 0.01, EPILOGUE == "y+g").to(tl.bfloat16))
        if EPILOGUE != "y":
            tl.store(g_ptr + offs, activation_grad(z, ACTIVATION, 0.01).to(tl.bfloat16))

    target, _ = _backend()
    aligned = [["tt.divisibility", 16]]

    def count(activation, epilogue):
        src = ASTSource(fn=probe, signature={"z_ptr": "*fp32", "y_ptr": "*bf16", "g_ptr": "*bf16",
                                             "ACTIVATION": "constexpr", "EPILOGUE": "constexpr", "BLOCK": "constexpr"},
                        constexprs={(3,): activation, (4,): epilogue, (5,): _PROBE_WIDTH},
                        attrs={(i,): aligned for i in range(3)})
        ops = _sass(triton.compile(src, target=target, options={"num_warps": _PROBE_WARPS}))
        return len(ops), sum(op.startswith("MUFU") for op in ops)

    per_thread = _PROBE_WIDTH // (32 * _PROBE_WARPS)
    base = count("identity", "y")
    # A second store costs identity's instructions again, not σ's: y+g is measured beyond both stores.
    stores = {"y": base, "g": base, "y+g": count("identity", "y+g")}
    costs = {}
    for activation, epilogue in itertools.product(ACTIVATIONS, _EPILOGUES):
        n, mufu = count(activation, epilogue)
        costs[activation, epilogue] = ((n - stores[epilogue][0]) / per_thread, (mufu - stores[epilogue][1]) / per_thread)
    return costs


def _print_epilogue_costs():
    import triton

    costs = epilogue_costs()
    print(f"triton {triton.__version__}, sm_{ARCH}: SASS instructions (MUFU operations) an output, beyond storing it")
    print(f"{'activation':<12}" + "".join(f"{e:>14}" for e in _EPILOGUES))
    for activation in dict.fromkeys(a for a, _ in costs):
        print(f"{activation:<12}" + "".join(f"{costs[activation, e][0]:>9.1f} ({costs[activation, e][1]:.0f})"
                                            for e in _EPILOGUES))


def _problems(r, max_spill):
    """Flags for one result; a spill of at most ``max_spill`` bytes is shown in lower case."""
    if "error" in r:
        return ["FAIL"]
    found = []
    if r["regs"] is None:
        found.append("NO-PTXAS-LOG")
    elif r["regs"] * r["threads"] > MAX_THREAD_REGS:
        found.append("REGS")
    spill = max(r["spill_st"] or 0, r["spill_ld"] or 0)
    if spill:
        found.append("SPILL" if spill > max_spill else "spill")
    if r["shared"] > MAX_SHARED:
        found.append("SMEM")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m report.compile_check", description=__doc__.splitlines()[0],
                                     epilog="How long: a full run compiles ~1,700 variants in 12-16 minutes on 2 cores "
                                            "(~0.5 s a variant with --jobs 2), --quick ~270 in 3-6 minutes.")
    parser.add_argument("--quick", action="store_true", help="fewer dtypes and shapes")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="compiler processes")
    parser.add_argument("--filter", default="", help="only kernels whose name or label contains this")
    parser.add_argument("--goals", action="store_true",
                        help="only the variants that python -m report --goals times (~150: linear_act, cross-entropy)")
    parser.add_argument("--list", action="store_true",
                        help="count the variants each kernel would compile, without compiling (seconds)")
    parser.add_argument("--warm", action="store_true",
                        help="compile into Triton's own cache (TRITON_CACHE_DIR or ~/.triton/cache) and list only "
                             "failures: on a GPU machine, so that autotuning then finds every variant compiled")
    parser.add_argument("--epilogue", action="store_true",
                        help="what σ and σ' cost an output in SASS instructions and MUFU operations, by activation")
    parser.add_argument("--rows", action="store_true",
                        help="the cross-entropy main loop's SASS instructions a row, and the issue floor they set")
    parser.add_argument("--max-spill", type=int, default=16, metavar="BYTES",
                        help="spills up to this size (a few registers through L1) do not fail the check")
    args = parser.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") == "1":
        parser.error("unset TRITON_INTERPRET: the interpreter replaces the kernels with Python functions")
    os.environ["TRITON_INTERPRET"] = "0"  # else triton_kernels chooses the interpreter on a machine without a GPU

    import triton
    if args.epilogue:
        _print_epilogue_costs()
        return 0
    if args.rows:
        _print_row_costs()
        return 0
    start = time.perf_counter()
    found = ({**_linear_goal_scenarios(), **_cross_entropy_goal_scenarios()} if args.goals
             else {**_linear_scenarios(args.quick), **_cross_entropy_scenarios(args.quick)})
    jobs = [j for j in found.values() if args.filter in j["name"] + " " + j["label"]]
    if args.list:
        for name, count in sorted(collections.Counter(j["name"] for j in jobs).items()):
            print(f"{name:<28} {count:>5} variants")
        return 0
    with contextlib.nullcontext() if args.warm else tempfile.TemporaryDirectory() as cache:
        if cache:  # a fresh cache so that every variant really goes through ptxas, whose log we read
            os.environ.update(TRITON_CACHE_DIR=cache, TRITON_DUMP_PTXAS_LOG="1")

        def progress(i, total):
            if i % 50 == 0 or i == total:
                print(f"compiled {i}/{total} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)

        results = compile_jobs(jobs, args.jobs, progress)

    print(f"triton {triton.__version__}, target sm_{ARCH}: {len(jobs)} kernel variants "
          f"compiled in {time.perf_counter() - start:.0f} s")
    if args.warm:
        errors = [(j, r) for j, r in zip(jobs, results) if "error" in r]
        for job, r in errors:
            print(f"{job['name']} {job['label']}: {r['error']}")
        print(f"{len(errors)} failed to compile; the others are in Triton's cache")
        return 1 if errors else 0
    width = max((len(j["label"]) for j in jobs), default=0)
    header = f"{'kernel':<24} {'variant':<{width}} {'regs':>4} {'spill st/ld':>11} {'stack':>5} {'smem KB':>7}  status"
    print(header)
    print("-" * len(header))
    failed = fatal = flagged = 0
    for job, r in sorted(zip(jobs, results), key=lambda jr: (jr[0]["name"], jr[0]["label"])):
        found = _problems(r, args.max_spill)
        serious = [f for f in found if f != "spill"]
        failed += "FAIL" in found
        fatal += bool(serious) and not job["autotuned"]
        flagged += bool(serious) and job["autotuned"]
        if "error" in r:
            print(f"{job['name']:<24} {job['label']:<{width}} {r['error']}")
            continue
        spills = f"{r['spill_st']}/{r['spill_ld']}"
        print(f"{job['name']:<24} {job['label']:<{width}} {r['regs']!s:>4} {spills:>11} {r['stack']!s:>5} "
              f"{r['shared'] / 1024:>7.1f}  {' '.join(found) or 'ok'}")
    print(f"{failed} failed to compile; {fatal} of the variants launched as they are (no autotuning) spill or "
          f"exceed a limit; {flagged} autotune candidates do (the autotuner times them, and skips those that "
          f"cannot launch)")
    return 1 if failed or fatal else 0


if __name__ == "__main__":
    sys.exit(main())
