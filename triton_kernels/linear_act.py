"""Fused linear layer + activation: y = σ(x W^T + b) in one Triton kernel, and its backward.

Shapes follow ``nn.Linear``: x is [..., K] (flattened to M rows), the weight W is [N, K], the bias b
is [N], and y is [..., N]. With ξ = x W^T + b (the inner potential) and δ = dy ⊙ σ'(ξ):

    forward    y  = σ(ξ)                 one matmul, bias and σ in its epilogue
    backward   dx = δ W                  [M, K], reduction over N
               dW = δ^T x                [N, K], reduction over M; the same kernel sums db = Σ_m δ
               δ is formed from dy as the tiles are loaded (the prologue of both matmuls)

Tiling. Each program owns one output tile and loops over the reduction dimension, accumulating
``tl.dot`` products in float32 registers. Programs are numbered in groups of GROUP row tiles so that
consecutive programs share column tiles of the second operand in L2. Minimum HBM traffic, in
elements: forward M K + N K + M N (read x and W, write y) plus M N when it also writes g; dx
M N (dy) + N K + M K, dW M N (dy) + M K + N K (+ N for db), each plus M N where δ also needs y or g.
Inside a kernel x (or δ) is re-read from L2 once per column tile and W (or x) once per row tile.
Each matmul is 2 M N K flops, so at the benchmark shapes the kernels are compute-bound and the
epilogue (bias, σ, σ') and prologue (δ) work is hidden behind the tensor cores.

What the backward reads (``recompute=False``, the default) depends on σ:
- identity: nothing (δ = dy);
- relu, leaky_relu with slope >= 0: the output y, since σ'(ξ) = 1 where y > 0 and the slope
  elsewhere. y is the next layer's saved input anyway, so this costs no memory and no extra write;
- the smooth activations (and leaky_relu with a negative slope): g = σ'(ξ), written by the forward
  epilogue next to y. That is one more [M, N] tensor kept until the backward (the same memory as
  saving ξ, which is what eager PyTorch keeps for gelu/silu) and one more [M, N] write. Saving σ'(ξ)
  rather than ξ makes the backward prologue a single multiply instead of an erf/exp per element and
  per matmul, and it rounds g itself (relative error u) rather than ξ, whose rounding σ' would
  amplify where σ' is small and steep.
``recompute=True`` keeps nothing of size [M, N]: the backward re-runs the forward matmul with an
epilogue that writes δ = dy ⊙ σ'(ξ) directly, then the two gradient matmuls read δ. That trades
2 M N K extra flops (a third more work for forward + backward) for M N elements of activation
memory per layer, worthwhile only for the smooth activations under memory pressure.

Precision. Inputs and outputs are float32, float16 or bfloat16; products accumulate in float32.
float32 operands use IEEE products unless TF32 is allowed (``allow_tf32=True``, or left as None
to follow torch's cuBLAS setting: ``torch.backends.cuda.matmul.fp32_precision``, or ``allow_tf32``
before torch 2.9). Error model, checked against the float64 oracle ``reference.linear`` in
tests/test_linear_act.py, with u_acc = 2^-24 (float32
accumulation), u_dot = 2^-11 for TF32 operands and 0 otherwise, u_io the unit roundoff of the
storage dtype (2^-24, 2^-11, 2^-8), L1 = sup|σ'| and L2 = sup|σ''|:

    ξ:   E_ξ  = ((K + 2) u_acc + 2 u_dot) (|x| |W|^T) + u_acc |b|
    y:   |Δy| <= L1 E_ξ + E_σ + u_io |y|                  E_σ: float32 evaluation of σ
    δ:   |Δδ| <= |dy| (L2 E_ξ + E_σ' + u_io |g|) + 2 u_io |δ|   (+ |dy| |1 - slope| where
                                                                  |ξ| <= E_ξ, for the kinks)
    dx:  |Δdx| <= |Δδ| |W| + ((N + 2) u_acc + 2 u_dot) (|δ| |W|) + u_io |dx|
    dW:  |ΔdW| <= |Δδ|^T |x| + ((M + 2) u_acc + 2 u_dot) (|δ|^T |x|) + u_io |dW|
    db:  |Δdb| <= Σ_m |Δδ| + (M + 2) u_acc Σ_m |δ| + u_io |db|

each stored value also carrying an underflow floor. The worst-case accumulation terms grow with K
(or N, M); blocked float32 sums land far inside them, while a 16-bit y uses most of its u_io |y|.
"""
import contextlib
import os

import torch
import triton
import triton.language as tl

from .activations import activation_fn, activation_grad, activation_grad_from_output, check_activation

__all__ = ["linear_act", "FusedLinear"]

_INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"
_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

# ---------------------------------------------------------------------------------------------
# Block configurations
# ---------------------------------------------------------------------------------------------
# Tiles for Hopper (H100), as (output rows, output columns, reduction, stages, warps). Each kernel
# maps the three roles onto its own block names. Under the CPU interpreter autotuning would run
# every candidate in Python, so a single small config is used there (its 16-wide blocks also let
# small test shapes cover several tiles and partial tiles).
_HOPPER_TILES = (
    (128, 256, 64, 3, 8),
    (256, 128, 64, 3, 8),
    (128, 128, 64, 4, 8),
    (128, 128, 64, 4, 4),
    (64, 128, 64, 4, 4),
    (64, 64, 64, 4, 4),
    (32, 32, 32, 3, 4),
)
_INTERPRETER_TILES = ((16, 16, 16, 1, 4),)
_GROUP = 8
_SMEM_BYTES = 220 * 1024  # Hopper: 227 KB of shared memory per block, less some for the epilogue
# Problems under this many multiply-adds finish in a few microseconds with any tile: they are
# launch-bound, so take the smallest tile (most programs) and skip benchmarking altogether.
_SMALL_PROBLEM = 1 << 27


def _configs(rows, cols, red, tiles=_INTERPRETER_TILES if _INTERPRET else _HOPPER_TILES):
    return [
        triton.Config({rows: r, cols: c, red: k, "GROUP": _GROUP}, num_stages=s, num_warps=w)
        for r, c, k, s, w in tiles
    ]


def _pruner(rows, cols, red, rows_arg, cols_arg, red_arg, operand):
    """early_config_prune for a kernel whose output is [rows_arg, cols_arg], reduced over red_arg.

    Drops tiles that would not fit in shared memory or that exceed the (power-of-two rounded)
    problem, and keeps a single tile for small problems so that a small MLP never autotunes.
    """

    def prune(configs, named_args, **kwargs):
        sizes = {name: max(16, triton.next_power_of_2(named_args[arg]))
                 for name, arg in ((rows, rows_arg), (cols, cols_arg), (red, red_arg))}
        elem = named_args[operand].element_size()

        def usable(cfg):
            kw = cfg.kwargs
            smem = cfg.num_stages * (kw[rows] + kw[cols]) * kw[red] * elem
            return smem <= _SMEM_BYTES and all(kw[name] <= size for name, size in sizes.items())

        kept = [cfg for cfg in configs if usable(cfg)] or configs[-1:]
        work = named_args[rows_arg] * named_args[cols_arg] * named_args[red_arg]
        return kept[-1:] if work < _SMALL_PROBLEM else kept

    return prune


def _autotune(rows, cols, red, rows_arg, cols_arg, red_arg, operand, modes):
    # M enters the key rounded to a power of two (M_BUCKET): batch sizes vary, N and K do not.
    # The constexpr modes too: each is a different kernel (IEEE or TF32 products, the epilogue's
    # registers: a smooth activation's y+g spills on tiles where y alone does not), whose best
    # tile can differ; Triton's key holds only the listed arguments and the tensors' dtypes.
    return triton.autotune(
        configs=_configs(rows, cols, red),
        key=["M_BUCKET", "N", "K", *modes],
        prune_configs_by={"early_config_prune": _pruner(rows, cols, red, rows_arg, cols_arg, red_arg, operand)},
    )


# ---------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------
@triton.jit
def _tile_coords(pid, n_rows, n_cols, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr, GROUP: tl.constexpr):
    """Grouped ordering: programs walk down GROUP row tiles before moving to the next column tile."""
    tiles_r = tl.cdiv(n_rows, BLOCK_R)
    tiles_c = tl.cdiv(n_cols, BLOCK_C)
    per_group = GROUP * tiles_c
    first_r = (pid // per_group) * GROUP
    group_rows = tl.minimum(tiles_r - first_r, GROUP)
    local = pid % per_group
    return first_r + local % group_rows, local // group_rows


# The CPU interpreter (TRITON_INTERPRET=1) mishandles bfloat16: tl.dot on bf16 tiles returns
# garbage, comparisons look at the bit pattern, float32 -> bfloat16 casts truncate, and casts either
# way flush or garble subnormals. Kernels on bf16 data get INTERPRET_BF16=True there and convert
# through the bit patterns instead (bf16 is the upper half of a float32), which gives exactly the
# GPU's numbers. On a GPU the flag is always False: these helpers are plain casts, and bf16 tiles
# go to the tensor cores as they are.
@triton.jit
def _bf16_to_f32_bits(t):
    return (t.to(tl.uint16, bitcast=True).to(tl.uint32) << 16).to(tl.float32, bitcast=True)


@triton.jit
def _widen(t, INTERPRET_BF16: tl.constexpr):
    """A loaded tile in float32."""
    if INTERPRET_BF16:
        t = _bf16_to_f32_bits(t)
    else:
        t = t.to(tl.float32)
    return t


@triton.jit
def _mma_operand(tile, INTERPRET_BF16: tl.constexpr):
    """A tile as fed to tl.dot: under the interpreter bf16 goes in as float32, which gives the same
    exact products and float32 sums."""
    if INTERPRET_BF16:
        tile = _bf16_to_f32_bits(tile)
    return tile


@triton.jit
def _narrow(v, INTERPRET_BF16: tl.constexpr):
    """float32 v on its way to the storage dtype (the caller casts). Under the interpreter it is
    rounded to the nearest-even bfloat16 here (carry into the upper 16 bits) and returned as bf16."""
    if INTERPRET_BF16:
        bits = v.to(tl.uint32, bitcast=True)
        half = tl.where(v != v, 0x7FC0, (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16)  # NaN stays NaN
        v = half.to(tl.uint16).to(tl.bfloat16, bitcast=True)
    return v


@triton.jit
def _load_delta(dy_ptrs, aux_ptrs, mask, DELTA_FROM: tl.constexpr, negative_slope,
                INTERPRET_BF16: tl.constexpr):
    """δ = dy ⊙ σ'(ξ) for one [rows, columns] tile of dy (and aux), in float32; masked elements are 0.

    DELTA_FROM: "dy" (δ = dy: identity, or δ precomputed), "y" (σ' from the output of
    relu/leaky_relu), "g" (aux holds σ'(ξ)).
    """
    delta = _widen(tl.load(dy_ptrs, mask=mask, other=0.0), INTERPRET_BF16)
    if DELTA_FROM == "g":
        delta *= _widen(tl.load(aux_ptrs, mask=mask, other=0.0), INTERPRET_BF16)
    elif DELTA_FROM == "y":
        y = _widen(tl.load(aux_ptrs, mask=mask, other=0.0), INTERPRET_BF16)
        delta *= activation_grad_from_output(y, negative_slope)
    return delta


@_autotune("BLOCK_M", "BLOCK_N", "BLOCK_K", "M", "N", "K", "x_ptr",
           ("ACTIVATION", "HAS_BIAS", "EPILOGUE", "INPUT_PRECISION"))
@triton.jit
def _linear_act_fwd_kernel(
    x_ptr, w_ptr, b_ptr, y_ptr, aux_ptr, dy_ptr,
    M, N, K, M_BUCKET,
    stride_xm, stride_xk, stride_wn, stride_wk, stride_b, stride_dym, stride_dyn,
    negative_slope,
    ACTIVATION: tl.constexpr, HAS_BIAS: tl.constexpr, EPILOGUE: tl.constexpr,
    INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr,
):
    """One [BLOCK_M, BLOCK_N] tile of ξ = x W^T + b, then by EPILOGUE:
    "y": y = σ(ξ);  "y+g": also aux = σ'(ξ);  "delta": aux = dy ⊙ σ'(ξ), no y (recompute mode).
    y and aux are contiguous [M, N]; x, W, b and dy may have any strides."""
    pid_m, pid_n = _tile_coords(tl.program_id(0), M, N, BLOCK_M, BLOCK_N, GROUP)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    # Rows and columns past the end wrap around onto valid ones, so the main loop masks only the
    # reduction tail; the store drops them. 64-bit offsets: M K, N K or M N may exceed 2^31.
    x_ptrs = x_ptr + (rows % M).to(tl.int64)[:, None] * stride_xm + ks[None, :] * stride_xk
    w_ptrs = w_ptr + (cols % N).to(tl.int64)[None, :] * stride_wn + ks[:, None] * stride_wk
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k in range(0, tl.cdiv(K, BLOCK_K)):
        k_ok = ks < K - k * BLOCK_K
        a = tl.load(x_ptrs, mask=k_ok[None, :], other=0.0)
        b = tl.load(w_ptrs, mask=k_ok[:, None], other=0.0)
        acc = tl.dot(_mma_operand(a, INTERPRET_BF16), _mma_operand(b, INTERPRET_BF16), acc,
                     input_precision=INPUT_PRECISION)
        x_ptrs += BLOCK_K * stride_xk
        w_ptrs += BLOCK_K * stride_wk

    xi = acc
    if HAS_BIAS:
        xi += _widen(tl.load(b_ptr + (cols % N) * stride_b), INTERPRET_BF16)[None, :]
    rows64 = rows.to(tl.int64)
    out = rows64[:, None] * N + cols[None, :]
    in_bounds = (rows < M)[:, None] & (cols < N)[None, :]
    if EPILOGUE == "delta":
        dy_ptrs = dy_ptr + rows64[:, None] * stride_dym + cols.to(tl.int64)[None, :] * stride_dyn
        dy = _widen(tl.load(dy_ptrs, mask=in_bounds, other=0.0), INTERPRET_BF16)
        delta = dy * activation_grad(xi, ACTIVATION, negative_slope)
        tl.store(aux_ptr + out, _narrow(delta, INTERPRET_BF16).to(aux_ptr.dtype.element_ty), mask=in_bounds)
    else:
        y = activation_fn(xi, ACTIVATION, negative_slope)
        tl.store(y_ptr + out, _narrow(y, INTERPRET_BF16).to(y_ptr.dtype.element_ty), mask=in_bounds)
        if EPILOGUE == "y+g":
            g = activation_grad(xi, ACTIVATION, negative_slope)
            tl.store(aux_ptr + out, _narrow(g, INTERPRET_BF16).to(aux_ptr.dtype.element_ty), mask=in_bounds)


@_autotune("BLOCK_M", "BLOCK_K", "BLOCK_N", "M", "K", "N", "w_ptr", ("DELTA_FROM", "INPUT_PRECISION"))
@triton.jit
def _linear_act_dx_kernel(
    dy_ptr, aux_ptr, w_ptr, dx_ptr,
    M, N, K, M_BUCKET,
    stride_dym, stride_dyn, stride_wn, stride_wk,
    negative_slope,
    DELTA_FROM: tl.constexpr, INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr,
):
    """One [BLOCK_M, BLOCK_K] tile of dx = δ W, reducing over N; δ is formed from dy (and aux,
    contiguous [M, N]) as each [BLOCK_M, BLOCK_N] tile is loaded. dx is contiguous [M, K]."""
    pid_m, pid_k = _tile_coords(tl.program_id(0), M, K, BLOCK_M, BLOCK_K, GROUP)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
    ns = tl.arange(0, BLOCK_N)
    rows_w = (rows % M).to(tl.int64)
    dy_ptrs = dy_ptr + rows_w[:, None] * stride_dym + ns[None, :] * stride_dyn
    aux_ptrs = aux_ptr + rows_w[:, None] * N + ns[None, :]
    w_ptrs = w_ptr + ns[:, None] * stride_wn + (cols % K).to(tl.int64)[None, :] * stride_wk
    acc = tl.zeros((BLOCK_M, BLOCK_K), dtype=tl.float32)
    for n in range(0, tl.cdiv(N, BLOCK_N)):
        n_ok = ns < N - n * BLOCK_N
        delta = _load_delta(dy_ptrs, aux_ptrs, n_ok[None, :], DELTA_FROM, negative_slope, INTERPRET_BF16)
        w = tl.load(w_ptrs, mask=n_ok[:, None], other=0.0)
        # δ is rounded to the operand dtype, as any bf16/fp16 matmul of it would be.
        delta = _narrow(delta, INTERPRET_BF16).to(w.dtype)
        acc = tl.dot(_mma_operand(delta, INTERPRET_BF16), _mma_operand(w, INTERPRET_BF16), acc,
                     input_precision=INPUT_PRECISION)
        dy_ptrs += BLOCK_N * stride_dyn
        aux_ptrs += BLOCK_N
        w_ptrs += BLOCK_N * stride_wn

    out = rows.to(tl.int64)[:, None] * K + cols[None, :]
    in_bounds = (rows < M)[:, None] & (cols < K)[None, :]
    tl.store(dx_ptr + out, _narrow(acc, INTERPRET_BF16).to(dx_ptr.dtype.element_ty), mask=in_bounds)


@_autotune("BLOCK_N", "BLOCK_K", "BLOCK_M", "N", "K", "M", "x_ptr",
           ("DELTA_FROM", "COMPUTE_DW", "COMPUTE_DB", "INPUT_PRECISION"))
@triton.jit
def _linear_act_dw_kernel(
    dy_ptr, aux_ptr, x_ptr, dw_ptr, db_ptr,
    M, N, K, M_BUCKET,
    stride_dym, stride_dyn, stride_xm, stride_xk,
    negative_slope,
    DELTA_FROM: tl.constexpr, COMPUTE_DW: tl.constexpr, COMPUTE_DB: tl.constexpr,
    INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr,
):
    """One [BLOCK_N, BLOCK_K] tile of dW = δ^T x, reducing over M; the programs of the first column
    tile also sum db = Σ_m δ from the float32 δ they already hold (no second pass over dy). Without
    COMPUTE_DW (frozen weight, trainable bias) only that column of programs runs and no dot is done.
    dW is contiguous [N, K]."""
    if COMPUTE_DW:
        pid_n, pid_k = _tile_coords(tl.program_id(0), N, K, BLOCK_N, BLOCK_K, GROUP)
    else:
        pid_n = tl.program_id(0)
        pid_k = 0
    ns = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    cols = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
    ms = tl.arange(0, BLOCK_M)
    ns_w = (ns % N).to(tl.int64)
    dy_ptrs = dy_ptr + ms[:, None] * stride_dym + ns_w[None, :] * stride_dyn
    aux_ptrs = aux_ptr + ms[:, None] * N + ns_w[None, :]
    x_ptrs = x_ptr + ms[:, None] * stride_xm + (cols % K).to(tl.int64)[None, :] * stride_xk
    acc = tl.zeros((BLOCK_N, BLOCK_K), dtype=tl.float32)
    db = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for m in range(0, tl.cdiv(M, BLOCK_M)):
        m_ok = ms < M - m * BLOCK_M
        delta = _load_delta(dy_ptrs, aux_ptrs, m_ok[:, None], DELTA_FROM, negative_slope, INTERPRET_BF16)
        if COMPUTE_DB:
            if pid_k == 0:
                db += tl.sum(delta, axis=0)
        if COMPUTE_DW:
            x = tl.load(x_ptrs, mask=m_ok[:, None], other=0.0)
            delta_t = tl.trans(_mma_operand(_narrow(delta, INTERPRET_BF16).to(x.dtype), INTERPRET_BF16))
            acc = tl.dot(delta_t, _mma_operand(x, INTERPRET_BF16), acc, input_precision=INPUT_PRECISION)
            x_ptrs += BLOCK_M * stride_xm
        dy_ptrs += BLOCK_M * stride_dym
        aux_ptrs += BLOCK_M * N

    if COMPUTE_DW:
        out = ns.to(tl.int64)[:, None] * K + cols[None, :]
        in_bounds = (ns < N)[:, None] & (cols < K)[None, :]
        tl.store(dw_ptr + out, _narrow(acc, INTERPRET_BF16).to(dw_ptr.dtype.element_ty), mask=in_bounds)
    if COMPUTE_DB:
        if pid_k == 0:
            tl.store(db_ptr + ns, _narrow(db, INTERPRET_BF16).to(db_ptr.dtype.element_ty), mask=ns < N)


# ---------------------------------------------------------------------------------------------
# Host side
# ---------------------------------------------------------------------------------------------
def _check_inputs(x, weight, bias, negative_slope, allow_tf32, recompute):
    """Validate everything before any launch; returns the negative slope as a float."""
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if not (t is None and name == "bias") and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D [out_features, in_features], got shape {tuple(weight.shape)}")
    n, k = weight.shape
    if n == 0 or k == 0:
        raise ValueError(f"weight must have positive out_features and in_features, got shape {tuple(weight.shape)}")
    if x.dim() == 0 or x.shape[-1] != k:
        raise ValueError(f"x must have shape [..., {k}] to match weight [{n}, {k}], got {tuple(x.shape)}")
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(f"bias must have shape [{n}] to match weight [{n}, {k}], got {tuple(bias.shape)}")
    if x.dtype not in _DTYPES:
        raise TypeError(f"x must be float32, float16 or bfloat16, got {x.dtype}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != x.dtype:
            raise TypeError(f"{name} must have x's dtype {x.dtype}, got {t.dtype}")
        if t is not None and t.device != x.device:
            raise ValueError(f"{name} must be on x's device {x.device}, got {t.device}")
    if not (x.is_cuda or (_INTERPRET and x.device.type == "cpu")):
        raise ValueError(f"x must be a CUDA tensor (or a CPU tensor with TRITON_INTERPRET=1 set before "
                         f"triton_kernels is imported), got {x.device}")
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
        raise TypeError(f"negative_slope must be a real number, got {type(negative_slope).__name__}")
    if allow_tf32 is not None and not isinstance(allow_tf32, bool):
        raise TypeError(f"allow_tf32 must be None or a bool, got {type(allow_tf32).__name__}")
    if not isinstance(recompute, bool):
        raise TypeError(f"recompute must be a bool, got {type(recompute).__name__}")
    return float(negative_slope)


def _input_precision(dtype, allow_tf32):
    """tl.dot input precision: matters only for float32 operands (TF32 or IEEE products)."""
    if dtype != torch.float32:
        return "tf32"  # Triton's default; 16-bit operands are multiplied exactly either way
    if allow_tf32 is None:
        allow_tf32 = _torch_allows_tf32()
    return "tf32" if allow_tf32 else "ieee"


def _torch_allows_tf32():
    """Whether torch lets cuBLAS use TF32 for float32 matmuls.

    torch >= 2.9 keeps this in ``torch.backends.cuda.matmul.fp32_precision`` (resolved through its
    parents; "none" everywhere means IEEE), and reading the legacy ``allow_tf32`` raises once a user
    has set the new one; older torch has only ``allow_tf32``.
    """
    matmul = torch.backends.cuda.matmul
    try:
        return matmul.fp32_precision == "tf32"
    except AttributeError:
        return matmul.allow_tf32


def _delta_source(activation, negative_slope, recompute):
    """What the backward forms δ from: "dy", "y", "g", or "recompute" (see the module docstring)."""
    if activation == "identity":
        return "dy"
    if recompute:
        return "recompute"
    if activation == "relu" or (activation == "leaky_relu" and negative_slope >= 0):
        return "y"
    return "g"


def _launch_args(t):
    """Kernel-side flags shared by every launch on tensors like t."""
    return {"INTERPRET_BF16": _INTERPRET and t.dtype == torch.bfloat16}


def _forward(x, weight, bias, activation, slope, precision, epilogue, dy=None):
    """Launch the forward kernel on 2-D x; returns (y, aux) with None for what EPILOGUE skips."""
    m, k = x.shape
    n = weight.shape[0]
    y = None if epilogue == "delta" else torch.empty((m, n), device=x.device, dtype=x.dtype)
    aux = torch.empty((m, n), device=x.device, dtype=x.dtype) if epilogue != "y" else None
    if m == 0:
        return y, aux
    dy_strides = dy.stride() if dy is not None else (0, 0)
    grid = lambda meta: (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)
    # Unused pointer arguments get any tensor of the right dtype; their constexpr flags keep them unread.
    _linear_act_fwd_kernel[grid](
        x, weight, bias if bias is not None else x, y if y is not None else aux,
        aux if aux is not None else y, dy if dy is not None else x,
        m, n, k, triton.next_power_of_2(m),
        x.stride(0), x.stride(1), weight.stride(0), weight.stride(1), bias.stride(0) if bias is not None else 0,
        *dy_strides,
        slope,
        ACTIVATION=activation, HAS_BIAS=bias is not None, EPILOGUE=epilogue,
        INPUT_PRECISION=precision, **_launch_args(x),
    )
    return y, aux


def _backward_dx(dy, aux, weight, m, slope, precision, delta_from):
    n, k = weight.shape
    dx = torch.empty((m, k), device=weight.device, dtype=weight.dtype)
    if m == 0:
        return dx
    grid = lambda meta: (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(k, meta["BLOCK_K"]),)
    _linear_act_dx_kernel[grid](
        dy, aux if aux is not None else dy, weight, dx,
        m, n, k, triton.next_power_of_2(m),
        dy.stride(0), dy.stride(1), weight.stride(0), weight.stride(1),
        slope,
        DELTA_FROM=delta_from, INPUT_PRECISION=precision, **_launch_args(weight),
    )
    return dx


def _backward_dw_db(dy, aux, x, weight, bias, slope, precision, delta_from, need_dw, need_db):
    m, k = x.shape
    n = weight.shape[0]
    dw = torch.empty_like(weight, memory_format=torch.contiguous_format) if need_dw else None
    db = torch.empty_like(bias, memory_format=torch.contiguous_format) if need_db else None
    if m == 0:  # an empty batch contributes nothing
        return (dw.zero_() if need_dw else None), (db.zero_() if need_db else None)

    def grid(meta):
        tiles_k = triton.cdiv(k, meta["BLOCK_K"]) if need_dw else 1
        return (triton.cdiv(n, meta["BLOCK_N"]) * tiles_k,)

    _linear_act_dw_kernel[grid](
        dy, aux if aux is not None else dy, x, dw if need_dw else x, db if need_db else x,
        m, n, k, triton.next_power_of_2(m),
        dy.stride(0), dy.stride(1), x.stride(0), x.stride(1),
        slope,
        DELTA_FROM=delta_from, COMPUTE_DW=need_dw, COMPUTE_DB=need_db,
        INPUT_PRECISION=precision, **_launch_args(x),
    )
    return dw, db


class _LinearActFunction(torch.autograd.Function):
    """Autograd wrapper on 2-D x; ``linear_act`` flattens the leading dimensions around it."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation, slope, precision, recompute):
        source = _delta_source(activation, slope, recompute)
        y, g = _forward(x, weight, bias, activation, slope, precision, "y+g" if source == "g" else "y")
        ctx.save_for_backward(x, weight, bias, {"y": y, "g": g}.get(source))
        ctx.config = (activation, slope, precision, source)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        x, weight, bias, aux = ctx.saved_tensors
        activation, slope, precision, source = ctx.config
        need_dx, need_dw, need_db = ctx.needs_input_grad[:3]
        with _on_device(x):
            if source == "recompute":
                _, aux = _forward(x, weight, bias, activation, slope, precision, "delta", dy=dy)
                dy, source = aux, "dy"
            dx = _backward_dx(dy, aux, weight, x.shape[0], slope, precision, source) if need_dx else None
            dw, db = (None, None)
            if need_dw or need_db:
                dw, db = _backward_dw_db(dy, aux, x, weight, bias, slope, precision, source, need_dw, need_db)
        return dx, dw, db, None, None, None, None


def _on_device(t):
    """Launch on t's GPU (Triton launches on the current device), or nowhere in particular on CPU."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


def linear_act(x, weight, bias=None, activation="relu", *, negative_slope=0.01, allow_tf32=None,
               recompute=False):
    """y = σ(x W^T + b) in one fused kernel, differentiable in x, weight and bias.

    Args:
        x: [..., K] float32 / float16 / bfloat16 tensor on a CUDA device (any strides).
        weight: [N, K] in ``nn.Linear`` layout, same dtype and device.
        bias: [N] or None.
        activation: one of ``triton_kernels.activations.ACTIVATIONS``.
        negative_slope: leaky_relu's slope a in σ(ξ) = a ξ for ξ <= 0 (ignored otherwise).
        allow_tf32: float32 only: True for TF32 tensor-core products, False for IEEE float32,
            None to follow torch's cuBLAS setting (``torch.backends.cuda.matmul.fp32_precision``, or
            ``allow_tf32`` before torch 2.9).
        recompute: keep no [M, N] activation tensor for the backward and recompute ξ there instead
            (one extra matmul; see the module docstring for the trade-off).

    Returns:
        y: [..., N], x's dtype.
    """
    activation = check_activation(activation)
    slope = _check_inputs(x, weight, bias, negative_slope, allow_tf32, recompute)
    if activation == "relu":
        slope = 0.0  # relu is leaky_relu with slope 0 wherever the backward reads y
    n, k = weight.shape
    lead = x.shape[:-1]
    x2 = x.reshape(-1, k)
    precision = _input_precision(x.dtype, allow_tf32)
    needs_grad = torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad))
    with _on_device(x):
        if needs_grad:
            y = _LinearActFunction.apply(x2, weight, bias, activation, slope, precision, recompute)
        else:
            y, _ = _forward(x2, weight, bias, activation, slope, precision, "y")
    return y.view(*lead, n)


class FusedLinear(torch.nn.Module):
    """``nn.Linear`` followed by an activation, as one fused kernel: y = σ(x W^T + b).

    Same parameter names (``weight`` [out_features, in_features], ``bias`` [out_features]), shapes
    and initialisation as ``nn.Linear`` (it runs nn.Linear's own ``reset_parameters``), so state
    dicts load either way between the two. In ``nn.Sequential(nn.Linear(...), act)`` the keys carry
    the Linear's position ("0.weight"): load through the Linear, ``seq[0].load_state_dict(...)``.
    """

    def __init__(self, in_features, out_features, bias=True, activation="relu", device=None, dtype=None, *,
                 negative_slope=0.01, allow_tf32=None, recompute=False):
        super().__init__()
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(size, bool) or not isinstance(size, int):
                raise TypeError(f"{name} must be an int, got {type(size).__name__}")
            if size <= 0:
                raise ValueError(f"{name} must be positive, got {size}")
        dtype = torch.get_default_dtype() if dtype is None else dtype
        if dtype not in _DTYPES:
            raise TypeError(f"dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype}")
        self.in_features = in_features
        self.out_features = out_features
        self.activation = check_activation(activation)
        self.negative_slope = negative_slope
        self.allow_tf32 = allow_tf32
        self.recompute = recompute
        factory = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(torch.empty((out_features, in_features), **factory))
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_features, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    reset_parameters = torch.nn.Linear.reset_parameters

    def forward(self, x):
        return linear_act(x, self.weight, self.bias, self.activation, negative_slope=self.negative_slope,
                          allow_tf32=self.allow_tf32, recompute=self.recompute)

    def extra_repr(self):
        slope = f", negative_slope={self.negative_slope}" if self.activation == "leaky_relu" else ""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, activation={self.activation!r}{slope}")
