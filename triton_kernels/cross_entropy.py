"""Softmax cross-entropy in Triton: the loss and its gradient in one pass over the logits.

For a row of logits x (length V) with class-index target y, class weights w (w = 1 without
weights, W = Σ_c w_c), label smoothing ε and z-loss coefficient z (PaLM):

    lse      = log Σ_c exp(x_c)
    loss     = (1 - ε) w_y (lse - x_y)  +  (ε / V) Σ_c w_c (lse - x_c)  +  z lse²
    ∂loss/∂x_c = p_c A - (1 - ε) w_y [c = y] - (ε / V) w_c,
    p_c = exp(x_c - lse),   A = (1 - ε) w_y + ε W / V + 2 z lse.

Bytes and tiling. For N rows of V logits of b bytes each (``traffic`` counts them, and the
kernels report them to profilers through Triton's launch metadata):

    forward + backward, grad_output = 1:  N V b read + N V b written, N x 8 targets read twice
                                          ("mean": the prologue too), N x 4 lse written
    grad_output != 1 ("mean"/"sum"):      2 N V b more (the recompute)
    forward only:                         N V b read, the targets as above
    "none":                               forward N V b read; backward N V b read + N V b written
The minimal traffic (report/metrics.py) reads the targets once and keeps no lse: at V = 10 in bf16
the 12 N bytes more are a quarter of it; from V = 1024 on, under 1%.

A row of up to ``block_v`` (default 8192) logits is held in registers, so it is read once and
exponentiated once; programs take several rows at a time when V is small (V = 10 must not cost one
program per row: rows of at most 16 logits are a thread's each, and a block of contiguous ones is
loaded and stored as one run of 16-byte accesses). Longer rows are streamed in chunks of
``block_v`` with an online softmax (running max and rescaled sum), loads asking L2 to keep the
chunks (``_NUM_STAGES`` pipelines them; 2 stages measured slower); the gradient pass reads them a
second time, mostly from L2, and streams the gradient out. Row offsets are computed in int64 (N V
may exceed 2^31); class indices are compared in int32 after the range check; ε and z are runtime
arguments, so new values do not recompile.

Class-probability ("soft") targets q (a floating tensor of the logits' shape) follow torch's
definition: with a_c = w_c ((1 - ε) q_c + ε / V),

    loss     = Σ_c a_c (lse - x_c)  +  z lse²,     ∂loss/∂x_c = p_c A - a_c,   A = Σ_c a_c + 2 z lse,
    ∂loss/∂q_c = (1 - ε) w_c (lse - x_c)   (when q requires grad),

"mean" divides by the number of rows N (not by a sum of weights), and no row is ignored
(``ignore_index`` must stay negative, as torch requires). Terms with a_c = 0 add 0 even where
x_c = -inf (torch gives NaN there: 0 · -inf). The loss is formed as T + Σ_c a_c log s with
T = Σ_c a_c (m - x_c) accumulated relative to the running max m (rescaled when m moves): every
term is >= 0 for a >= 0, so nothing cancels at any |m|. Soft targets add N V b_q bytes read per
pass over the logits (b_q their bytes per element) and, with a recompute, 4 N bytes of Σ_c a_c;
the gradient of q is formed by torch elementwise ops from the saved logits and lse, off the fused
path (not in inplace mode).

Rows whose class-index target equals ``ignore_index`` have loss 0 and gradient 0. Reductions follow
``torch.nn.functional.cross_entropy``: "none" returns the per-row losses, "sum" their sum and
"mean" their sum divided by D = Σ_{i not ignored} w_{y_i} (the z-loss term included; negative
weights give a negative D, as in torch). When D = 0 (every target ignored, or weights summing to
0) "mean" returns 0 with a zero gradient, where torch returns NaN. The loss and the optional
per-row lse are float32 whatever the logits' dtype; the gradient has the logits' dtype.

Layouts: logits [N, V] (any row stride), [V] (one row, 0-d target) or [N, V, d1, ...] with
target [N, d1, ...], as in torch; rows are then the N d1 ... positions, and the class dimension is
moved last. That is a view when the classes have stride 1 and the other dimensions merge into one
row stride (e.g. channels-last, or all d_k = 1); otherwise (e.g. a contiguous [N, V, d]) it is a
copy: N' V b bytes read and N' V b written, N' = N d1 ..., and autograd hands the gradient back
as a permuted view, which accumulating into a leaf's .grad copies again (another 2 N' V b).
Soft targets get the same treatment (their bytes b_q instead of b).

Launches and host work. The call never waits for the GPU (no device-to-host sync: CUDA graphs
capture it, torch.compile need not break its graph around it). "mean" and "sum" launch a tiny
prologue (it zeroes a ticket counter and, for "mean", sums D over the targets: N x 8 bytes read by
at most 1024 programs) and then the main kernel, which writes the loss, the lse when it is needed
and, when the logits need a gradient, the gradient for grad_output = 1. The main kernel's grid is
persistent (as many programs an SM as its registers hold at once, each taking every n-th block of
rows: ``_launch_config``), so the per-program work (1/D from the prologue's partials, a loss
partial, a ticket) is paid a few times an SM, not once a block. Each program stores the sum of its
rows' losses; the program that takes the last ticket of an atomic counter adds these partials up in
program order, so the loss is deterministic on a given GPU (the grid follows its SM count). "none"
is the main kernel alone. Out-of-range targets are checked before launching only where that is free
(CPU tensors, ``check_target=None``, the default): on a GPU the check is a device-to-host sync, so
there such a row gets a NaN loss and gradient and nothing is read out of bounds; for "mean" D is
NaN too, so the loss and every gradient are NaN: never a finite loss. ``check_target=True`` raises
ValueError on a GPU too, at the cost of one sync (torch's own CUDA kernel stops the process with a
device-side assert instead).

Backward. For "mean"/"sum" the gradient buffer of the forward is final when grad_output = 1
(``loss.backward()``): the backward's programs (a persistent grid, as the main kernel's) each
load grad_output once and return. For another grad_output (e.g. a loss scale) it recomputes
the gradient from the logits and the saved lse, times grad_output / D in float32, rounded once, so
a 16-bit gradient does not underflow before the scale is applied: one more read of the logits and
write of the gradient, and the logits are kept alive (not copied) from forward to backward. "none"
does the same with the per-row grad_output. A second backward through the same graph recomputes
and is accumulated by autograd, as in torch; double backward raises (not twice differentiable).

Memory: with ``inplace_backward=True`` the gradient is written into the logits' own buffer, so
forward + backward need no second N x V tensor and the logits need not be kept. The logits'
version counter is bumped, so any other autograd node that saved them for its backward raises
instead of using the overwritten values; but the logits read after the forward ("mean"/"sum") or
the backward ("none") hold the gradient, so read what you need (accuracy, argmax) before. Logits
that are leaves requiring grad (or views of one) are refused, since their own storage would become
their gradient. In this mode a grad_output other than 1 rescales the stored gradient in place (two
roundings, and 16-bit values below the subnormal range are lost before the scale: use the default
mode with fp16 loss scaling), and a second backward through the same loss raises.

Operators, torch.compile, autocast. The forward and backward are the custom operators
``oracle_kernels::cross_entropy`` (functional, autograd by ``register_autograd``),
``oracle_kernels::cross_entropy_inplace`` and ``oracle_kernels::cross_entropy_backward`` (they
declare the buffer they write, so the dispatcher bumps its version counter), options as arguments,
fake implementations for every output; an eager call with plain tensors runs the same
implementations and autograd formula without the operators' dispatch, which costs more host time
than a short row's kernels (``launch.eager``). ``torch.compile(fullgraph=True)`` traces the default call
without graph breaks; under it the backward's in-place completion of the forward's gradient
buffer is functionalized (a copy where the backend does not re-inplace it), and
``inplace_backward`` goes through an autograd.Function (see the operators' comment).
``check_target=True`` syncs with the host, so it has no place in a compiled graph or a CUDA graph
capture: check the targets outside it. Under ``torch.autocast`` nothing is cast: torch's own
cross-entropy runs in float32 there, while these kernels take 16-bit logits as they are, do all
their arithmetic in float32 and write a gradient in the logits' dtype, so autocast's float32 copy
of the logits (and its float32 gradient) would only add memory and traffic.

Special values: a -inf logit contributes p_c = 0 (a -inf target logit gives loss +inf, as does any
-inf logit when ε > 0, since log p_c = -inf); a row of only -inf logits, a +inf logit or a NaN
anywhere in a row makes that row's loss and gradient NaN; logits of magnitude 1e4 neither
overflow nor cancel, since every exponent is taken after subtracting the row maximum.

Tolerance model (tests/test_cross_entropy.py enforces it against the float64 oracle). Logits are
taken as exact (the oracle gets the same rounded values); all arithmetic is float32 with unit
roundoff u = 2^-24; the gradient is rounded once to the logits' dtype with unit roundoff u_out
(2^-8 bf16, 2^-11 fp16, 2^-24 fp32). With m = max_c x_c, A+ = (1-ε) w_y + ε W / V + 2 z |lse|,
B_c = (1-ε) w_y [c = y] + (ε / V) w_c and c a small constant (8 in the tests: exp and log are
approximations of a few ulp on the GPU; sums of V terms lose up to V u in the worst case):

    |Δlse|    <= δ = c u (|m| + V)                          shift by m, V-term sum, log
    |Δloss_i| <= c u V ((1-ε) |w_y| + ε Σ_c |w_c| / V) + 2 z |lse| δ
                 + c u ((1-ε) w_y |lse - x_y| + ε (W |lse - x_y| + Σ_c w_c |x_c - x_y|) + z lse²)
    |Δg_c|    <= s [ p_c (A+ (δ + c u |x_c - m|) + 2 z δ) + c u (p_c A+ + B_c) ] + u_out |g_c| + η

The loss is formed from x - m and log Σ exp(x - m), never from lse itself, so its error scales
with |lse - x_y| and V, not with |m| (computing lse - x_y directly would cost c u |m|, which the
tests' large-logit rows without z-loss catch); only the z-loss term sees lse's own error δ.

with s the gradient's scale (grad_output / D, grad_output, or the row's grad_output) and η half
the spacing of the output dtype's subnormals (2^-25 for fp16, where gradients below 6e-5 are
subnormal) plus s A+ 2^-126: on a GPU the exponential is one MUFU instruction that flushes
results below float32's smallest normal to 0 (fastmath.py: the range fix-ups of tl.exp cost 3-4
instructions a logit, a tenth of a long row's), so a probability under 2^-126 may be lost. Any
grad_output is applied in float32 before the one rounding. Only in-place mode's
rescale adds one more u_out |g_c| + η, after the rounding. Soft targets (q taken as exact too) have
A+ = Σ_c |a_c| + 2 z |lse| and B_c = |a_c| in the gradient's bound, and

    |Δloss_i| <= c u (V Σ_c |a_c| + Σ_c |a_c| |lse - x_c| + z lse²) + 2 z |lse| δ
    |Δ∂loss/∂q_c| <= s (1-ε) |w_c| (δ + c u |lse - x_c|) + u_q |∂loss/∂q_c| + η_q   (q's dtype)

The reductions add c u N Σ_i |loss_i|. Confident predictions (p_y ~ 0.999) are covered: the true-class
gradient p_y - 1 is formed in float32 and rounded once, so in bf16 it is as accurate as bf16 allows (torch's bf16
path rounds the log-probabilities to bf16 before its backward forms the gradient from them).
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple, Optional

import torch
import triton
import triton.language as tl

from .fastmath import LOG2E, exp, exp2
from .launch import DTYPES as _DTYPES, INTERPRET as _INTERPRET, after_barrier, autograd_function, call, cdiv
from .launch import REGISTERS_PER_SM, next_power_of_2, on_device as _on_device, resident_registers, round_to_bf16
from .launch import sm_count

__all__ = ["cross_entropy", "CrossEntropyLoss"]

_REDUCTIONS = ("none", "mean", "sum")
# Launch shape. On an H200 (python -m report ce-sweep, bf16 8192 x 32000 forward + backward replayed
# from a CUDA graph, report/sweeps/) chunks of 8192 logits at 32 a thread (8 warps) took 0.371 ms,
# 68% of copy, against 0.465 ms for the former 16384 at 16 a thread (32 warps) and 0.411 for 16384
# at 32 a thread. Compiled for sm_90 (python -m report.compile_check): only label-smoothed chunked
# rows spill, 4 to 8 bytes.
_TILE = 2048  # logits per program when several short rows share a program
_MAX_BLOCK_V = 8192  # longest row kept in registers; longer rows are streamed in chunks this long
_PER_THREAD = 32  # logits per thread (at most: short rows' programs keep 4 warps)
# Rows whose tile is at most this wide take a thread each (ROW_A_THREAD in _cross_entropy_kernel):
# 16 logits a thread, [16, 128] tiles on 4 warps.
_ROW_A_THREAD = 16
# Their gradient leaves through shared memory into row-major runs (9 more instructions a logit at
# V = 10, compile_check --rows) rather than stored from the class-major layout, where a warp's store
# of one class across 32 rows writes 20 sectors partially for 64 bytes (10 such writes a sector).
_ROW_MAJOR_STORES = True
# Where a block's rows are contiguous (row stride V, the usual case), it is loaded and its gradient
# stored as one run of ROWS V logits instead: a warp's load of one class across 32 rows spans 640
# bytes (20 sectors) for 64 used, so each sector is requested by all ten class loads (L1 hits
# after the first); the run takes every sector once, 16 bytes a thread. The permutation to and
# from the class-major tile goes through shared memory (tl.gather). V becomes a constexpr there
# (a variant for each V up to 16), so that the run's index arithmetic is by constants.
_ROW_RUNS = True
# The mean's denominator D is summed by at most _MAX_PARTS programs of the prologue (one partial
# each), which every main program then adds up in the same order: deterministic, and at most 4 KB
# of L2 reads per persistent program. Enough programs to fill the GPU: on the H200 the prologue
# took 24 µs at 4194304 rows with 128 (32 MB of targets, 8 µs at copy speed).
_MAX_PARTS = 1024
_PART_ROWS = 4096  # targets per prologue program below _MAX_PARTS programs
_BLOCK = 1024  # elements per step of the small reductions
_NUM_STAGES = 1  # pipelining of the main kernel's loops: 2 stages measured slower on an H200 (report/NOTES.md)
# Rows of more than 256 and at most _ROW_A_WARP logits (class indices, not both weights and smoothing)
# take a one-warp program each in the forward: a row's max and sums are then shuffles within the warp,
# without the shared memory and barriers of a row spread over warps (compile_check, bf16, sm_90: 15.3
# instructions a logit at V = 1024 against 31.5 for two rows on 4 warps, 22.0 against 38.1 at 1000,
# 42.3 against 86.7 at 300). They take up to 128 registers a thread.
_ROW_A_WARP = 1024


# ----------------------------------------------------------------------------------------------
# What the launches move between HBM and the SMs: one count for the module docstring's table,
# traffic() and the kernels' launch metadata (profilers such as Proton read "bytes" from it).
# The class weights (V x 4 bytes a program, from L2) and the few bytes of reduction workspace are left out.
# ----------------------------------------------------------------------------------------------
def _main_bytes(n_rows, n_cols, logits_size, grad_size, target_size, row_outputs) -> int:
    """The main kernel: logits read, gradient written (grad_size 0 without one), class indices
    (target_size a row) or probabilities (target_size a logit) read, row_outputs float32 values
    written a row (the per-row loss of "none", lse, Σ_c a_c)."""
    return n_rows * (n_cols * (logits_size + grad_size) + target_size + 4 * row_outputs)


def _main_metadata(grid, metadata, args) -> dict:
    n_rows, n_cols = args["n_rows"], args["n_cols"]
    soft = args["SOFT"]
    target_size = args["target_ptr"].element_size() * (n_cols if soft else 1)
    row_outputs = (args["REDUCTION"] == _REDUCTIONS.index("none")) + args["STORE_LSE"] * (1 + soft)
    grad_size = args["grad_ptr"].element_size() if args["COMPUTE_GRAD"] else 0
    return {"name": f"_cross_entropy_kernel [{n_rows}, {n_cols}]",
            "bytes": _main_bytes(n_rows, n_cols, args["logits_ptr"].element_size(), grad_size, target_size,
                                 row_outputs)}


def _prologue_bytes(n_rows, target_size, mean) -> int:
    """The prologue: for "mean" the class indices read (the weights' sum D), else a 4-byte ticket."""
    return n_rows * target_size if mean else 4


def _prologue_metadata(grid, metadata, args) -> dict:
    return {"name": f"_prologue_kernel [{args['n_rows']}]",
            "bytes": _prologue_bytes(args["n_rows"], args["target_ptr"].element_size(), args["MEAN"])}


def traffic(n_rows: int, n_cols: int, element_size: int, *, gradient: bool = True, reduction: str = "mean") -> int:
    """Bytes a call's forward launches move for class-index (int64) targets without class weights,
    the logits requiring grad (``gradient``: the lse is saved and, for "mean" and "sum", the
    gradient for grad_output = 1 written, so that the backward then adds only a scalar read a
    program) or not. The module docstring's table in code:

    >>> traffic(8192, 32000, 2) - 2 * 8192 * 32000 * 2  # targets twice, lse once: 20 bytes a row
    163840
    >>> traffic(8192, 32000, 2, gradient=False, reduction="sum")  # logits, targets once; a 4-byte ticket
    524353540
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    prologue = 0 if reduction == "none" else _prologue_bytes(n_rows, 8, reduction == "mean")
    outputs = (reduction == "none") + gradient
    grad_size = element_size if gradient and reduction != "none" else 0
    return prologue + _main_bytes(n_rows, n_cols, element_size, grad_size, 8, outputs)


# ----------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------
@triton.jit
def _online_update(x, m, s):
    """Fold a [ROWS, BLOCK_V] tile x into the running max m and running sum s = Σ exp(x - m)."""
    m_new = tl.maximum(m, tl.max(x, axis=1))
    # A row that has seen only -inf so far keeps s = 0: shift by 0 instead of -inf (-inf - -inf = NaN).
    shift = tl.where(m_new == float("-inf"), 0.0, m_new)
    s = s * exp(m - shift) + tl.sum(exp(x - shift[:, None]), axis=1)
    return m_new, s


@triton.jit
def _soft_update(x, a, shift_old, shift, t, a_sum):
    """Fold a tile of logits x and soft-target weights a into T = Σ_c a_c (shift - x_c) and Σ_c a_c,
    moving T's reference from shift_old to shift (the running max, 0 while it is -inf). For
    a >= 0 every term is >= 0, so the loss T + Σ_c a_c log s does not cancel; a_c = 0 adds 0
    even at x_c = -inf (torch's 0 · -inf gives NaN there)."""
    t = t + (shift - shift_old) * a_sum + tl.sum(tl.where(a != 0.0, a * (shift[:, None] - x), 0.0), axis=1)
    return t, a_sum + tl.sum(a, axis=1)


@triton.jit
def _soft_weights(q_row, c, mask, weight_ptr, n_cols, label_smoothing,
                  HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr):
    """a_c = w_c ((1 - ε) q_c + ε / V) for a tile of class-probability targets (0 off the row)."""
    a = tl.load(q_row[:, None] + c[None, :], mask=mask, other=0.0).to(tl.float32)
    if HAS_SMOOTHING:
        a = tl.where(mask, (1.0 - label_smoothing) * a + label_smoothing / n_cols, 0.0)
    if HAS_WEIGHT:
        a *= tl.load(weight_ptr + c, mask=c < n_cols, other=0.0)[None, :]
    return a


@triton.jit
def _smoothing_sums(x, c, mask, r, weight_ptr, n_cols, w_sum, wd_sum, HAS_WEIGHT: tl.constexpr):
    """Fold a tile of logits x (columns c) into label smoothing's W = Σ_c w_c and Σ_c w_c (x_c - r),
    taken relative to r = x_y so that logits of 1e4 do not cancel against lse W; returns the
    tile's weights w (1 without class weights) and the two sums."""
    if HAS_WEIGHT:
        w = tl.load(weight_ptr + c, mask=c < n_cols, other=0.0)[None, :]
        w_sum += tl.sum(w, axis=1)
    else:
        w = 1.0
        w_sum += tl.sum(tl.where(mask, 1.0, 0.0), axis=1)
    wd_sum += tl.sum(tl.where(mask, w * (x - r[:, None]), 0.0), axis=1)
    return w, w_sum, wd_sum


@triton.jit
def _b_tile(q_row, c, mask, weight_ptr, n_cols, label_smoothing,
            HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr, SOFT: tl.constexpr):
    """_grad_tile's b_c for the columns c, loaded afresh: a_c (soft targets), (ε / V) w_c or 0."""
    b = 0.0
    if SOFT:
        b = _soft_weights(q_row, c, mask, weight_ptr, n_cols, label_smoothing, HAS_WEIGHT, HAS_SMOOTHING)
    elif HAS_SMOOTHING:
        if HAS_WEIGHT:
            b = label_smoothing / n_cols * tl.load(weight_ptr + c, mask=c < n_cols, other=0.0)[None, :]
        else:
            b = label_smoothing / n_cols
    return b


@triton.jit
def _per_row(v, CLS: tl.constexpr):
    """A row's value, [ROWS], broadcast along a tile's class axis CLS (1: [ROWS, BLOCK_V] tiles)."""
    return tl.expand_dims(v, CLS)


@triton.jit
def _per_class(v, CLS: tl.constexpr):
    """A class's value, [BLOCK_V], broadcast along a tile's rows (the axis other than CLS)."""
    return tl.expand_dims(v, 1 - CLS)


@triton.jit
def _grad_tile(p, is_y, coef_p, coef_y, b, scale, active, in_range, HAS_B: tl.constexpr, ROUND_BF16: tl.constexpr,
               CLS: tl.constexpr):
    """∂loss/∂x for a tile (classes on axis CLS) from its softmax p: p A - (1 - ε) w_y [c = y] - b_c,
    times the row's scale (p may also be e^(x - m) with coef_p = A / Σ e^(x - m)), with
    b_c = (ε / V) w_c (class indices) or a_c (soft targets: coef_y = 0; HAS_B: b is not 0); NaN
    for a target outside [0, V), 0 for an ignored row. is_y marks the target's entries [c = y]
    (False where _store_target_entries writes them afterwards). The scale and the NaN go into the
    row's coefficients (a multiply a row, not a logit's)."""
    coef_p = tl.where(in_range, coef_p * scale, float("nan"))  # p NaN = NaN, 0 NaN too
    g = p * _per_row(coef_p, CLS) - tl.where(is_y, _per_row(coef_y * scale, CLS), 0.0)
    if HAS_B:
        g -= b * _per_row(scale, CLS)
    g = tl.where(_per_row(active, CLS), g, 0.0)
    if ROUND_BF16:
        g = round_to_bf16(g)
    return g


@triton.jit
def _store_target_entries(g_row, y, p_y, coef_p, coef_y, w_y, label_smoothing, n_cols, scale, active, in_range,
                          HAS_SMOOTHING: tl.constexpr, ROUND_BF16: tl.constexpr):
    """Each row's target entry of the gradient, from its p_y (and b_y = (ε / V) w_y) as _grad_tile
    forms it, stored once the rest of the row is written without the target's term (is_y False):
    the barrier orders every thread's earlier stores before this one, so it is the entry's last
    write. A compare and a select a logit fewer, and no column index held a logit until the
    gradient's store (a whole 32768-logit row spilled those: 140 bytes a thread on 16 warps)."""
    b_y = (label_smoothing / n_cols * w_y)[:, None] if HAS_SMOOTHING else 0.0
    g = after_barrier(_grad_tile(p_y[:, None], True, coef_p, coef_y, b_y, scale, active, in_range, HAS_SMOOTHING,
                                 ROUND_BF16, 1))
    tl.store(g_row[:, None] + y[:, None], g.to(g_row.dtype.element_ty), mask=(active & in_range)[:, None])


@triton.jit
def _rows_and_targets(block, target_ptr, n_rows, n_cols, ignore_index, ROWS: tl.constexpr, SOFT: tl.constexpr):
    """Rows of a block, their int64 indices, masks, and the targets: the range check in int64,
    then int32 (clamped to 0 when out of range, so that no load goes out of bounds). SOFT: every
    row counts and there is no class index (y = -1)."""
    rows = block * ROWS + tl.arange(0, ROWS)
    row_mask = rows < n_rows
    rows64 = rows.to(tl.int64)  # row * stride can pass 2^31
    if SOFT:
        y = tl.full([ROWS], -1, tl.int32)
        active = row_mask
        in_range = row_mask
    else:
        y = tl.load(target_ptr + rows64, mask=row_mask, other=ignore_index)
        active = row_mask & (y != ignore_index)
        in_range = (y >= 0) & (y < n_cols)
        y = tl.where(in_range, y, 0).to(tl.int32)
    return row_mask, rows64, y, active, in_range


@triton.jit
def _load_run(ptr, flat, rows_left, FULL: tl.constexpr, ROWS: tl.constexpr, RUN_V: tl.constexpr):
    """The run of ROWS rows of RUN_V logits at ptr, -inf past the last row. A FULL block's mask has a
    constant bound, so that the load takes 16 bytes a thread: bound by the rows left, it would be
    constant over only as many elements as divide RUN_V (2 at V = 10: 4-byte loads)."""
    if FULL:
        run = tl.load(ptr + flat, mask=flat < ROWS * RUN_V, other=float("-inf"))
    else:
        run = tl.load(ptr + flat, mask=flat < tl.minimum(rows_left, ROWS) * RUN_V, other=float("-inf"))
    return run


@triton.jit
def _store_run(ptr, flat, values, rows_left, FULL: tl.constexpr, ROWS: tl.constexpr, RUN_V: tl.constexpr):
    """Store a run of ROWS rows of RUN_V values at ptr, in its dtype; as _load_run."""
    values = values.to(ptr.dtype.element_ty)
    if FULL:
        tl.store(ptr + flat, values, mask=flat < ROWS * RUN_V)
    else:
        tl.store(ptr + flat, values, mask=flat < tl.minimum(rows_left, ROWS) * RUN_V)


# The kernels' integer arguments that only bound loops and masks (n_rows, ignore_index, ...) are not
# specialized: Triton would otherwise compile another variant for each new value's divisibility by
# 16 (and for 1), e.g. for every batch size or ignore_index a program meets.
@triton.jit(do_not_specialize=["n_rows", "ignore_index", "rows_per_part"], launch_metadata=_prologue_metadata)
def _prologue_kernel(target_ptr, weight_ptr, parts_ptr, count_ptr, n_rows, n_cols, ignore_index, rows_per_part,
                     HAS_WEIGHT: tl.constexpr, MEAN: tl.constexpr, BLOCK: tl.constexpr):
    """Zero the main kernel's ticket counter; for "mean", program p writes its partial sum of
    D = Σ_{i not ignored} w_{y_i} (NaN for a target outside [0, V)) to parts[p]."""
    pid = tl.program_id(0)
    if pid == 0:
        tl.store(count_ptr, 0)
    if MEAN:
        acc = tl.zeros([BLOCK], tl.float32)
        for start in range(0, rows_per_part, BLOCK):
            rows = pid * rows_per_part + start + tl.arange(0, BLOCK)
            mask = rows < n_rows
            y = tl.load(target_ptr + rows, mask=mask, other=ignore_index)
            keep = y != ignore_index
            in_range = (y >= 0) & (y < n_cols)
            if HAS_WEIGHT:
                w = tl.load(weight_ptr + tl.where(in_range, y, 0), mask=keep & in_range, other=0.0)
            else:
                w = 1.0
            acc += tl.where(keep, tl.where(in_range, w, float("nan")), 0.0)
        tl.store(parts_ptr + pid, tl.sum(acc))


@triton.jit
def _main_block(
    block, logits_ptr, logits_stride, target_ptr, target_stride, weight_ptr, grad_ptr, grad_stride, loss_ptr, lse_ptr,
    a_sum_ptr, consts_ptr, n_rows, n_cols, ignore_index, label_smoothing, z_loss, inv_d,
    HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr, SOFT: tl.constexpr, REDUCTION: tl.constexpr,
    STORE_LSE: tl.constexpr, COMPUTE_GRAD: tl.constexpr, ROWS: tl.constexpr, BLOCK_V: tl.constexpr,
    SINGLE_TILE: tl.constexpr, NUM_STAGES: tl.constexpr, ROUND_BF16: tl.constexpr, ROW_A_THREAD: tl.constexpr,
    ROW_MAJOR_STORES: tl.constexpr, RUN_V: tl.constexpr, FULL: tl.constexpr,
):
    """One block of ROWS rows of _cross_entropy_kernel (see there): stores its gradient, lse and,
    for "none", its losses, and returns the rows' losses (0 for rows past the end). FULL: the block
    has ROWS rows, so that a run (RUN_V) is loaded and stored without a bound on its rows."""
    tl.static_assert(not (ROW_A_THREAD and (SOFT or HAS_SMOOTHING)), "a row a thread: class indices, no smoothing")
    CLS: tl.constexpr = 0 if ROW_A_THREAD else 1  # the single tile's class axis
    # Rows of up to 64 logits take x_y, and the target's gradient entries, from a compare a logit in
    # the tile; longer ones have their target entries stored by _store_target_entries.
    X_Y_IN_TILE: tl.constexpr = SINGLE_TILE and BLOCK_V <= 64
    TARGET_LATER: tl.constexpr = not SOFT and not X_Y_IN_TILE
    cols = tl.arange(0, BLOCK_V)
    if ROW_A_THREAD:
        flat = tl.arange(0, BLOCK_V * ROWS)
        flat_r, flat_c = flat % ROWS, flat // ROWS  # the order of the flat class-major run: c ROWS + r
        if RUN_V > 0:  # class c of row r sits at r V + c of its block's run, and run entry i at (i % V) ROWS + i // V
            from_run = tl.where(flat_c < RUN_V, flat_r * RUN_V + flat_c, 0)
            to_run = tl.where(flat < ROWS * RUN_V, (flat % RUN_V) * ROWS + flat // RUN_V, 0)
    row_mask, rows64, y, active, in_range = _rows_and_targets(block, target_ptr, n_rows, n_cols, ignore_index,
                                                              ROWS, SOFT)
    x_row = logits_ptr + rows64 * logits_stride
    q_row = target_ptr + rows64 * target_stride  # soft targets' rows (unused for class indices)
    if SOFT:
        t = tl.zeros([ROWS], tl.float32)  # Σ_c a_c (shift - x_c)
        a_sum = tl.zeros([ROWS], tl.float32)
    else:
        if HAS_WEIGHT:
            w_y = tl.load(weight_ptr + y, mask=active & in_range, other=0.0)
        else:
            w_y = tl.full([ROWS], 1.0, tl.float32)
        w_sum = tl.zeros([ROWS], tl.float32)
        wd_sum = tl.zeros([ROWS], tl.float32)

    # Pass 1: running max m, Σ exp(x - m), and the target's sums.
    m = tl.full([ROWS], float("-inf"), tl.float32)
    s = tl.zeros([ROWS], tl.float32)
    if SINGLE_TILE:
        tile_mask = row_mask[:, None] & (cols < n_cols)[None, :]  # the row-major [ROWS, BLOCK_V] tile's
        if ROW_A_THREAD:
            flat_rows = (block * ROWS + flat_r).to(tl.int64)
            mask = (flat_rows < n_rows) & (flat_c < n_cols)
            if RUN_V > 0:
                run_start = tl.cast(block * ROWS, tl.int64) * RUN_V
                run = _load_run(logits_ptr + run_start, flat, n_rows - block * ROWS, FULL, ROWS, RUN_V)
                x = tl.where(mask, tl.gather(run, from_run, 0), float("-inf"))
            else:
                x = tl.load(logits_ptr + flat_rows * logits_stride + flat_c, mask=mask, other=float("-inf"))
            x = tl.reshape(x, [BLOCK_V, ROWS]).to(tl.float32)
        else:
            mask = tile_mask
            x = tl.load(x_row[:, None] + cols[None, :], mask=mask, other=float("-inf")).to(tl.float32)
        is_y = False
        if not SOFT:
            if X_Y_IN_TILE:  # x_y from the tile: no dependent load after the target's
                is_y = (_per_class(cols, CLS) == _per_row(y, CLS)) & _per_row(active & in_range, CLS)
                x_y = tl.sum(tl.where(is_y, x, 0.0), axis=CLS)
            else:
                x_y = tl.load(x_row + y, mask=active & in_range, other=0.0).to(tl.float32)
            # For smoothing, W = Σ w_c and Σ w_c (x_c - r) are taken relative to r = x_y, so that
            # logits of 1e4 do not cancel against lse W (r = 0 if x_y = -inf).
            r = tl.where(x_y == float("-inf"), 0.0, x_y)
        m = tl.max(x, axis=CLS)
        shift = tl.where(m == float("-inf"), 0.0, m)
        e = exp(x - _per_row(shift, CLS))  # kept: the gradient's only exp
        s = tl.sum(e, axis=CLS)
        if SOFT:
            a = _soft_weights(q_row, cols, mask, weight_ptr, n_cols, label_smoothing, HAS_WEIGHT, HAS_SMOOTHING)
            t, a_sum = _soft_update(x, a, 0.0, shift, t, a_sum)
        elif HAS_SMOOTHING:
            w, w_sum, wd_sum = _smoothing_sums(x, cols, mask, r, weight_ptr, n_cols, w_sum, wd_sum, HAS_WEIGHT)
    else:
        if not SOFT:
            x_y = tl.load(x_row + y, mask=active & in_range, other=0.0).to(tl.float32)
            r = tl.where(x_y == float("-inf"), 0.0, x_y)  # as above
        # Keep the chunks in L2 for pass 2's re-read.
        for start in tl.range(0, n_cols, BLOCK_V, num_stages=NUM_STAGES):
            c = start + cols
            mask = row_mask[:, None] & (c < n_cols)[None, :]
            x = tl.load(x_row[:, None] + c[None, :], mask=mask, other=float("-inf"),
                        eviction_policy="evict_last").to(tl.float32)
            m_old = m
            m, s = _online_update(x, m, s)
            if SOFT:
                a = _soft_weights(q_row, c, mask, weight_ptr, n_cols, label_smoothing, HAS_WEIGHT,
                                  HAS_SMOOTHING)
                t, a_sum = _soft_update(x, a, tl.where(m_old == float("-inf"), 0.0, m_old),
                                        tl.where(m == float("-inf"), 0.0, m), t, a_sum)
            elif HAS_SMOOTHING:
                w, w_sum, wd_sum = _smoothing_sums(x, c, mask, r, weight_ptr, n_cols, w_sum, wd_sum, HAS_WEIGHT)

    shift = tl.where(m == float("-inf"), 0.0, m)
    log_s = tl.log(s)
    lse = shift + log_s
    if SOFT:  # loss = Σ_c a_c (lse - x_c) + z lse², A = Σ_c a_c + 2 z lse
        coef_y = tl.zeros([ROWS], tl.float32)
        coef_p = a_sum + 2.0 * z_loss * lse
        loss = (t + a_sum * log_s) + z_loss * lse * lse
    else:
        nll = (shift - x_y) + log_s  # lse - x_y without rounding lse at the scale of |m|
        coef_y = (1.0 - label_smoothing) * w_y
        coef_p = coef_y + 2.0 * z_loss * lse
        loss = coef_y * nll + z_loss * lse * lse
        if HAS_SMOOTHING:
            eps_v = label_smoothing / n_cols
            loss += eps_v * (w_sum * ((shift - r) + log_s) - wd_sum)
            coef_p += eps_v * w_sum
    loss = tl.where(active, tl.where(in_range, loss, float("nan")), 0.0)
    if REDUCTION == 0:
        tl.store(loss_ptr + rows64, loss, mask=row_mask)
    if STORE_LSE:
        tl.store(lse_ptr + rows64, lse, mask=row_mask)
        if SOFT:
            tl.store(a_sum_ptr + rows64, a_sum, mask=row_mask)
    if block == 0:  # both always written (1/D = 1 except for "mean", W = 0 where unused): an operator output
        tl.store(consts_ptr, inv_d)
        w_total = 0.0
        if HAS_WEIGHT and HAS_SMOOTHING and not SOFT:
            w_total = tl.max(w_sum, axis=0)  # W, the same in every row
        tl.store(consts_ptr + 1, w_total)

    # Pass 2: the gradient, from the registers (single tile) or re-reading the chunks.
    if COMPUTE_GRAD:
        scale = tl.full([ROWS], 1.0, tl.float32) * inv_d
        g_row = grad_ptr + rows64 * grad_stride
        if SINGLE_TILE:
            b = 0.0
            if SOFT:
                b = a
            elif HAS_SMOOTHING:
                b = eps_v * w
            # p = e / s: the 1 / s goes into the row's coefficient (coef_p p = (coef_p / s) e)
            g = _grad_tile(e, is_y, coef_p * (1.0 / s), coef_y, b, scale, active, in_range,
                           SOFT or HAS_SMOOTHING, ROUND_BF16, CLS)
            if RUN_V > 0:
                g_run = tl.gather(tl.reshape(g, [BLOCK_V * ROWS]), to_run, 0)
                _store_run(grad_ptr + run_start, flat, g_run, n_rows - block * ROWS, FULL, ROWS, RUN_V)
            elif ROW_A_THREAD and not ROW_MAJOR_STORES:
                tl.store(grad_ptr + flat_rows * grad_stride + flat_c,
                         tl.reshape(g, [BLOCK_V * ROWS]).to(grad_ptr.dtype.element_ty), mask=mask)
            elif ROW_A_THREAD:  # through shared memory into the row-major layout a 2-D store gets
                tl.store(g_row[:, None] + cols[None, :], tl.trans(g).to(grad_ptr.dtype.element_ty),
                         mask=tile_mask)
            else:
                tl.store(g_row[:, None] + cols[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)
            if TARGET_LATER:  # p_y as the tile's e, with its coefficient
                p_y, coef_p_y = exp(x_y - shift), coef_p * (1.0 / s)
        else:
            for start in tl.range(0, n_cols, BLOCK_V, num_stages=NUM_STAGES):
                c = start + cols
                mask = row_mask[:, None] & (c < n_cols)[None, :]
                x = tl.load(x_row[:, None] + c[None, :], mask=mask, other=float("-inf"),
                            eviction_policy="evict_first").to(tl.float32)
                b = _b_tile(q_row, c, mask, weight_ptr, n_cols, label_smoothing, HAS_WEIGHT, HAS_SMOOTHING,
                            SOFT)
                p = exp2(x * LOG2E - ((shift + log_s) * LOG2E)[:, None])  # see exp2: a gradient's bound
                g = _grad_tile(p, False, coef_p, coef_y, b, scale, active, in_range, SOFT or HAS_SMOOTHING,
                               ROUND_BF16, 1)
                tl.store(g_row[:, None] + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask,
                         eviction_policy="evict_first")
            if TARGET_LATER:  # p_y as the chunks' p
                p_y, coef_p_y = exp2(x_y * LOG2E - (shift + log_s) * LOG2E), coef_p
        if TARGET_LATER:
            _store_target_entries(g_row, y, p_y, coef_p_y, coef_y, w_y, label_smoothing, n_cols, scale, active,
                                  in_range, HAS_SMOOTHING, ROUND_BF16)
    return loss


@triton.jit(do_not_specialize=["n_rows", "ignore_index", "n_parts"], launch_metadata=_main_metadata)
def _cross_entropy_kernel(
    # inputs: logits [N, V] (row stride), class indices [N] or probabilities [N, V] (row stride), weights [V]
    logits_ptr, logits_stride, target_ptr, target_stride, weight_ptr,
    # outputs: the gradient [N, V] (row stride), the loss ([N] or one value), lse [N], Σ_c a_c [N], consts [2]
    grad_ptr, grad_stride, loss_ptr, lse_ptr, a_sum_ptr, consts_ptr,
    # the reduction's workspace: the prologue's partials of D, one loss partial a program, the ticket counter
    parts_ptr, n_parts, partial_ptr, count_ptr,
    n_rows, n_cols, ignore_index, label_smoothing, z_loss,
    HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr, SOFT: tl.constexpr, REDUCTION: tl.constexpr,
    STORE_LSE: tl.constexpr, COMPUTE_GRAD: tl.constexpr, ROWS: tl.constexpr, BLOCK_V: tl.constexpr,
    SINGLE_TILE: tl.constexpr, NUM_STAGES: tl.constexpr, BLOCK_STAGES: tl.constexpr, PARTS: tl.constexpr,
    BLOCK: tl.constexpr, ROUND_BF16: tl.constexpr, ROW_A_THREAD: tl.constexpr, ROW_MAJOR_STORES: tl.constexpr,
    RUN_V: tl.constexpr,
):
    """A persistent grid: each program takes every num_programs-th block of ROWS rows and computes
    their loss, lse (STORE_LSE) and gradient (COMPUTE_GRAD) times 1/D ("mean") or 1 ("sum").
    REDUCTION 0 ("none") stores each row's loss; 1 ("mean") and 2 ("sum") store one partial sum per
    program (its blocks in order), and the program that finishes last (an atomic ticket) adds them
    up in program order, so the result is deterministic for a given grid, and writes the loss.
    consts (with block 0, for the backward): [1/D, W = Σ_c w_c].
    SOFT: target_ptr holds class probabilities q [N, V] (row stride target_stride) instead of class
    indices; D = N, and with STORE_LSE the backward's Σ_c a_c goes to a_sum_ptr.
    SINGLE_TILE: the row fits in BLOCK_V and stays in registers between the two uses, so the logits
    are read once (x_y taken from them for rows of up to 64 logits, one load a row beyond) and the
    gradient written once (chunked rows: read twice, the second mostly from L2); beyond 64 logits
    the gradient's target entries are stored after the rest of the row (_store_target_entries).
    NUM_STAGES pipelines the chunk loops, BLOCK_STAGES the loop over a program's blocks (single
    tiles only: the next block's loads issued while this one reduces).
    ROUND_BF16: round a bfloat16 gradient explicitly (interpreter only, see round_to_bf16).
    ROW_A_THREAD (short single-tile rows, class indices, no smoothing): the tile is [BLOCK_V, ROWS],
    classes on axis 0, loaded as a flat class-major run (class c of row r at c ROWS + r) reshaped,
    so that each thread holds whole rows: a 2-D load of short rows gets the layout Triton picks for
    it, which gave 16 threads to each 10-logit row (its three reductions 4 shuffle levels each, its
    scalar work repeated 16 times: 205 instructions a logit in compile_check --rows, 56 this way)
    and, with no contiguous axis to go by, differs between Triton releases. The gradient is stored
    the same way, or (ROW_MAJOR_STORES) transposed back into the row-major layout of a 2-D store,
    through shared memory, so that a warp's store writes whole runs of rows (see _ROW_MAJOR_STORES).
    RUN_V (ROW_A_THREAD over contiguous rows: logits and gradient of row stride V = RUN_V): a block's
    rows are one run of ROWS V logits, loaded and stored as such (whole sectors, 16-byte accesses)
    and permuted to and from the class-major tile by tl.gather (through shared memory); a program
    walks its full blocks in one loop (pipelined over BLOCK_STAGES) and program 0 takes the last,
    partial block after it."""
    pid = tl.program_id(0)
    inv_d = 1.0
    if REDUCTION == 1:
        if SOFT:  # torch divides by the number of rows, whatever the weights
            inv_d = 1.0 / n_rows
        else:  # 1/D from the prologue's partials, the same sum in every program
            d = tl.sum(tl.load(parts_ptr + tl.arange(0, PARTS), mask=tl.arange(0, PARTS) < n_parts, other=0.0))
            inv_d = tl.where(d != 0.0, 1.0 / d, 0.0)
    # This program's share of the reduced loss, a sum a row kept across its blocks and reduced once
    # at the end: a block-wide sum each block (shuffles, shared memory, barriers) cost about a
    # fifth of a short-row block's instructions.
    total = tl.zeros([ROWS], tl.float32)
    # Blocks of a run (RUN_V) that are full first (PHASE 0), their accesses without a bound on their
    # rows, which Triton then pipelines over BLOCK_STAGES; every other block after (PHASE 1; of
    # runs, the last, partial one, so not pipelined). One loop body, unrolled for each phase.
    n_full = n_rows // ROWS if RUN_V > 0 else 0
    for PHASE in tl.static_range(2):
        if RUN_V > 0 or PHASE == 1:
            for block in tl.range(pid + PHASE * n_full, n_full if PHASE == 0 else tl.cdiv(n_rows, ROWS),
                                  tl.num_programs(0), num_stages=1 if RUN_V > 0 and PHASE == 1 else BLOCK_STAGES):
                total += _main_block(
                    block, logits_ptr, logits_stride, target_ptr, target_stride, weight_ptr, grad_ptr, grad_stride,
                    loss_ptr, lse_ptr, a_sum_ptr, consts_ptr, n_rows, n_cols, ignore_index, label_smoothing, z_loss,
                    inv_d, HAS_WEIGHT, HAS_SMOOTHING, SOFT, REDUCTION, STORE_LSE, COMPUTE_GRAD, ROWS, BLOCK_V,
                    SINGLE_TILE, NUM_STAGES, ROUND_BF16, ROW_A_THREAD, ROW_MAJOR_STORES, RUN_V, PHASE == 0)

    if REDUCTION != 0:
        tl.store(partial_ptr + pid, tl.sum(total, axis=0))
        # acq_rel: our partial is visible before the ticket; the last program sees every partial.
        ticket = tl.atomic_add(count_ptr, 1, sem="acq_rel")
        n_programs = tl.num_programs(0)
        if ticket == n_programs - 1:
            acc = tl.zeros([BLOCK], tl.float32)
            for start in range(0, n_programs, BLOCK):
                i = start + tl.arange(0, BLOCK)
                acc += tl.load(partial_ptr + i, mask=i < n_programs, other=0.0, cache_modifier=".cg")
            tl.store(loss_ptr, tl.sum(acc, axis=0) * inv_d)


@triton.jit(do_not_specialize=["n_rows", "ignore_index"])
def _backward_kernel(
    # the logits (or the gradient to rescale) [N, V], the targets, the weights [V]
    src_ptr, src_stride, target_ptr, target_stride, weight_ptr,
    # the forward's statistics: lse [N], Σ_c a_c [N], consts [1/D, W]
    lse_ptr, a_sum_ptr, consts_ptr,
    # the gradient [N, V] written, and grad_output (one value: stride 0)
    grad_ptr, grad_stride, go_ptr, go_stride,
    n_rows, n_cols, ignore_index, label_smoothing, z_loss,
    HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr, SOFT: tl.constexpr, MEAN: tl.constexpr,
    RESCALE: tl.constexpr, SKIP_IF_ONE: tl.constexpr, ROWS: tl.constexpr, BLOCK_V: tl.constexpr,
    ROUND_BF16: tl.constexpr,
):
    """The gradient times grad_output (go_ptr + row * go_stride; stride 0 for one value), and 1/D
    for "mean" (consts[0]). A persistent grid: each program takes every num_programs-th block of
    ROWS rows. RESCALE: src is a gradient already written (in place), multiply it by grad_output.
    Otherwise src holds the logits: g from p = exp(x - lse) with the forward's lse (and, SOFT, its
    Σ_c a_c), one read and one write (plus the soft targets). SKIP_IF_ONE: grad_output = 1 means
    the forward's gradient is already final; then every program returns after one scalar load."""
    pid = tl.program_id(0)
    go0 = tl.load(go_ptr).to(tl.float32)
    n_blocks = tl.cdiv(n_rows, ROWS)
    if SKIP_IF_ONE:
        n_blocks = tl.where(go0 == 1.0, 0, n_blocks)
    cols = tl.arange(0, BLOCK_V)
    for block in range(pid, n_blocks, tl.num_programs(0)):
        row_mask, rows64, y, active, in_range = _rows_and_targets(block, target_ptr, n_rows, n_cols, ignore_index,
                                                                  ROWS, SOFT)
        scale = tl.load(go_ptr + rows64 * go_stride, mask=row_mask, other=0.0).to(tl.float32)
        src_row = src_ptr + rows64 * src_stride
        q_row = target_ptr + rows64 * target_stride
        g_row = grad_ptr + rows64 * grad_stride
        if not RESCALE:
            if MEAN:
                scale *= tl.load(consts_ptr)
            lse = tl.load(lse_ptr + rows64, mask=row_mask, other=0.0)
            if SOFT:
                coef_y = tl.zeros([ROWS], tl.float32)
                coef_p = tl.load(a_sum_ptr + rows64, mask=row_mask, other=0.0) + 2.0 * z_loss * lse
            else:
                if HAS_WEIGHT:
                    w_y = tl.load(weight_ptr + y, mask=active & in_range, other=0.0)
                else:
                    w_y = tl.full([ROWS], 1.0, tl.float32)
                coef_y = (1.0 - label_smoothing) * w_y
                coef_p = coef_y + 2.0 * z_loss * lse
                if HAS_SMOOTHING:
                    if HAS_WEIGHT:
                        coef_p += label_smoothing / n_cols * tl.load(consts_ptr + 1)
                    else:
                        coef_p += label_smoothing
                x_y = tl.load(src_row + y, mask=active & in_range, other=0.0).to(tl.float32)
        for start in range(0, n_cols, BLOCK_V):
            c = start + cols
            mask = row_mask[:, None] & (c < n_cols)[None, :]
            v = tl.load(src_row[:, None] + c[None, :], mask=mask, other=0.0, eviction_policy="evict_first")
            if RESCALE:
                g = v.to(tl.float32) * scale[:, None]
                if ROUND_BF16:
                    g = round_to_bf16(g)
            else:
                b = _b_tile(q_row, c, mask, weight_ptr, n_cols, label_smoothing, HAS_WEIGHT, HAS_SMOOTHING, SOFT)
                p = exp2(v.to(tl.float32) * LOG2E - (lse * LOG2E)[:, None])
                g = _grad_tile(p, False, coef_p, coef_y, b, scale, active, in_range, SOFT or HAS_SMOOTHING,
                               ROUND_BF16, 1)
            tl.store(g_row[:, None] + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask,
                     eviction_policy="evict_first")
        if not (RESCALE or SOFT):
            _store_target_entries(g_row, y, exp2(x_y * LOG2E - lse * LOG2E), coef_p, coef_y, w_y, label_smoothing,
                                  n_cols, scale, active, in_range, HAS_SMOOTHING, ROUND_BF16)


# ----------------------------------------------------------------------------------------------
# Host side: checks, launch configuration, forward and backward
# ----------------------------------------------------------------------------------------------
def _alloc(shape, dtype, device):
    """Every output buffer comes from here (tests poison it with NaN to catch unwritten elements)."""
    return torch.empty(shape, dtype=dtype, device=device)


def _unit_class_stride(logits) -> bool:
    return logits.shape[1] == 1 or logits.stride(1) == 1


def _check_options(ignore_index, reduction, label_smoothing, z_loss, block_v) -> None:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an int, got {ignore_index!r}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    for name, value in (("label_smoothing", label_smoothing), ("z_loss", z_loss)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a float, got {value!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if not 0.0 <= z_loss < float("inf"):
        raise ValueError(f"z_loss must be finite and >= 0, got {z_loss!r}")
    if isinstance(block_v, bool) or not isinstance(block_v, int) or block_v < 2 or block_v & (block_v - 1):
        raise ValueError(f"block_v must be a power of two >= 2, got {block_v!r}")


def _check_tensors(logits, target, weight, ignore_index, inplace_backward) -> bool:
    """Types, shapes and devices of torch's layouts: logits [C], [N, C] or [N, C, d1, ...] with
    class-index targets [], [N] or [N, d1, ...], or class probabilities of the logits' shape.
    Returns whether the target holds probabilities (soft)."""
    if not isinstance(logits, torch.Tensor) or logits.dtype not in _DTYPES:
        got = getattr(logits, "dtype", type(logits))
        raise TypeError(f"logits must be a float32, float16 or bfloat16 tensor, got {got}")
    if logits.dim() == 0 or logits.shape[logits.dim() > 1] < 1:
        raise ValueError(f"logits must be [C], [N, C] or [N, C, d1, ...] with C >= 1 classes, "
                         f"got shape {tuple(logits.shape)}")
    if logits.device.type != "cuda" and not _INTERPRET:
        raise ValueError(f"logits must be on a CUDA device (or set TRITON_INTERPRET=1), got {logits.device}")
    n_cols = logits.shape[logits.dim() > 1]
    soft = isinstance(target, torch.Tensor) and target.dtype in _DTYPES + (torch.float64,)
    if soft:
        if target.shape != logits.shape:
            raise ValueError(f"target of class probabilities must have the logits' shape {tuple(logits.shape)}, "
                             f"got {tuple(target.shape)}")
        if ignore_index >= 0:  # as torch: only the default (negative) value, which ignores nothing
            raise ValueError(f"ignore_index={ignore_index} is not supported with class-probability targets")
        if inplace_backward and target.requires_grad and torch.is_grad_enabled():
            raise ValueError("inplace_backward does not support class-probability targets that require grad "
                             "(their gradient needs the logits)")
    elif not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.int32):
        got = getattr(target, "dtype", type(target))
        raise TypeError(f"target must be an int64 or int32 tensor of class indices, or a floating-point tensor "
                        f"of class probabilities, got {got}")
    else:
        want = logits.shape[:1] + logits.shape[2:] if logits.dim() > 1 else ()
        if target.shape != want:
            raise ValueError(f"target must have shape {tuple(want)} to match logits {tuple(logits.shape)}, "
                             f"got {tuple(target.shape)}")
    if target.device != logits.device:
        raise ValueError(f"target is on {target.device} but logits are on {logits.device}")
    if weight is not None:
        if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
            got = getattr(weight, "dtype", type(weight))
            raise TypeError(f"weight must be a floating-point tensor, got {got}")
        if weight.shape != (n_cols,):
            raise ValueError(f"weight must have shape ({n_cols},), one per class, got {tuple(weight.shape)}")
        if weight.device != logits.device:
            raise ValueError(f"weight is on {weight.device} but logits are on {logits.device}")
        if weight.requires_grad and torch.is_grad_enabled():
            raise ValueError("weight must not require grad: class weights are constants (no gradient, as in torch)")
    return soft


def _check_rows(logits, target, ignore_index, inplace_backward, check_target):
    """The checks on the [rows, V] form the kernels see."""
    n_rows, n_cols = logits.shape
    if inplace_backward and logits.requires_grad and torch.is_grad_enabled():
        base = logits if logits._base is None else logits._base
        if base.is_leaf:
            raise ValueError("inplace_backward needs logits computed by an operation, not a leaf tensor "
                             "that requires grad (or a view of one): its storage would become its gradient")
        if not _unit_class_stride(logits) or (n_rows > 1 and logits.stride(0) < n_cols):
            raise ValueError(f"inplace_backward needs logits with unit class stride and non-overlapping rows, "
                             f"got strides {logits.stride()}")
    if check_target is None:  # where it costs no sync: a plain tensor in host memory (not fake), outside a trace
        check_target = (type(target) is torch.Tensor and target.device.type == "cpu"
                        and not torch.compiler.is_compiling())
    if check_target and n_rows and not target.is_floating_point():
        bad = (target != ignore_index) & ((target < 0) | (target >= n_cols))
        if bad.any():  # on a GPU a device-to-host sync, only when asked for (check_target=True)
            first = int(bad.nonzero()[0, 0])
            raise ValueError(f"target[{first}] = {int(target[first])} is outside [0, {n_cols}) "
                             f"and is not ignore_index={ignore_index}")


def _classes_last(t):
    """[C] -> [1, C]; [N, C, d1, ...] -> [N d1 ..., C], a view when the layout allows (the class
    stride is 1 and the other dimensions merge into one row stride, e.g. channels-last), else a
    copy; a class stride other than 1 is copied to one too (see the module docstring's bytes)."""
    if t.dim() == 1:
        t = t[None]
    elif t.dim() > 2:
        t = t.movedim(1, -1).reshape(-1, t.shape[1])
    return t if _unit_class_stride(t) else t.contiguous()


def _round_bf16(grad) -> bool:
    return grad is not None and grad.dtype == torch.bfloat16 and _INTERPRET


class _Launch(NamedTuple):
    """How the kernels run over [N, V]: blocks of ``rows`` rows, ``block`` logits of each at a time
    (``single``: a row fits one block), on ``warps`` warps; the main kernel's persistent grid has
    ``per_sm`` programs an SM and pipelines its loops over ``stages``."""

    block: int
    rows: int
    warps: int
    single: bool
    per_sm: int
    stages: int

    @property
    def maxnreg(self) -> int:
        """Registers a thread that let all per_sm programs of an SM be resident at once. A persistent
        grid whose programs do not all fit runs the rest in a second wave, after the first has done
        its share: with 3 of 4 resident, the last program's rows take as long again on an SM one
        program cannot fill."""
        return resident_registers(self.warps, self.per_sm)


@dataclasses.dataclass(frozen=True)
class _Options:
    """A call's options as the host code passes them along (the operators take them one by one);
    ``soft``: class-probability targets; ``inplace``: the gradient goes into the logits' buffer."""

    reduction: str
    ignore_index: int
    label_smoothing: float
    z_loss: float
    block_v: int
    soft: bool
    inplace: bool = False

    @property
    def plain(self) -> bool:
        """Class indices without label smoothing: the variants with the fewest registers, and the
        only ones whose short rows are a thread's each (ROW_A_THREAD)."""
        return not self.soft and self.label_smoothing == 0


def _launch_config(n_rows: int, n_cols: int, o: _Options, *, weighted: bool, aligned: bool, forward: bool) -> _Launch:
    """_PER_THREAD logits per thread (a whole row for rows of at most _ROW_A_THREAD, 128 rows on 4
    warps; 4 for rows of at most 64, many rows a program: on an H200, bf16 V = 10 fwd+bwd took
    0.58 ms instead of 0.74 ms at 16 threads a row, with fewer registers; 16 for class weights with
    label smoothing, whose weight tiles beside the logits' spill 24-28 bytes at 32 a thread for
    sm_90), 4 to 32 warps; in the ``forward`` with class indices, rows of 257 to _ROW_A_WARP logits
    one warp each (see there). ``aligned``: the rows' strides are multiples of 16 elements.

    The persistent grid has as many programs an SM as fit its registers at a budget a thread
    (``_Launch.maxnreg`` holds them to it). The budgets are the least that every variant of a
    launch compiles within without spills for sm_90 (compile_check, triton 3.6 and 3.9; without a
    cap ptxas took 30-230): 64 for class indices without smoothing over aligned rows, 128 where
    smoothing, soft targets or unaligned rows (scalar loads) need more, and for rows a thread's
    each, whose 16 logits and exponentials a thread the backward and smoothed variants hold
    beside each other, 255."""
    block = min(max(16, next_power_of_2(n_cols)), o.block_v)
    heavy = weighted and o.label_smoothing > 0
    if forward and not o.soft and not heavy and 256 < block <= _ROW_A_WARP and n_cols <= block:
        rows, warps, registers = 1, 1, 128
    else:
        rows = max(1, min(_TILE // block, next_power_of_2(max(n_rows, 1))))
        per_thread = block if block <= _ROW_A_THREAD else 4 if block <= 64 else 16 if heavy else _PER_THREAD
        warps = min(32, max(4, rows * block // (32 * per_thread)))
        if block <= _ROW_A_THREAD:
            registers = 128 if forward and o.plain else 255
        else:
            registers = 64 if o.plain and aligned else 128
    per_sm = max(1, REGISTERS_PER_SM // (32 * warps * registers))
    return _Launch(block, rows, warps, n_cols <= block, per_sm, _NUM_STAGES)


def _persistent_programs(device, n_blocks: int, per_sm: int) -> int:
    """A persistent grid: per_sm programs an SM (sm_count: a few SMs under the interpreter, so that
    programs walk several blocks), fewer where there are fewer blocks. The backward's too: where
    grad_output = 1 its programs return at once (~1000 of them, a few µs), and where it is not (a
    loss scale, "none") it reads and writes as much as the forward, which at one program an SM
    (4 warps for rows of 1024 logits, 4 KB in flight) would run at a sixth of copy speed."""
    return max(1, min(n_blocks, per_sm * sm_count(device)))


def _forward(logits, target, weight, o: _Options, *, grad, store_lse):
    """One pass over the logits (plus, for "mean"/"sum", the prologue: a tiny kernel that zeroes the
    ticket counter and, for class indices, sums D). Returns (loss, lse, Σ_c a_c, consts), the
    per-row stats None unless store_lse (Σ_c a_c only for soft targets); the gradient, if ``grad``
    is given, is written into it times 1/D ("mean") or 1 ("sum")."""
    n_rows, n_cols = logits.shape
    device = logits.device
    launch = _launch_config(n_rows, n_cols, o, weighted=weight is not None, forward=True,
                            aligned=logits.stride(0) % 16 == 0 and (grad is None or grad.stride(0) % 16 == 0))
    row_a_thread = launch.block <= _ROW_A_THREAD and o.plain
    runs = (row_a_thread and _ROW_RUNS and logits.stride(0) == n_cols
            and (grad is None or grad.stride(0) == n_cols))
    n_programs = _persistent_programs(device, cdiv(n_rows, launch.rows), launch.per_sm)
    # consts [1/D, W], D's partials, then one loss partial per program.
    ws = _alloc((2 + _MAX_PARTS + n_programs,), torch.float32, device)
    consts, parts, partials = ws[:2], ws[2:2 + _MAX_PARTS], ws[2 + _MAX_PARTS:]
    lse = _alloc((n_rows,), torch.float32, device) if store_lse else None
    a_sum = _alloc((n_rows,), torch.float32, device) if store_lse and o.soft else None
    if o.reduction == "none":
        loss, count = _alloc((n_rows,), torch.float32, device), None
    else:
        loss = _alloc((), torch.float32, device)
        count = torch.empty((1,), dtype=torch.int32, device=device)
    if n_rows == 0:
        return (loss if o.reduction == "none" else loss.fill_(0.0)), lse, a_sum, consts.zero_()
    mean = o.reduction == "mean" and not o.soft  # the prologue sums D (soft targets: D = N)
    n_parts = min(_MAX_PARTS, cdiv(n_rows, _PART_ROWS)) if mean else 1
    # Pointers the kernels do not read (their constexpr flag is off) get the workspace.
    if count is not None:
        _prologue_kernel[(n_parts,)](
            target_ptr=target, weight_ptr=ws if weight is None else weight, parts_ptr=parts, count_ptr=count,
            n_rows=n_rows, n_cols=n_cols, ignore_index=o.ignore_index,
            rows_per_part=cdiv(cdiv(n_rows, n_parts), _BLOCK) * _BLOCK,
            HAS_WEIGHT=weight is not None, MEAN=mean, BLOCK=_BLOCK, num_warps=4)
    _cross_entropy_kernel[(n_programs,)](
        logits_ptr=logits, logits_stride=logits.stride(0), target_ptr=target,
        target_stride=target.stride(0) if o.soft else 0, weight_ptr=ws if weight is None else weight,
        grad_ptr=ws if grad is None else grad, grad_stride=0 if grad is None else grad.stride(0),
        loss_ptr=loss, lse_ptr=ws if lse is None else lse, a_sum_ptr=ws if a_sum is None else a_sum,
        consts_ptr=consts, parts_ptr=parts, n_parts=n_parts, partial_ptr=partials,
        count_ptr=ws if count is None else count, n_rows=n_rows, n_cols=n_cols, ignore_index=o.ignore_index,
        label_smoothing=o.label_smoothing, z_loss=o.z_loss,
        HAS_WEIGHT=weight is not None, HAS_SMOOTHING=o.label_smoothing > 0, SOFT=o.soft,
        REDUCTION=_REDUCTIONS.index(o.reduction), STORE_LSE=store_lse, COMPUTE_GRAD=grad is not None,
        ROWS=launch.rows, BLOCK_V=launch.block, SINGLE_TILE=launch.single,
        NUM_STAGES=1 if launch.single else launch.stages, BLOCK_STAGES=launch.stages if launch.single else 1,
        PARTS=_MAX_PARTS, BLOCK=_BLOCK, ROUND_BF16=_round_bf16(grad), ROW_A_THREAD=row_a_thread,
        ROW_MAJOR_STORES=_ROW_MAJOR_STORES, RUN_V=n_cols if runs else 0, num_warps=launch.warps,
        maxnreg=launch.maxnreg,
    )
    return loss, lse, a_sum, consts


def _backward(src, target, weight, lse, a_sum, consts, grad, grad_output, o: _Options, *, rescale, skip_if_one):
    """Launch _backward_kernel (see there) on a persistent grid."""
    n_rows, n_cols = grad.shape
    if n_rows == 0:
        return
    launch = _launch_config(n_rows, n_cols, o, weighted=weight is not None, forward=False,
                            aligned=src.stride(0) % 16 == 0 and grad.stride(0) % 16 == 0)
    grid = (_persistent_programs(grad.device, cdiv(n_rows, launch.rows), launch.per_sm),)
    go = grad_output.float()
    _backward_kernel[grid](
        src_ptr=src, src_stride=src.stride(0), target_ptr=target, target_stride=target.stride(0) if o.soft else 0,
        weight_ptr=consts if weight is None else weight, lse_ptr=consts if lse is None else lse,
        a_sum_ptr=consts if a_sum is None else a_sum, consts_ptr=consts, grad_ptr=grad, grad_stride=grad.stride(0),
        go_ptr=go, go_stride=go.stride(0) if go.dim() else 0, n_rows=n_rows, n_cols=n_cols,
        ignore_index=o.ignore_index, label_smoothing=o.label_smoothing, z_loss=o.z_loss,
        HAS_WEIGHT=weight is not None, HAS_SMOOTHING=o.label_smoothing > 0, SOFT=o.soft,
        MEAN=o.reduction == "mean", RESCALE=rescale, SKIP_IF_ONE=skip_if_one, ROWS=launch.rows,
        BLOCK_V=launch.block, ROUND_BF16=_round_bf16(grad), num_warps=launch.warps, maxnreg=launch.maxnreg,
    )


def _target_grad(logits, target, weight, lse, grad_output, o: _Options):
    """∂loss/∂q_c = (1 - ε) w_c (lse - x_c), times grad_output (and 1/N for "mean"), for soft targets
    that require grad: torch elementwise ops on the saved logits and lse, off the usual path."""
    scale = grad_output.float() * (1.0 - o.label_smoothing)
    if o.reduction == "mean":
        scale = scale / max(1, logits.shape[0])
    elif o.reduction == "none":
        scale = scale[:, None]
    g = (lse[:, None] - logits.float()) * scale
    return (g if weight is None else g * weight).to(target.dtype)


# ----------------------------------------------------------------------------------------------
# Custom operators (namespace oracle_kernels): torch.compile traces each as one node from its fake
# implementation, and autograd reaches the default path through register_autograd.
#   cross_entropy            functional: loss, lse, Σ_c a_c, consts and, when asked, the gradient
#                            for grad_output = 1 in a new buffer ("mean"/"sum");
#   cross_entropy_inplace    the same, but writes that gradient into the logits (declared mutated,
#                            so the version counter is bumped by the dispatcher);
#   cross_entropy_backward   writes the gradient times grad_output into grad (declared mutated).
# They are custom_op rather than triton_op: the host code allocates one workspace that several
# launches share and reuses buffers between forward and backward, which a traced triton_op would
# functionalize into copies. inplace_backward cannot go through register_autograd (it accepts only
# functional operators, and the gradient would alias the logits), so that mode keeps an
# autograd.Function around the mutating operator; the backward formula is shared.
# ----------------------------------------------------------------------------------------------
def _empty(t):
    return t.new_empty((0,))


def _forward_outputs(logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v,
                     grad, store_lse):
    """_forward on the logits' device, with an empty [0] tensor for each statistic not stored."""
    o = _Options(reduction, ignore_index, label_smoothing, z_loss, block_v, target.is_floating_point())
    with _on_device(logits):
        loss, lse, a_sum, consts = _forward(logits, target, weight, o, grad=grad, store_lse=store_lse)
    return loss, _empty(loss) if lse is None else lse, _empty(loss) if a_sum is None else a_sum, consts


def _cross_entropy_impl(logits: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor], reduction: str,
                      ignore_index: int, label_smoothing: float, z_loss: float, block_v: int, compute_grad: bool,
                      store_lse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, lse, Σ_c a_c, consts [1/D, W], grad) for logits [N, V]. compute_grad: the logits will
    need a gradient, so the backward's lse [N] (and for soft targets Σ_c a_c [N]) are stored, as
    they are for store_lse, and for "mean"/"sum" grad [N, V] is the gradient for grad_output = 1.
    Whatever is not computed is an empty [0] tensor."""
    grad = _alloc(logits.shape, logits.dtype, logits.device) if compute_grad and reduction != "none" else None
    outputs = _forward_outputs(logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v,
                               grad, store_lse or compute_grad)
    return (*outputs, _empty(logits) if grad is None else grad)


_cross_entropy_op = torch.library.custom_op("oracle_kernels::cross_entropy", _cross_entropy_impl, mutates_args=())


@_cross_entropy_op.register_fake
def _(logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v, compute_grad, store_lse):
    loss, lse, a_sum, consts = _fake_forward_outputs(logits, target, reduction, store_lse or compute_grad)
    grad = torch.empty_like(logits) if compute_grad and reduction != "none" else _empty(logits)
    return loss, lse, a_sum, consts, grad


def _cross_entropy_inplace_impl(logits: torch.Tensor, target: torch.Tensor, weight: Optional[torch.Tensor],
                              reduction: str, ignore_index: int, label_smoothing: float, z_loss: float, block_v: int,
                              store_lse: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """oracle_kernels::cross_entropy for "mean"/"sum" with the gradient for grad_output = 1 written
    over the logits; returns (loss, lse, Σ_c a_c, consts)."""
    return _forward_outputs(logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v,
                            logits, store_lse)


_cross_entropy_inplace_op = torch.library.custom_op("oracle_kernels::cross_entropy_inplace",
                                                    _cross_entropy_inplace_impl, mutates_args=("logits",))


@_cross_entropy_inplace_op.register_fake
def _(logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v, store_lse):
    return _fake_forward_outputs(logits, target, reduction, store_lse)


def _fake_forward_outputs(logits, target, reduction, store_lse):
    n_rows = logits.shape[0]
    f32 = {"dtype": torch.float32, "device": logits.device}
    loss = torch.empty((n_rows,) if reduction == "none" else (), **f32)
    lse = torch.empty((n_rows if store_lse else 0,), **f32)
    a_sum = torch.empty((n_rows if store_lse and target.is_floating_point() else 0,), **f32)
    return loss, lse, a_sum, torch.empty((2,), **f32)


def _cross_entropy_backward_impl(grad: torch.Tensor, logits: Optional[torch.Tensor], target: torch.Tensor,
                               weight: Optional[torch.Tensor], lse: torch.Tensor, a_sum: torch.Tensor,
                               consts: torch.Tensor, grad_output: torch.Tensor, reduction: str, ignore_index: int,
                               label_smoothing: float, z_loss: float, block_v: int, skip_if_one: bool) -> None:
    """grad = ∂loss/∂logits times grad_output (and 1/D for "mean"), recomputed from the logits and
    the forward's lse (and Σ_c a_c), or, when logits is None, grad (which holds the gradient for
    grad_output = 1) rescaled in place. skip_if_one: grad already holds the gradient for
    grad_output = 1, so a grad_output equal to 1 (checked on the device) leaves it as it is."""
    o = _Options(reduction, ignore_index, label_smoothing, z_loss, block_v, target.is_floating_point())
    with _on_device(grad):
        _backward(grad if logits is None else logits, target, weight, lse if lse.numel() else None,
                  a_sum if a_sum.numel() else None, consts, grad, grad_output, o,
                  rescale=logits is None, skip_if_one=skip_if_one)


_cross_entropy_backward_op = torch.library.custom_op("oracle_kernels::cross_entropy_backward",
                                                     _cross_entropy_backward_impl, mutates_args=("grad",))


@_cross_entropy_backward_op.register_fake
def _(grad, logits, target, weight, lse, a_sum, consts, grad_output, reduction, ignore_index, label_smoothing,
      z_loss, block_v, skip_if_one):
    return None


def _save(ctx, logits, target, weight, o: _Options, lse, a_sum, consts, grad):
    """What the backward needs: the logits unless their buffer holds the gradient (in-place
    "mean"/"sum"), the forward's gradient buffer (held as an attribute, not saved, so that the first
    backward can hand it to autograd as the gradient), and the options."""
    needs_grad, target_grad = ctx.needs_input_grad[:2]
    keep_logits = target_grad or (needs_grad and not (o.inplace and o.reduction != "none"))
    ctx.save_for_backward(logits if keep_logits else None, target, weight, lse, a_sum, consts)
    ctx.grad = grad
    ctx.options = o


def _backward_formula(ctx, grad_loss):
    """Nothing to compute for grad_output = 1 the first time (the forward wrote the gradient);
    otherwise the gradient recomputed from the logits and lse (exact for any loss scale), or, when
    the logits' buffer holds the gradient (inplace_backward), rescaled in place. Soft targets that
    require grad get theirs from the saved logits and lse."""
    if torch.is_grad_enabled():
        raise RuntimeError("cross_entropy is not twice differentiable: its backward is a Triton kernel "
                           "(call backward / autograd.grad without create_graph=True)")
    logits, target, weight, lse, a_sum, consts = ctx.saved_tensors
    if logits is not None and lse.numel() < target.shape[0]:  # a recompute needs the lse
        raise RuntimeError("cross_entropy: the forward was told that no gradient would be needed "
                           "(compute_grad=False, store_lse=False), so it kept no lse for the backward")
    grad, ctx.grad = ctx.grad, None  # drop our reference, so that autograd may take the buffer as .grad
    first = grad is not None
    o = ctx.options
    if ctx.needs_input_grad[0]:
        if grad is None:
            if logits is None:
                raise RuntimeError("cross_entropy: with inplace_backward=True, backward through the same loss "
                                   "twice is not supported (the logits' buffer was handed to autograd as the "
                                   "gradient the first time)")
            # "none" in place: the gradient overwrites the logits (the operator bumps their version).
            grad = logits.detach() if o.inplace else _alloc(logits.shape, logits.dtype, logits.device)
        call(torch.ops.oracle_kernels.cross_entropy_backward, _cross_entropy_backward_impl,
             grad, logits, target, weight, lse, a_sum, consts, grad_loss, o.reduction, o.ignore_index,
             o.label_smoothing, o.z_loss, o.block_v, first, mutated=(grad,))
    grad_target = None
    if ctx.needs_input_grad[1]:
        grad_target = _target_grad(logits, target, weight, lse, grad_loss, o)
    return grad, grad_target


def _setup_context(ctx, inputs, output):
    logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v, compute_grad, _ = inputs
    loss, lse, a_sum, consts, grad = output
    # The outputs beside the loss get no gradient: without this autograd would fill one of zeros for
    # each, an [N, V] buffer for grad (a third logits-sized tensor at the peak, measured on the H200).
    ctx.set_materialize_grads(False)
    o = _Options(reduction, ignore_index, label_smoothing, z_loss, block_v, target.is_floating_point())
    _save(ctx, logits, target, weight, o, lse, a_sum, consts,
          grad if compute_grad and reduction != "none" else None)
    ctx.mark_non_differentiable(lse, a_sum, consts, grad)


def _op_backward(ctx, grad_loss, *_):
    return (*_backward_formula(ctx, grad_loss), None, None, None, None, None, None, None, None)


_cross_entropy_op.register_autograd(_op_backward, setup_context=_setup_context)
_CrossEntropyFunction = autograd_function("_CrossEntropyFunction", _cross_entropy_impl, _setup_context, _op_backward)


class _CrossEntropyInplace(torch.autograd.Function):
    """inplace_backward: the forward writes the gradient over the logits ("mean"/"sum" when they
    need one) through the mutating operator; for "none" the backward does."""

    @staticmethod
    def forward(ctx, logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v, return_lse):
        needs_grad, target_grad = ctx.needs_input_grad[:2]
        fused = needs_grad and reduction != "none"
        args = (logits, target, weight, reduction, ignore_index, label_smoothing, z_loss, block_v)
        store_lse = return_lse or (needs_grad and not fused) or target_grad
        if fused:
            loss, lse, a_sum, consts = call(torch.ops.oracle_kernels.cross_entropy_inplace,
                                            _cross_entropy_inplace_impl, *args, store_lse, mutated=(logits,))
        else:
            loss, lse, a_sum, consts, _ = call(torch.ops.oracle_kernels.cross_entropy, _cross_entropy_impl, *args,
                                               False, store_lse)
        o = _Options(reduction, ignore_index, label_smoothing, z_loss, block_v, target.is_floating_point(),
                     inplace=True)
        _save(ctx, logits, target, weight, o, lse, a_sum, consts, logits.detach() if fused else None)
        ctx.mark_non_differentiable(lse)
        return loss, lse

    @staticmethod
    def backward(ctx, grad_loss, _grad_lse):
        return (*_backward_formula(ctx, grad_loss), None, None, None, None, None, None, None)


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
def cross_entropy(logits, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  z_loss=0.0, return_lse=False, inplace_backward=False, check_target=None, block_v=None):
    """Softmax cross-entropy of ``logits`` [N, V] against class indices ``target`` [N], in any
    layout ``torch.nn.functional.cross_entropy`` takes ([V] with a 0-d target; [N, V, d1, ...]
    with target [N, d1, ...]: rows are then the N d1 ... positions).

    loss_i = (1 - ε) w_y (lse_i - x_iy) + (ε / V) Σ_c w_c (lse_i - x_ic) + z lse_i²,
    lse_i = log Σ_c exp(x_ic), reduced as ``torch.nn.functional.cross_entropy`` does (see the
    module docstring for the gradient, the special values and the error bounds).

    Args:
        logits: float32, float16 or bfloat16 tensor [V], [N, V] or [N, V, d1, ...]; any row
            stride (a class stride other than 1 costs a copy: see the module docstring).
        target: int64 or int32 tensor [], [N] or [N, d1, ...] of class indices in [0, V), or
            ``ignore_index``.
        weight: optional per-class weights [V] (constants: no gradient flows to them).
        ignore_index: target value whose rows contribute neither loss nor gradient.
        reduction: "mean" (divided by the summed weight of the non-ignored targets), "sum" or "none".
        label_smoothing: ε in [0, 1].
        z_loss: z >= 0, coefficient of lse² added to every non-ignored row.
        return_lse: also return the per-row lse (float32, the target's shape, not differentiable).
        inplace_backward: write the gradient into the logits' buffer (see the module docstring:
            the logits hold the gradient afterwards).
        check_target: raise ValueError on a target outside [0, V) (other than ``ignore_index``)
            before launching. None (default): check where it is free, i.e. CPU tensors outside
            torch.compile; True: also on a GPU, where it waits for the GPU (a device-to-host sync:
            not for torch.compile(fullgraph=True) or CUDA graph capture); False: never. Unchecked,
            a bad target is never a finite loss: its row's loss and gradient are NaN (and with
            "mean" the loss and every gradient), and nothing is read out of bounds.
        block_v: longest row chunk held in registers, a power of two (rows longer than it are
            streamed with an online softmax); a tuning and testing knob.

    Under ``torch.autocast`` the logits are not cast (torch casts its own cross-entropy to float32):
    16-bit logits stay 16-bit, every sum and exp is float32, the loss is float32 and the gradient
    has the logits' dtype, as outside autocast.

    Returns:
        the float32 loss (0-d, or the target's shape for "none"), and the lse when ``return_lse``.

    """
    block_v = _MAX_BLOCK_V if block_v is None else block_v
    _check_options(ignore_index, reduction, label_smoothing, z_loss, block_v)
    soft = _check_tensors(logits, target, weight, ignore_index, inplace_backward)
    batch_shape = logits.shape[:1] + logits.shape[2:] if logits.dim() > 1 else ()  # of "none" and lse
    logits = _classes_last(logits)
    target = _classes_last(target) if soft else target.reshape(-1).contiguous()
    _check_rows(logits, target, ignore_index, inplace_backward, check_target)
    if weight is not None:
        weight = weight.detach().to(torch.float32).contiguous()
    options = (reduction, ignore_index, float(label_smoothing), float(z_loss), block_v)
    if inplace_backward:
        loss, lse = _CrossEntropyInplace.apply(logits, target, weight, *options, bool(return_lse))
    else:
        needs_grad = torch.is_grad_enabled() and logits.requires_grad
        store_lse = bool(return_lse) or (torch.is_grad_enabled() and target.requires_grad)  # q's gradient uses it
        args = (logits, target, weight, *options, needs_grad, store_lse)
        loss, lse, *_ = call(torch.ops.oracle_kernels.cross_entropy, _CrossEntropyFunction.apply, *args)
    if reduction == "none":
        loss = loss.reshape(batch_shape)
    return (loss, lse.reshape(batch_shape)) if return_lse else loss


class CrossEntropyLoss(torch.nn.Module):
    """Module form of :func:`cross_entropy`, with ``torch.nn.CrossEntropyLoss``'s arguments plus
    ``z_loss``, ``return_lse``, ``inplace_backward`` and ``check_target``; ``weight`` is a buffer."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, z_loss=0.0,
                 *, return_lse=False, inplace_backward=False, check_target=None):
        super().__init__()
        _check_options(ignore_index, reduction, label_smoothing, z_loss, _MAX_BLOCK_V)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.z_loss = z_loss
        self.return_lse = return_lse
        self.inplace_backward = inplace_backward
        self.check_target = check_target

    def forward(self, input, target):
        return cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing, z_loss=self.z_loss,
                             return_lse=self.return_lse, inplace_backward=self.inplace_backward,
                             check_target=self.check_target)

    def extra_repr(self) -> str:
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}, z_loss={self.z_loss}")
