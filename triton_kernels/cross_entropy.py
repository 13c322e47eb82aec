"""Softmax cross-entropy in Triton: the loss and its gradient in one pass over the logits.

For a row of logits x (length V) with class-index target y, class weights w (w = 1 without
weights, W = Σ_c w_c), label smoothing ε and z-loss coefficient z (PaLM):

    lse      = log Σ_c exp(x_c)
    loss     = (1 - ε) w_y (lse - x_y)  +  (ε / V) Σ_c w_c (lse - x_c)  +  z lse²
    ∂loss/∂x_c = p_c A - (1 - ε) w_y [c = y] - (ε / V) w_c,
    p_c = exp(x_c - lse),   A = (1 - ε) w_y + ε W / V + 2 z lse.

Rows whose target equals ``ignore_index`` have loss 0 and gradient 0. Reductions follow
``torch.nn.functional.cross_entropy``: "none" returns the per-row losses, "sum" their sum and
"mean" their sum divided by D = Σ_{i not ignored} w_{y_i} (the z-loss term included). When D = 0
(every target ignored, or only zero-weight classes) "mean" returns 0 with a zero gradient, where
torch returns NaN. The loss and the optional per-row lse are float32 whatever the logits' dtype;
the gradient has the logits' dtype.

Speed (written for an H100, where the floor is memory bandwidth). When the logits need a gradient
and the reduction is "mean" or "sum", the forward kernel writes the final gradient (assuming
grad_output = 1) beside the loss, so that the backward is a kernel that reads grad_output and
returns at once when it is 1 (``loss.backward()``), or rescales the gradient otherwise. Bytes moved
for N rows of V logits of b bytes each:

    forward + backward, fused:  N V b read + N V b written  (+ N x 16 for targets, loss and lse)
    forward only:               N V b read
    backward, grad_output = 1:  one scalar per program; grad_output != 1: 2 N V b more
    "none" reduction:           the forward only reads (N V b); the backward, which needs the
                                per-row grad_output, reads the logits again and writes the gradient.

A row of up to ``block_v`` (default 16384) logits is held in registers, so it is read once;
programs take several rows at a time when V is small (V = 10 must not cost one program per row).
Longer rows are streamed in chunks of ``block_v`` with an online softmax (running max and rescaled
sum), and the gradient pass reads them a second time, mostly from L2. Row offsets are computed in
int64 (N V may exceed 2^31); ε and z are runtime arguments, so new values do not recompile.

Memory: with ``inplace_backward=True`` the gradient is written into the logits' own buffer, so
forward + backward need no second N x V tensor. The logits' version counter is bumped, so any
other autograd node that saved them for its backward raises instead of using the overwritten
values; but the logits read after the forward ("mean"/"sum") or the backward ("none") hold the
gradient, so read what you need (accuracy, argmax) before. Logits that are leaves requiring grad
(or views of one) are refused, since their own storage would become their gradient.

Special values: a -inf logit contributes p_c = 0 (a -inf target logit gives loss +inf, as does any
-inf logit when ε > 0, since log p_c = -inf); a row of only -inf logits, a +inf logit or a NaN
anywhere in a row makes that row's loss and gradient NaN; logits of magnitude 1e4 neither
overflow nor cancel, since every exponent is taken after subtracting the row maximum. Out-of-range targets raise
ValueError before any launch (one device-to-host sync); with ``check_target=False`` the sync is
skipped and such rows give a NaN loss and gradient, never an out-of-bounds access.

Tolerance model (tests/test_cross_entropy.py enforces it against the float64 oracle). Logits are
taken as exact (the oracle gets the same rounded values); all arithmetic is float32 with unit
roundoff u = 2^-24; the gradient is rounded once to the logits' dtype with unit roundoff u_out
(2^-8 bf16, 2^-11 fp16, 2^-24 fp32). With m = max_c x_c, A+ = (1-ε) w_y + ε W / V + 2 z |lse|,
B_c = (1-ε) w_y [c = y] + (ε / V) w_c and c a small constant (8 in the tests: exp and log are
approximations of a few ulp on the GPU; sums of V terms lose up to V u in the worst case):

    |Δlse|    <= δ = c u (|m| + V)                          shift by m, V-term sum, log
    |Δloss_i| <= A+ δ + c u ((1-ε) w_y |lse - x_y| + ε (W |lse - x_y| + Σ_c w_c |x_c - x_y|) + z lse²)
    |Δg_c|    <= s [ p_c (A+ (δ + c u |x_c - m|) + 2 z δ) + c u (p_c A+ + B_c) ] + u_out |g_c| + η

with s the gradient's scale (1/D, 1 or the row's grad_output) and η half the spacing of the output
dtype's subnormals (2^-25 for fp16, where gradients below 6e-5 are subnormal). A grad_output other
than 1 for "mean"/"sum" rescales the stored gradient: one more u_out |g_c| + η. The reductions
add c u N Σ_i |loss_i|. Confident predictions (p_y ~ 0.999) are covered: the true-class gradient p_y - 1 is
formed in float32 and rounded once, so in bf16 it is as accurate as bf16 allows (torch's bf16
path rounds the log-probabilities to bf16 before its backward forms the gradient from them).
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

__all__ = ["cross_entropy", "CrossEntropyLoss"]

_REDUCTIONS = ("none", "mean", "sum")
_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# Launch shape. Checked by compiling for sm_90 with ptxas, no GPU needed (python -m report.compile_check):
# at 16 logits per thread only weighted, label-smoothed rows of 16384 at 32 warps (the 64-register
# cap) spill, 4 to 8 bytes; a 32768-wide row at 32 warps spills.
_TILE = 2048  # logits per program when several short rows share a program
_MAX_BLOCK_V = 16384  # longest row kept in registers; longer rows are streamed in chunks this long
_PER_THREAD = 16  # logits per thread


# ----------------------------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------------------------
@triton.jit
def _online_update(x, m, s):
    """Fold a [ROWS, BLOCK_V] tile x into the running max m and running sum s = Σ exp(x - m)."""
    m_new = tl.maximum(m, tl.max(x, axis=1))
    # A row that has seen only -inf so far keeps s = 0: shift by 0 instead of -inf (-inf - -inf = NaN).
    shift = tl.where(m_new == float("-inf"), 0.0, m_new)
    s = s * tl.exp(m - shift) + tl.sum(tl.exp(x - shift[:, None]), axis=1)
    return m_new, s


@triton.jit
def _round_to_bf16(x):
    """Round float32 to the nearest bfloat16 (ties to even), still as float32. Only for Triton's
    CPU interpreter, whose float32 -> bfloat16 cast truncates; the GPU's cast rounds by itself."""
    bits = x.to(tl.uint32, bitcast=True)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.to(tl.float32, bitcast=True)


@triton.jit
def _grad_tile(x, cols, y, shift, log_s, coef_p, coef_y, smooth_w, scale, active, in_range,
               ROUND_BF16: tl.constexpr):
    """∂loss/∂x for a tile: p A - (1 - ε) w_y [c = y] - (ε / V) w_c, times the row's scale."""
    p = tl.exp((x - shift[:, None]) - log_s[:, None])
    g = p * coef_p[:, None] - tl.where(cols[None, :] == y[:, None], coef_y[:, None], 0.0) - smooth_w
    g = tl.where(in_range[:, None], g * scale[:, None], float("nan"))
    g = tl.where(active[:, None], g, 0.0)
    if ROUND_BF16:
        g = _round_to_bf16(g)
    return g


@triton.jit
def _cross_entropy_kernel(
    logits_ptr, logits_stride, target_ptr, weight_ptr,
    grad_ptr, grad_stride, scale_ptr, scale_stride, loss_ptr, lse_ptr,
    n_rows, n_cols, ignore_index, label_smoothing, z_loss,
    HAS_WEIGHT: tl.constexpr, HAS_SMOOTHING: tl.constexpr, STORE_LOSS: tl.constexpr,
    COMPUTE_GRAD: tl.constexpr, ROWS: tl.constexpr, BLOCK_V: tl.constexpr, SINGLE_TILE: tl.constexpr,
    ROUND_BF16: tl.constexpr,
):
    """ROWS rows per program. Loss and lse per row (STORE_LOSS), gradient times the row's scale
    (COMPUTE_GRAD; scale_ptr + row * scale_stride, stride 0 for one scale for all rows).
    SINGLE_TILE: the row fits in BLOCK_V and stays in registers between the two uses, so the logits
    are read once and the gradient written once (chunked rows: read twice, the second mostly from L2).
    ROUND_BF16: round a bfloat16 gradient explicitly (interpreter only, see _round_to_bf16)."""
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    row_mask = rows < n_rows
    rows64 = rows.to(tl.int64)  # row * stride can pass 2^31
    x_row = logits_ptr + rows64 * logits_stride
    y = tl.load(target_ptr + rows64, mask=row_mask, other=ignore_index)
    active = row_mask & (y != ignore_index)
    in_range = (y >= 0) & (y < n_cols)
    y = tl.where(in_range, y, 0)
    x_y = tl.load(x_row + y, mask=active & in_range, other=0.0).to(tl.float32)
    if HAS_WEIGHT:
        w_y = tl.load(weight_ptr + y, mask=active & in_range, other=0.0)
    else:
        w_y = tl.full([ROWS], 1.0, tl.float32)
    cols = tl.arange(0, BLOCK_V)

    # Pass 1: running max m, Σ exp(x - m) and, for smoothing, W = Σ w_c and Σ w_c (x_c - r) taken
    # relative to r = x_y, so that logits of 1e4 do not cancel against lse W (r = 0 if x_y = -inf).
    r = tl.where(x_y == float("-inf"), 0.0, x_y)
    m = tl.full([ROWS], float("-inf"), tl.float32)
    s = tl.zeros([ROWS], tl.float32)
    w_sum = tl.zeros([ROWS], tl.float32)
    wd_sum = tl.zeros([ROWS], tl.float32)
    if SINGLE_TILE:
        mask = row_mask[:, None] & (cols < n_cols)[None, :]
        x = tl.load(x_row[:, None] + cols[None, :], mask=mask, other=float("-inf")).to(tl.float32)
        m, s = _online_update(x, m, s)
        if HAS_SMOOTHING:
            if HAS_WEIGHT:
                w = tl.load(weight_ptr + cols, mask=cols < n_cols, other=0.0)[None, :]
                w_sum += tl.sum(w, axis=1)
            else:
                w = 1.0
                w_sum += n_cols
            wd_sum += tl.sum(tl.where(mask, w * (x - r[:, None]), 0.0), axis=1)
    else:
        for start in range(0, n_cols, BLOCK_V):
            c = start + cols
            mask = row_mask[:, None] & (c < n_cols)[None, :]
            x = tl.load(x_row[:, None] + c[None, :], mask=mask, other=float("-inf")).to(tl.float32)
            m, s = _online_update(x, m, s)
            if HAS_SMOOTHING:
                if HAS_WEIGHT:
                    w = tl.load(weight_ptr + c, mask=c < n_cols, other=0.0)[None, :]
                    w_sum += tl.sum(w, axis=1)
                else:
                    w = 1.0
                    w_sum += tl.sum(tl.where(mask, 1.0, 0.0), axis=1)
                wd_sum += tl.sum(tl.where(mask, w * (x - r[:, None]), 0.0), axis=1)

    shift = tl.where(m == float("-inf"), 0.0, m)
    log_s = tl.log(s)
    lse = shift + log_s
    nll = (shift - x_y) + log_s  # lse - x_y without rounding lse at the scale of |m|
    coef_y = (1.0 - label_smoothing) * w_y
    coef_p = coef_y + 2.0 * z_loss * lse
    loss = coef_y * nll + z_loss * lse * lse
    if HAS_SMOOTHING:
        eps_v = label_smoothing / n_cols
        loss += eps_v * (w_sum * ((shift - r) + log_s) - wd_sum)
        coef_p += eps_v * w_sum
    if STORE_LOSS:
        loss = tl.where(in_range, loss, float("nan"))
        tl.store(loss_ptr + rows64, tl.where(active, loss, 0.0), mask=row_mask)
        tl.store(lse_ptr + rows64, lse, mask=row_mask)

    # Pass 2: the gradient, from the registers (single tile) or re-reading the chunks.
    if COMPUTE_GRAD:
        scale = tl.load(scale_ptr + rows64 * scale_stride, mask=row_mask, other=0.0).to(tl.float32)
        g_row = grad_ptr + rows64 * grad_stride
        if SINGLE_TILE:
            smooth_w = 0.0
            if HAS_SMOOTHING:
                smooth_w = eps_v * w
            g = _grad_tile(x, cols, y, shift, log_s, coef_p, coef_y, smooth_w, scale, active, in_range, ROUND_BF16)
            tl.store(g_row[:, None] + cols[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)
        else:
            for start in range(0, n_cols, BLOCK_V):
                c = start + cols
                mask = row_mask[:, None] & (c < n_cols)[None, :]
                x = tl.load(x_row[:, None] + c[None, :], mask=mask, other=float("-inf")).to(tl.float32)
                smooth_w = 0.0
                if HAS_SMOOTHING:
                    if HAS_WEIGHT:
                        smooth_w = eps_v * tl.load(weight_ptr + c, mask=c < n_cols, other=0.0)[None, :]
                    else:
                        smooth_w = eps_v
                g = _grad_tile(x, c, y, shift, log_s, coef_p, coef_y, smooth_w, scale, active, in_range, ROUND_BF16)
                tl.store(g_row[:, None] + c[None, :], g.to(grad_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _scale_kernel(grad_ptr, grad_stride, g_ptr, n_rows, n_cols, ROWS: tl.constexpr, BLOCK_V: tl.constexpr,
                  ROUND_BF16: tl.constexpr):
    """grad *= g in place for a [ROWS, BLOCK_V] tile; nothing is read or written when g == 1."""
    g = tl.load(g_ptr).to(tl.float32)
    if g != 1.0:
        rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
        cols = tl.program_id(1) * BLOCK_V + tl.arange(0, BLOCK_V)
        mask = (rows < n_rows)[:, None] & (cols < n_cols)[None, :]
        ptrs = grad_ptr + rows.to(tl.int64)[:, None] * grad_stride + cols[None, :]
        v = tl.load(ptrs, mask=mask).to(tl.float32) * g
        if ROUND_BF16:
            v = _round_to_bf16(v)
        tl.store(ptrs, v.to(grad_ptr.dtype.element_ty), mask=mask)


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


def _check_tensors(logits, target, weight, ignore_index, inplace_backward, check_target):
    if not isinstance(logits, torch.Tensor) or logits.dtype not in _DTYPES:
        got = getattr(logits, "dtype", type(logits))
        raise TypeError(f"logits must be a float32, float16 or bfloat16 tensor, got {got}")
    if logits.dim() != 2 or logits.shape[1] < 1:
        raise ValueError(f"logits must be 2-D [N, V] with V >= 1 (flatten batch dims first), "
                         f"got shape {tuple(logits.shape)}")
    if logits.device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError(f"logits must be on a CUDA device (or set TRITON_INTERPRET=1), got {logits.device}")
    n_rows, n_cols = logits.shape
    if not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.int32):
        got = getattr(target, "dtype", type(target))
        raise TypeError(f"target must be an int64 or int32 tensor of class indices, got {got}")
    if target.shape != (n_rows,):
        raise ValueError(f"target must have shape ({n_rows},) to match logits {tuple(logits.shape)}, "
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
    if inplace_backward and logits.requires_grad and torch.is_grad_enabled():
        base = logits if logits._base is None else logits._base
        if base.is_leaf:
            raise ValueError("inplace_backward needs logits computed by an operation, not a leaf tensor "
                             "that requires grad (or a view of one): its storage would become its gradient")
        if not _unit_class_stride(logits) or (n_rows > 1 and logits.stride(0) < n_cols):
            raise ValueError(f"inplace_backward needs logits with unit class stride and non-overlapping rows, "
                             f"got strides {logits.stride()}")
    if check_target and n_rows:
        bad = (target != ignore_index) & ((target < 0) | (target >= n_cols))
        if bad.any():  # the one device-to-host sync; check_target=False skips it
            first = int(bad.nonzero()[0, 0])
            raise ValueError(f"target[{first}] = {int(target[first])} is outside [0, {n_cols}) "
                             f"and is not ignore_index={ignore_index}")


def _round_bf16(grad) -> bool:
    return grad is not None and grad.dtype == torch.bfloat16 and os.environ.get("TRITON_INTERPRET") == "1"


def _launch_config(n_rows: int, n_cols: int, block_v: int):
    """(BLOCK_V, ROWS, num_warps, SINGLE_TILE): _PER_THREAD logits per thread, 4 to 32 warps."""
    block = min(max(16, triton.next_power_of_2(n_cols)), block_v)
    rows = max(1, min(_TILE // block, triton.next_power_of_2(max(n_rows, 1))))
    warps = min(32, max(4, rows * block // (32 * _PER_THREAD)))
    return block, rows, warps, n_cols <= block


def _launch(logits, target, weight, ignore_index, label_smoothing, z_loss, block_v, *,
            loss=None, lse=None, grad=None, scale=None):
    """One pass over the logits: per-row loss and lse into ``loss`` and ``lse`` (if given), the
    gradient into ``grad`` (if given) times ``scale`` (a 0-d tensor, or one value per row).
    Absent buffers are replaced by ``logits`` as a placeholder pointer the kernel never touches."""
    n_rows, n_cols = logits.shape
    block, rows, warps, single = _launch_config(n_rows, n_cols, block_v)
    _cross_entropy_kernel[(triton.cdiv(n_rows, rows),)](
        logits, logits.stride(0), target, logits if weight is None else weight,
        logits if grad is None else grad, 0 if grad is None else grad.stride(0),
        logits if scale is None else scale, scale.stride(0) if scale is not None and scale.dim() else 0,
        logits if loss is None else loss, logits if lse is None else lse,
        n_rows, n_cols, ignore_index, label_smoothing, z_loss,
        HAS_WEIGHT=weight is not None, HAS_SMOOTHING=label_smoothing > 0, STORE_LOSS=loss is not None,
        COMPUTE_GRAD=grad is not None, ROWS=rows, BLOCK_V=block, SINGLE_TILE=single,
        ROUND_BF16=_round_bf16(grad), num_warps=warps,
    )


def _mean_scale(target, weight, ignore_index, n_cols):
    """1 / D with D = Σ over non-ignored rows of w[target] (their count without weights); 0 if D = 0."""
    keep = target != ignore_index
    if weight is None:
        denom = keep.sum(dtype=torch.float32)
    else:
        denom = torch.where(keep, weight[target.clamp(0, n_cols - 1)], 0.0).sum()
    return torch.where(denom > 0, 1.0 / denom, 0.0)


class _CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, reduction, label_smoothing, z_loss,
                inplace_backward, block_v):
        n_rows, n_cols = logits.shape
        device = logits.device
        loss_rows = _alloc((n_rows,), torch.float32, device)
        lse = _alloc((n_rows,), torch.float32, device)
        fused = ctx.needs_input_grad[0] and reduction != "none"
        scale = None  # the gradient's scale, 1/D for "mean"
        if reduction == "mean":
            scale = _mean_scale(target, weight, ignore_index, n_cols)
        elif fused:
            scale = torch.ones((), dtype=torch.float32, device=device)
        grad = None
        if fused:
            grad = logits.detach() if inplace_backward else _alloc(logits.shape, logits.dtype, device)
        if n_rows:
            _launch(logits, target, weight, ignore_index, label_smoothing, z_loss, block_v,
                    loss=loss_rows, lse=lse, grad=grad, scale=scale if fused else None)
        if fused and inplace_backward:
            # The logits now hold their gradient: nodes that saved them must fail, not read it.
            torch.autograd.graph.increment_version(logits)
        if reduction == "none":
            loss = loss_rows
            if ctx.needs_input_grad[0]:
                ctx.save_for_backward(logits, target, weight)
        elif reduction == "sum":
            loss = loss_rows.sum()
        else:
            loss = loss_rows.sum() * scale
        ctx.grad = grad
        ctx.options = (reduction, ignore_index, label_smoothing, z_loss, inplace_backward, block_v)
        ctx.mark_non_differentiable(lse)
        return loss, lse

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss, _grad_lse):
        reduction, ignore_index, label_smoothing, z_loss, inplace_backward, block_v = ctx.options
        if reduction == "none":
            logits, target, weight = ctx.saved_tensors
            n_rows, n_cols = logits.shape
            grad = logits.detach() if inplace_backward else _alloc(logits.shape, logits.dtype, logits.device)
            if n_rows:
                _launch(logits, target, weight, ignore_index, label_smoothing, z_loss, block_v,
                        grad=grad, scale=grad_loss.float())
            if inplace_backward:
                torch.autograd.graph.increment_version(logits)
        else:
            grad, ctx.grad = ctx.grad, None  # drop our reference: autograd may accumulate into it
            if grad is None:
                raise RuntimeError("cross_entropy: backward through the same loss twice is not supported "
                                   "(its gradient buffer was handed to autograd the first time)")
            n_rows, n_cols = grad.shape
            if n_rows:
                block, rows, warps, _ = _launch_config(n_rows, n_cols, _MAX_BLOCK_V)
                grid = (triton.cdiv(n_rows, rows), triton.cdiv(n_cols, block))
                _scale_kernel[grid](grad, grad.stride(0), grad_loss.float(), n_rows, n_cols,
                                    ROWS=rows, BLOCK_V=block, ROUND_BF16=_round_bf16(grad), num_warps=warps)
        return grad, None, None, None, None, None, None, None, None


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
def cross_entropy(logits, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  z_loss=0.0, return_lse=False, inplace_backward=False, check_target=True, block_v=None):
    """Softmax cross-entropy of ``logits`` [N, V] against class indices ``target`` [N].

    loss_i = (1 - ε) w_y (lse_i - x_iy) + (ε / V) Σ_c w_c (lse_i - x_ic) + z lse_i²,
    lse_i = log Σ_c exp(x_ic), reduced as ``torch.nn.functional.cross_entropy`` does (see the
    module docstring for the gradient, the special values and the error bounds).

    Args:
        logits: float32, float16 or bfloat16 tensor [N, V]; any row stride (a class stride other
            than 1 costs a copy).
        target: int64 or int32 tensor [N] of class indices in [0, V), or ``ignore_index``.
        weight: optional per-class weights [V] (constants: no gradient flows to them).
        ignore_index: target value whose rows contribute neither loss nor gradient.
        reduction: "mean" (divided by the summed weight of the non-ignored targets), "sum" or "none".
        label_smoothing: ε in [0, 1].
        z_loss: z >= 0, coefficient of lse² added to every non-ignored row.
        return_lse: also return the per-row lse [N] (float32, not differentiable).
        inplace_backward: write the gradient into the logits' buffer (see the module docstring:
            the logits hold the gradient afterwards).
        check_target: raise ValueError on targets outside [0, V) before launching (one sync).
        block_v: longest row chunk held in registers, a power of two (rows longer than it are
            streamed with an online softmax); a tuning and testing knob.

    Returns:
        the float32 loss (0-d, or [N] for "none"), and the lse when ``return_lse``.

    """
    block_v = _MAX_BLOCK_V if block_v is None else block_v
    _check_options(ignore_index, reduction, label_smoothing, z_loss, block_v)
    _check_tensors(logits, target, weight, ignore_index, inplace_backward, check_target)
    if weight is not None:
        weight = weight.detach().to(torch.float32).contiguous()
    if not _unit_class_stride(logits):
        logits = logits.contiguous()
    loss, lse = _CrossEntropy.apply(logits, target.contiguous(), weight, ignore_index, reduction,
                                    float(label_smoothing), float(z_loss), bool(inplace_backward), block_v)
    return (loss, lse) if return_lse else loss


class CrossEntropyLoss(torch.nn.Module):
    """Module form of :func:`cross_entropy`, with ``torch.nn.CrossEntropyLoss``'s arguments plus
    ``z_loss``, ``return_lse`` and ``inplace_backward``; ``weight`` is a buffer."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0, z_loss=0.0,
                 *, return_lse=False, inplace_backward=False):
        super().__init__()
        _check_options(ignore_index, reduction, label_smoothing, z_loss, _MAX_BLOCK_V)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.z_loss = z_loss
        self.return_lse = return_lse
        self.inplace_backward = inplace_backward

    def forward(self, input, target):
        return cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing, z_loss=self.z_loss,
                             return_lse=self.return_lse, inplace_backward=self.inplace_backward)

    def extra_repr(self) -> str:
        return (f"ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
                f"label_smoothing={self.label_smoothing}, z_loss={self.z_loss}")
