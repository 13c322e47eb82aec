"""Triton's CPU interpreter (TRITON_INTERPRET=1): what any Triton backend needs from the suite there.

Without a GPU, Triton code runs under the interpreter, which evaluates each kernel with numpy. Its
quirks are handled here, once, for the project's kernels and the peers' alike:

- **It must be chosen before a library defines its kernels** (Triton reads the variable at
  ``@triton.jit``, i.e. when the library is imported; later it is too late: "0 active drivers").
  :func:`prepare` sets it when torch sees no GPU; every Triton adapter calls it before its import.
- **Float arguments arrive as Python floats** (its ``_implicit_cvt`` wraps ints, bools and
  tensors, not floats), without a tensor's methods (``x.to(tl.float32)`` raises AttributeError)
  and computed in float64; compiled Triton passes them as float32 scalars. :func:`prepare`
  makes the interpreter pass them as float32 scalars too. The project's own kernels are checked
  without this (they need neither), unless a peer was loaded first in the same process.
- **``triton.language.extra.libdevice`` is stubs there**: its functions (``log1p``, ``tanh``...)
  are resolved to the GPU's math library by the compiler, and the interpreter runs the stubs, which
  return None (Cut Cross-Entropy's ``log1p`` then fails with "'NoneType' object has no attribute
  'dtype'"). :func:`prepare` gives the unary ones numpy has their numpy function, evaluated in the
  argument's own format like the interpreter's ``tl.exp``.
- **numpy warns at masked lanes** (log(0), -inf * 0 computed in lanes a GPU leaves alone): the
  runner silences RuntimeWarning around every check.
- **16-bit arithmetic may be wrong.** Triton 3.x's interpreter truncates float32 -> bfloat16
  casts instead of rounding them, multiplies bfloat16 values as if their bit patterns were
  integers and compares bfloat16 bit patterns as integers (so -2 < 3 is false). A kernel that does
  not work around this (the project's own kernels do: triton_kernels/linear_act.py converts through
  the bit patterns) then fails or passes by accident, and neither says anything about the kernel on a
  GPU. :func:`faults` finds out with a probe kernel, once per format and process; :func:`not_meaningful`
  turns its findings into the reason a check in that format is reported "not meaningful" instead of
  being run.
"""
from __future__ import annotations

import functools
import os

# The probe's inputs: products exact in every 16-bit format, float32 values whose nearest 16-bit
# neighbour is above them (a truncating cast gives the one below), and pairs of opposite signs.
_X = (1.5, 3.0, -2.0, 0.25)
_Y = (2.0, 1.5, 3.0, -0.5)
_ROUND_UP = (1.0 + 3 * 2.0 ** -9, 1.0 + 3 * 2.0 ** -12, -(1.0 + 3 * 2.0 ** -9), 2.0 + 3 * 2.0 ** -8)


def active() -> bool:
    """True when Triton runs under its CPU interpreter (TRITON_INTERPRET=1)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def prepare() -> None:
    """Choose the interpreter for Triton code imported from now on, when torch sees no GPU (an
    explicit TRITON_INTERPRET wins, as in triton_kernels), and make it pass float arguments as
    float32 scalars."""
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
    if active():
        _float_arguments_as_float32()
        _libdevice_from_numpy()


def _float_arguments_as_float32() -> None:
    import numpy as np
    import triton.language as tl
    from triton.runtime import interpreter as ti

    original = ti._implicit_cvt
    if getattr(original, "floats_as_float32", False):
        return

    def convert(arg):
        if isinstance(arg, float):
            return tl.tensor(ti.TensorHandle(np.array([arg], dtype=np.float32), tl.float32), tl.float32)
        return original(arg)

    convert.floats_as_float32 = True
    ti._implicit_cvt = convert  # looked up by name at each launch (and for tuples' elements)


# libdevice's unary functions that numpy has; the others stay stubs (a kernel using one fails loudly).
_LIBDEVICE_NUMPY = ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "tanh", "sinh", "cosh",
                    "sin", "cos", "tan", "arctan:atan", "arcsinh:asinh", "floor", "ceil", "trunc")


def _libdevice_from_numpy() -> None:
    import numpy as np
    import triton.language as tl
    from triton.language.extra import libdevice
    from triton.runtime import interpreter as ti

    def unary(fn):
        def call(arg0, _semantic=None):
            h = arg0.handle
            return tl.tensor(ti.TensorHandle(fn(h.data).astype(h.data.dtype), h.dtype), arg0.type)
        call.from_numpy = True
        return call

    for entry in _LIBDEVICE_NUMPY:
        numpy_name, _, name = entry.partition(":")
        name = name or numpy_name
        if not getattr(getattr(libdevice, name, None), "from_numpy", False):
            setattr(libdevice, name, unary(getattr(np, numpy_name)))


@functools.lru_cache(maxsize=None)
def _probe_kernel():
    import triton
    import triton.language as tl

    @triton.jit
    def probe(x_ptr, y_ptr, f_ptr, product_ptr, cast_ptr, less_ptr, N: tl.constexpr):
        i = tl.arange(0, N)
        x, y = tl.load(x_ptr + i), tl.load(y_ptr + i)
        tl.store(product_ptr + i, x * y)
        tl.store(cast_ptr + i, tl.load(f_ptr + i).to(x.dtype))
        tl.store(less_ptr + i, (x < y).to(tl.int32))

    return probe


@functools.lru_cache(maxsize=None)
def faults(dtype: str) -> tuple[str, ...]:
    """What the interpreter computes wrongly in the format ``dtype`` ("bfloat16", "float16"): a
    probe kernel's product, float32 -> dtype cast and comparison against torch's; () when
    Triton is compiled for a GPU, or for a format the probe finds right."""
    if dtype not in ("bfloat16", "float16") or not active():
        return ()
    import torch

    t = getattr(torch, dtype)
    x, y = torch.tensor(_X, dtype=t), torch.tensor(_Y, dtype=t)
    f = torch.tensor(_ROUND_UP, dtype=torch.float32)
    product, cast = torch.empty_like(x), torch.empty_like(x)
    less = torch.empty(len(_X), dtype=torch.int32)
    _probe_kernel()[(1,)](x, y, f, product, cast, less, N=len(_X))
    found = []
    if not torch.equal(product, x * y):
        found.append(f"x * y gives {product.tolist()} for {(x * y).tolist()}")
    if not torch.equal(cast, f.to(t)):
        found.append(f"float32 -> {dtype} casts give {cast.tolist()} for {f.to(t).tolist()} (rounded to nearest)")
    if not torch.equal(less, (x < y).to(torch.int32)):
        found.append(f"x < y gives {less.tolist()} for {(x < y).int().tolist()}")
    return tuple(found)


def not_meaningful(backend, dtype: str) -> str | None:
    """Why ``backend``'s results in ``dtype`` say nothing about it here, or None: it runs Triton
    code (``runs_triton``) under the interpreter, the probe finds the interpreter wrong in that
    format, and the backend does not work around it (``interpreter_workarounds``)."""
    if not getattr(backend, "runs_triton", False) or dtype in getattr(backend, "interpreter_workarounds", ()):
        return None
    found = faults(dtype)
    if not found:
        return None
    return (f"Triton's CPU interpreter computes {dtype} wrongly here (probe at start: " + "; ".join(found)
            + "): a result in it would not say how the kernel behaves on a GPU, so it is not checked")
