"""What the kernels share: the dtypes they take, whether Triton interprets them, the GPU they
launch on, how a call reaches a custom operator's implementation, the interpreter's bfloat16
rounding and a barrier Triton's pipeliner lets be."""
import contextlib
import os

import torch
import triton
import triton.language as tl
from torch.utils._python_dispatch import _get_current_dispatch_mode

DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# An SM's register file (sm_80 to sm_100): persistent grids size their programs' registers to it.
REGISTERS_PER_SM = 65536
# Triton reads this when a kernel is defined; triton_kernels/__init__.py sets it, before importing
# the kernel modules, on a machine without a GPU.
INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


@triton.jit
def round_to_bf16(x):
    """float32 x rounded to the nearest bfloat16 (ties to even), still as float32; a NaN becomes the
    quiet NaN, whose upper half is a bfloat16 NaN too (a payload could carry into the exponent or
    the sign, or lie wholly in the lower half). Only for Triton's CPU interpreter, whose float32 ->
    bfloat16 cast truncates; the GPU's rounds."""
    bits = x.to(tl.uint32, bitcast=True)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).to(tl.float32, bitcast=True)
    return tl.where(x != x, float("nan"), rounded)


# Whether kernels are compiled for a GPU (inline assembly), as a constexpr: globals read inside
# @triton.jit functions must be.
HARDWARE = tl.constexpr(not INTERPRET)


@triton.jit
def after_barrier(x):
    """float32 x once every thread of the program has reached this point: a barrier (bar.sync 0)
    that orders every thread's memory operations before it before every thread's after it, e.g. a
    store of x to an address another thread wrote earlier. tl.debug_barrier does that too, but
    Triton does not software-pipeline a loop that holds one; it does pipeline one that holds
    inline assembly with side effects, which the compiler keeps in program order with the stores.
    Every thread must reach it equally often: a tile's call is (each thread holds as many of its
    elements). The interpreter runs a program's operations one at a time: there it is x."""
    if HARDWARE:
        x = tl.inline_asm_elementwise("bar.sync 0;\n\tmov.b32 $0, $1;", "=f,f", [x], dtype=tl.float32,
                                      is_pure=False, pack=1)
    return x


def on_device(t):
    """Launch on t's GPU (Triton launches on the current device), or nowhere in particular on CPU."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


# Host-side integer helpers: triton.cdiv and triton.next_power_of_2 are constexpr functions that
# cost ~2.4 µs a call on the host (a launch computes several); these are plain Python.
def cdiv(a: int, b: int) -> int:
    """ceil(a / b) for positive b."""
    return -(-a // b)


def next_power_of_2(n: int) -> int:
    """The least power of two >= n (1 for n <= 1)."""
    return 1 << max(n - 1, 0).bit_length()


def resident_registers(warps: int, per_sm: int) -> int:
    """Registers a thread (a launch's maxnreg) that let per_sm programs of ``warps`` warps share an
    SM's register file, all resident at once: ptxas allocates them 8 a thread at a time, at most 255."""
    return min(255, REGISTERS_PER_SM // (32 * warps * per_sm) // 8 * 8)


def sm_count(device):
    """Streaming multiprocessors of a CUDA device: the grid of a persistent kernel. On the CPU
    (the interpreter) 3, so that a persistent kernel's programs each walk several tiles, unevenly."""
    return torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 3


# ---------------------------------------------------------------------------------------------
# Eager calls past the dispatcher
# ---------------------------------------------------------------------------------------------
# The kernels are torch.library custom operators, so that torch.compile and torch.export trace
# them as single nodes. In eager mode the operator's Python dispatch costs more than a short
# problem's kernels: measured on the development machine (2 cores, kernels replaced by no-ops),
# cross_entropy forward + backward took 380 µs of host time, of which ~100 µs was the backward
# operator's dispatch against 18 µs for its implementation (the autograd wrapper of a custom
# operator fills the schema's defaults at a cost quadratic in the number of arguments). An eager
# call with plain tensors therefore runs the same implementation and the same autograd formula
# directly (145 µs for that step, with cdiv and next_power_of_2 above in plain Python); anything being
# traced, faked or intercepted goes through the operator.
_PLAIN = (torch.Tensor, torch.nn.Parameter)


def eager(args) -> bool:
    """Whether a call with ``args`` may skip the dispatcher: not traced by torch.compile or
    torch.export, no dispatch mode active (fake tensors, functionalization, a user's mode), and
    every tensor argument a plain torch.Tensor or nn.Parameter (no other subclass)."""
    return (not torch.compiler.is_compiling() and _get_current_dispatch_mode() is None
            and all(type(a) in _PLAIN for a in args if isinstance(a, torch.Tensor)))


def call(op, impl, *args, mutated=()):
    """``op(*args)``, or where :func:`eager` allows ``impl(*args)`` (the operator's implementation,
    or for a differentiable operator its :func:`autograd_function`'s apply), then the version
    counters of the ``mutated`` tensors bumped, as the dispatcher bumps those of a mutating
    operator's arguments (autograd then refuses a backward through overwritten values)."""
    if not eager(args):
        return op(*args)
    out = impl(*args)
    for t in mutated:
        torch.autograd.graph.increment_version(t)
    return out


def autograd_function(name, impl, setup_context, backward):
    """A torch.autograd.Function computing ``impl`` with the autograd formula registered on its
    operator (``setup_context``, ``backward``): the eager path of a differentiable operator. Its
    forward takes ctx and calls setup_context itself: a Function that declares setup_context has
    every apply() bind its arguments with inspect.signature (~20 µs here)."""

    def forward(ctx, *inputs):
        output = impl(*inputs)
        setup_context(ctx, inputs, output)
        return output

    return type(name, (torch.autograd.Function,), {
        "__doc__": f"{impl.__name__} with its operator's autograd formula, for eager calls (launch.eager).",
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
    })
