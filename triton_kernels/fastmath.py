"""e^x and 1/x in float32 as single instructions of the GPU's special function unit (MUFU).

Triton compiles ``tl.exp(x)`` to x log2(e) fed to ``ex2.approx.f32``, and ``a / b`` to
``div.full.f32``; ptxas wraps both in range fix-ups: ex2 halves an argument below -126 and squares
the result (subnormal results), the division scales a divisor beyond 2^126 by 1/4 and selects the
factor back. That is 4-5 more instructions around each MUFU operation (sm_90, counted with
``python -m report.compile_check --sass``). In an epilogue that runs once an output between two
tiles' tensor-core work, and in a loop over every logit, the instruction issue is the cost: an
H200 SM issues 128 thread-instructions a clock, so at 16384 x 4096 outputs each instruction an
output costs about 2 µs, and MUFU itself (16 a clock an SM) 16 µs an operation an output.

On a GPU these take the instructions alone, with flush to zero (``.ftz``):
- ``exp(x)`` = ``exp2(x log2(e))``, ``exp2(x)`` = ``ex2.approx.ftz.f32(x)``: within 2 ulp of 2^x,
  plus for exp the rounding of the product (|x| 2^-24 relative: the same as tl.exp); a result below
  2^-126 is 0 (the linear kernels' error model already has that underflow floor for float32 and
  bfloat16, fp16's is 2^-25; the cross-entropy's counts s A+ 2^-126 in its gradient);
- ``reciprocal(x)`` = ``rcp.approx.ftz.f32(x)``: within 1 ulp, for |x| in [2^-126, 2^126], and 0
  beyond (a subnormal result flushed, +0 for inf): the kernels call it on 1 + e^-z in [1, inf]
  and on sums of exponentials >= 1.
Under the CPU interpreter (no inline assembly) they are tl.exp2 and 1 / x with subnormal results
flushed to 0 as the GPU does, so that the interpreter's tests meet the flush too.
"""
import triton
import triton.language as tl

from .launch import HARDWARE

__all__ = ["LOG2E", "exp", "exp2", "reciprocal"]

LOG2E = tl.constexpr(1.4426950408889634)
_TINY = tl.constexpr(2.0 ** -126)  # float32's smallest normal number


@triton.jit
def exp2(x):
    """2^x of a float32 tile on the special function unit, subnormal results 0. e^(x - c), c a
    row's constant, as exp2(x LOG2E - c LOG2E) is one FFMA before it instead of a subtraction and
    a multiply: the exponent's rounding is then u |x| instead of u |x - c|, which suits a gradient
    whose bound already carries lse's c u |max x|, not a loss formed from x - max x."""
    if HARDWARE:
        y = tl.inline_asm_elementwise("ex2.approx.ftz.f32 $0, $1;", "=f,f", [x], dtype=tl.float32,
                                      is_pure=True, pack=1)
    else:
        y = tl.exp2(x)
        y = tl.where(y < _TINY, 0.0, y)
    return y


@triton.jit
def exp(x):
    """e^x of a float32 tile: 2^(x log2 e) on the special function unit, subnormal results 0."""
    return exp2(x * LOG2E)


@triton.jit
def reciprocal(x):
    """1/x of a float32 tile: one rcp.approx.ftz.f32, 1 ulp for |x| in [2^-126, 2^126], 0 beyond."""
    if HARDWARE:
        y = tl.inline_asm_elementwise("rcp.approx.ftz.f32 $0, $1;", "=f,f", [x], dtype=tl.float32,
                                      is_pure=True, pack=1)
    else:
        y = 1.0 / x
        y = tl.where(tl.abs(y) < _TINY, 0.0 * y, y)  # ±0 by sign
    return y
