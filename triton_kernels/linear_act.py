"""Fused linear layer + activation: y = σ(x W^T + b) in one Triton kernel, and its backward.

Shapes follow ``nn.Linear``: x is [..., K] (flattened to M rows), the weight W is [N, K], the bias b
is [N], and y is [..., N]. With ξ = x W^T + b (the inner potential) and δ = dy ⊙ σ'(ξ):

    forward    y  = σ(ξ)                 one Triton matmul, bias and σ in its epilogue
    backward   δ, db = Σ_m δ             one elementwise Triton pass over dy (and y or g, below)
               dx = δ W                  [M, K], reduction over N   } torch.mm (cuBLAS), input
               dW = δ^T x                [N, K], reduction over M   } dtype, float32 accumulation
               (on Hopper, for δ from y or g: δ, db and dx in one Triton matmul, then dW on cuBLAS)

Forward tiling. The output is cut into [BLOCK_M, BLOCK_N] tiles, each accumulated over the
reduction dimension from ``tl.dot`` products in float32 registers, visited in groups of GROUP row
tiles so that consecutive tiles share column tiles of W in L2. Two kernels do this:
- on Hopper and later GPUs (TMA), a persistent kernel: one program an SM (or two, so that one's
  epilogue runs while the other's matmul keeps the tensor cores busy) walks the tiles; the x and
  W tiles arrive by TMA descriptor loads (out-of-bounds elements read as zeros, nothing masked), and
  the epilogue (bias, σ, σ') runs on one column half (or quarter) of the tile at a time and leaves
  by TMA stores, so that it needs fewer registers than the accumulator itself;
- elsewhere, for IEEE float32 products, and for inputs a TMA descriptor cannot address (rows not
  contiguous, a row stride or start not a multiple of 16 bytes), a portable kernel with pointer
  loads, one tile a program.
Minimum HBM traffic, in elements: M K + N K + N + M N (read x, W and b, write y), plus M N when it
also writes g (``traffic``; the kernels report it to profilers through Triton's launch metadata).
It is 2 M N K flops, so at the benchmark shapes it is compute-bound and the epilogue (bias, σ, σ')
is hidden behind the tensor cores.

Backward. δ is formed once, by a memory-bound pass that reads dy (any strides) and the saved y or
g and writes δ contiguous in the input dtype: 3 M N elements (2 M N when δ = dy needs only db:
identity, or recompute mode). The same pass sums db from the float32 δ into float32 partials per
program, [P, N] with P <= M / 16 on the GPU (under 1% of the bytes at large M), summed by torch
(deterministic: no atomics, a fixed order). The two matmuls then run on cuBLAS, which a Triton
matmul with δ formed in its prologue could not keep pace with (that prologue re-reads dy and y or
g once per column tile, converts the operand's layout and transposes it for dW in every K step).
Each skips when its gradient is not needed: a frozen weight (no dW), no bias or a frozen one (no
db), an input that needs no gradient (no dx); δ is not written when neither matmul needs it.
On Hopper the separate pass goes where it can: dx = δ W runs as a persistent TMA matmul that
loads dy and y or g tiles where it would load δ's, forms δ in registers (rounded once, as the
pass rounds it) and feeds it to the tensor cores from there; its first column tile of programs
also writes δ (for dW) and db's partials. dy and y or g are read once from HBM and again from L2
for dx's other column tiles, inside a compute-bound matmul instead of a pass of their own
(``_FUSED_DX``; identity, IEEE float32 and inputs a descriptor cannot address keep the pass).

What the backward reads (``recompute=False``, the default) depends on σ:
- identity: nothing (δ = dy);
- relu, leaky_relu with slope >= 0: the output y, since σ'(ξ) = 1 where y > 0 and the slope
  elsewhere. y is the next layer's saved input anyway, so this costs no memory and no extra write;
- the smooth activations (and leaky_relu with a negative slope): g = σ'(ξ), written by the forward
  epilogue next to y. That is one more [M, N] tensor kept until the backward (the same memory as
  saving ξ, which is what eager PyTorch keeps for gelu/silu) and one more [M, N] write. Saving σ'(ξ)
  rather than ξ makes the δ pass a single multiply instead of an erf/exp per element, and it
  rounds g itself (relative error u) rather than ξ, whose rounding σ' would amplify where σ' is
  small and steep.
``recompute=True`` keeps nothing of size [M, N]: the backward re-runs the forward matmul with an
epilogue that writes δ = dy ⊙ σ'(ξ) directly, then the two gradient matmuls read δ. That trades
2 M N K extra flops (a third more work for forward + backward) for M N elements of activation
memory per layer, worthwhile only for the smooth activations under memory pressure.

Precision. Inputs and outputs are float32, float16 or bfloat16; products accumulate in float32.
float32 operands use IEEE products unless TF32 is allowed (``allow_tf32=True``, or left as None
to follow torch's cuBLAS setting: ``torch.backends.cuda.matmul.fp32_precision``, or ``allow_tf32``
before torch 2.9); the backward's cuBLAS matmuls run under that same choice (set for the call and
restored), and 16-bit ones without cuBLAS's reduced-precision split-K reductions. Error model,
checked against the float64 oracle ``reference.linear`` in tests/test_linear_act.py, with
u_acc = 2^-24 (float32 accumulation), u_dot = 2^-11 for TF32 operands and 0 otherwise, u_io the
unit roundoff of the storage dtype (2^-24, 2^-11, 2^-8), L1 = sup|σ'| and L2 = sup|σ''|:

    ξ:   E_ξ  = ((K + 2) u_acc + 2 u_dot) (|x| |W|^T) + u_acc |b|
    y:   |Δy| <= L1 E_ξ + E_σ + u_io |y|                  E_σ: float32 evaluation of σ
    δ:   |Δδ| <= |dy| (L2 E_ξ + E_σ' + u_io |g|) + 2 u_io |δ|   (+ |dy| |1 - slope| where
                                                                  |ξ| <= E_ξ, for the kinks)
    dx:  |Δdx| <= |Δδ| |W| + ((N + 2) u_acc + 2 u_dot) (|δ| |W|) + u_io |dx|
    dW:  |ΔdW| <= |Δδ|^T |x| + ((M + 2) u_acc + 2 u_dot) (|δ|^T |x|) + u_io |dW|
    db:  |Δdb| <= Σ_m |Δδ| + (M + 2) u_acc Σ_m |δ| + u_io |db|

each stored value also carrying an underflow floor. The 2 u_io |δ| of δ is its float32 product
(u_acc <= u_io) and its rounding to the input dtype before the matmuls (u_io, one rounding per
element whichever path, as any 16-bit matmul of δ would round it); db sums the unrounded float32
δ. The accumulation terms are worst cases for float32 sums in any order, so they hold for cuBLAS's
blocked or split-K float32 sums as for the Triton kernel's; in practice they land far inside them,
while a 16-bit y uses most of its u_io |y|.

Operators. The forward and the backward are the custom operators ``oracle_kernels::linear_act``
and ``oracle_kernels::linear_act_backward`` (options as arguments, fake implementations,
autograd by ``register_autograd``; not twice differentiable), so ``torch.compile(fullgraph=True)``
traces a step through them without graph breaks and CUDA graphs capture them (no host sync). An
eager call with plain tensors runs the same implementations and autograd formula without the
operators' dispatch, which costs more host time than a small layer's kernels (``launch.eager``).
"""
from typing import Optional

import torch
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

from .activations import activation_fn, activation_grad, activation_grad_from_output, check_activation
from .launch import DTYPES as _DTYPES, INTERPRET as _INTERPRET, autograd_function, call, round_to_bf16
from .launch import cdiv, next_power_of_2, on_device as _on_device, resident_registers, sm_count

__all__ = ["linear_act", "FusedLinear"]


# ---------------------------------------------------------------------------------------------
# Block configurations
# ---------------------------------------------------------------------------------------------
# Forward tiles as (output rows, output columns, reduction, stages, warps), for Hopper (H100/H200).
# The persistent TMA kernel's stores go through shared memory as well, half (or a quarter of) a tile
# at a time (BLOCK_M x BLOCK_N / 2 or / 4 elements for each tensor stored), which rules out the
# deepest pipelines.
# The portable kernel (pointer loads, cp.async on Hopper) serves GPUs without TMA and inputs a TMA
# descriptor cannot address. Under the CPU interpreter autotuning would run every candidate in
# Python, so a single small config is used there (its 16-wide blocks also let small test shapes
# cover several tiles and partial tiles).
_PORTABLE_TILES = (
    (128, 256, 64, 3, 8),
    (256, 128, 64, 3, 8),
    (128, 128, 64, 4, 8),
    (128, 128, 64, 4, 4),
    (64, 128, 64, 4, 4),
    (64, 64, 64, 4, 4),
    (64, 128, 32, 4, 8),
    (64, 64, 32, 4, 4),
    (32, 32, 32, 3, 4),
)
# The TMA kernel's tiles may carry a sixth number, the parts its epilogue takes the tile in (2 if
# absent): in quarters the store buffer is half as large, which is what fits a fourth stage, or a
# 128-deep second one, beside a 128x256 tile in shared memory. A seventh is the programs an SM
# runs (1 if absent). With one, the tensor cores wait while a program's epilogue evaluates σ:
# 2 MUFU operations an output for sigmoid or silu are 32 µs of 16384 x 4096 outputs on an H200
# (16 a clock an SM), 15% of the matmul at K = 1024. With two resident programs, one's epilogue
# runs while the other's matmul keeps the tensor cores busy; each then has half the shared memory
# and at most 128 registers a thread (65536 an SM): enough for the inference epilogue "y" (sm_90,
# triton 3.6 no spill; 3.9 up to 8 B, 20 B for gelu_tanh without bias), not for a second tile
# ("y+g" spills 28-96 B without bias), so the pruner keeps these tiles for "y" only.
_TMA_TILES = (
    (128, 256, 64, 3, 8),
    (128, 256, 64, 4, 8, 4),
    (128, 256, 128, 2, 8, 4),
    (128, 128, 64, 3, 8, 4, 2),
    (256, 128, 64, 3, 8),
    (128, 128, 128, 3, 8),
    (128, 128, 64, 4, 8),
    (128, 128, 64, 4, 4),
    (128, 256, 32, 3, 8),
    (128, 128, 32, 4, 8),
    (64, 128, 64, 4, 4),
    (64, 64, 64, 4, 4),
)
# A TMA load moves rows of BLOCK_K elements: at least 128 bytes (the widest shared-memory swizzle) so
# that no transaction is narrower than a cache line; the 32-deep tiles above are float32's.
_TMA_MIN_ROW_BYTES = 128
_INTERPRETER_TILES = ((16, 16, 16, 1, 4),)
# The TMA kernel's, in quarters (the path that includes the halves'): 32 columns, since a TMA block
# row is at least 16 bytes; two programs an SM, which only changes the grid.
_INTERPRETER_TMA_TILES = ((16, 32, 16, 1, 4, 4, 2),)
_GROUP = 8
# Values a thread may hold in registers through the main loop, where ptxas would spill more: the
# accumulators, BLOCK_M BLOCK_N / threads, and for IEEE float32 products, which run on the CUDA
# cores, the operand slices too, (BLOCK_M + BLOCK_N) BLOCK_K / threads. The limit applies to IEEE
# products, and to tensor-core products when the epilogue needs registers for a second tile (y and
# σ'(ξ) when training, δ = dy σ'(ξ) when the backward recomputes). Measured (sm_90, compile_check,
# triton 3.6 and 3.9) above it: tensor-core tiles with 128 accumulators a thread spill 1.5-2.5 KB
# (portable kernel) or 0.1-0.3 KB (TMA kernel, triton 3.6) for y + σ', 24-128 B for δ; IEEE tiles
# holding 80-160 spill 20 B to 25 KB (the erf of gelu even for y alone). At or below it none do.
# The TMA kernel's epilogue in quarters is exempt: its second tile is a quarter of the accumulator,
# and every 128x256 tile with 128 accumulators a thread then compiles for y + σ' or δ with at most
# 16 B of spill (sm_90, every activation and dtype; triton 3.9 none, 3.6 16 B for fp16 gelu_tanh).
_HELD_VALUES = 64
_SMEM_MARGIN = 7 * 1024  # of a block's shared memory, kept for the pipeline's barriers and the epilogue
_SMEM_BYTES = 227 * 1024 - _SMEM_MARGIN  # Hopper's, for a launch without a GPU to ask (compile_check)
_SMEM_PER_SM = 228 * 1024  # Hopper's, shared by an SM's resident blocks (each reserves 1 KB more)
# Problems under this many multiply-adds finish in a few microseconds with any tile: they are
# launch-bound, so take the smallest tile (most programs) and skip benchmarking altogether.
_SMALL_PROBLEM = 1 << 27
# The δ kernel is a memory-bound elementwise pass: (BLOCK_M, BLOCK_N, warps) with 16 elements per
# thread (two 16-byte loads a tensor in 16-bit), few enough registers (float32 δ and its db sum)
# for several programs per SM; about _DELTA_PROGRAMS programs, each walking down at most
# _DELTA_MAX_STEPS tiles. Under the interpreter, small tiles and few
# programs so that the test shapes cover partial tiles and several steps per program.
_DELTA_TILE = (8, 16, 4) if _INTERPRET else (16, 256, 8)
# Rows of N elements, N not a multiple of 16, allow no vector access: an address an element, 80 to
# 120 registers a thread. Left alone, ptxas (triton 3.6) holds the 16-bit variants that store δ and
# sum db to 80 and spills 20 B; capped for two programs an SM (128), none spills.
_DELTA_UNALIGNED_PER_SM = 2
_DELTA_PROGRAMS = 2 if _INTERPRET else 1024
_DELTA_MAX_STEPS = 4 if _INTERPRET else 8


def _configs(tiles, tma=False):
    """Autotuner configs from (rows, columns, reduction, stages, warps[, epilogue parts[, programs
    an SM]]) tiles; several programs an SM share its registers (maxnreg). The TMA kernel's come with
    its loops flattened and not: the pruner keeps the one _flattened() chooses for the epilogue."""
    configs = []
    for r, c, k, s, w, *extra in tiles:
        split, per_sm = (*extra, *(2, 1)[len(extra):])  # the defaults for what a tile leaves out
        for flatten in (True, False) if tma else (None,):
            configs.append(triton.Config(
                {"BLOCK_M": r, "BLOCK_N": c, "BLOCK_K": k, "GROUP": _GROUP,
                 **({"EPI_SPLIT": split, "PER_SM": per_sm, "FLATTEN": flatten} if tma else {})},
                num_stages=s, num_warps=w,
                maxnreg=resident_registers(w, per_sm) if per_sm > 1 else None,
                pre_hook=_set_blocks if tma else None))
    return configs


def _flattened(epilogue) -> bool:
    """Whether the TMA kernel merges its tile and reduction loops, so that a program overlaps a
    tile's epilogue with the next tile's loads: not for "y+g", which spills 0.1-1.2 KB a thread so
    with triton 3.6 (none in 3.9). The linear sweep times the other choice beside each winner."""
    return epilogue != "y+g"


def _smem_limit(t, per_sm=1) -> int:
    """Shared memory a block of t's GPU may use when per_sm blocks share an SM, less _SMEM_MARGIN
    (Hopper's without a GPU)."""
    block, sm = _SMEM_BYTES + _SMEM_MARGIN, _SMEM_PER_SM
    if t.is_cuda:
        props = torch.cuda.get_device_properties(t.device)
        block, sm = props.shared_memory_per_block_optin, props.shared_memory_per_multiprocessor
    return min(block, sm // per_sm - 1024) - _SMEM_MARGIN


def _shared_memory(cfg, elem, epilogue, tma):
    """Bytes of shared memory a forward config needs: the pipelined x and W tiles, and in the TMA
    kernel the part of a tile (a half or a quarter) that stages its stores (y and g take turns in
    it) and, for δ, another that the dy part passes through. Matches what triton 3.9 allocates for
    sm_90 to under 1 KB (the pipeline's barriers); the portable kernel's epilogue reuses the
    pipeline's buffers."""
    kw = cfg.kwargs
    smem = cfg.num_stages * (kw["BLOCK_M"] + kw["BLOCK_N"]) * kw["BLOCK_K"] * elem
    if tma:
        smem += (2 if epilogue == "delta" else 1) * kw["BLOCK_M"] * kw["BLOCK_N"] // kw["EPI_SPLIT"] * elem
    return smem


def _pruner(tma):
    """early_config_prune for a forward kernel (TMA or portable).

    Drops tiles that would not fit in shared memory, that exceed the (power-of-two rounded)
    problem, that would hold too many values a thread (_HELD_VALUES), or (TMA) whose loads are
    narrower than _TMA_MIN_ROW_BYTES, and keeps a single tile for small problems so that a small
    MLP never autotunes.
    """

    def prune(configs, named_args, **kwargs):
        sizes = {f"BLOCK_{d}": max(16, next_power_of_2(named_args[d])) for d in "MNK"}
        x = named_args["x_desc"].base if tma else named_args["x_ptr"]
        epilogue = kwargs.get("EPILOGUE", "y")
        ieee = kwargs.get("INPUT_PRECISION") == "ieee"

        def usable(cfg):
            kw = cfg.kwargs
            held = kw["BLOCK_M"] * kw["BLOCK_N"] + ieee * (kw["BLOCK_M"] + kw["BLOCK_N"]) * kw["BLOCK_K"]
            limited = ieee or (epilogue != "y" and kw.get("EPI_SPLIT", 2) == 2)
            per_sm = kw.get("PER_SM", 1)
            return (_shared_memory(cfg, x.element_size(), epilogue, tma) <= _smem_limit(x, per_sm)
                    and (per_sm == 1 or epilogue == "y")  # a second tile in 128 registers spills
                    and not (tma and kw["BLOCK_K"] * x.element_size() < _TMA_MIN_ROW_BYTES)
                    and all(kw[name] <= size for name, size in sizes.items())
                    and not (limited and held > _HELD_VALUES * 32 * cfg.num_warps))

        flat = _flattened(epilogue)
        configs = [cfg for cfg in configs if cfg.kwargs.get("FLATTEN", flat) == flat]
        kept = [cfg for cfg in configs if usable(cfg)] or configs[-1:]
        work = named_args["M"] * named_args["N"] * named_args["K"]
        return kept[-1:] if work < _SMALL_PROBLEM else kept

    return prune


def _set_blocks(nargs):
    """Config pre_hook of the TMA kernel: the descriptors' block shapes follow the config's tile
    (the outputs' its epilogue part)."""
    bm, bn, bk = nargs["BLOCK_M"], nargs["BLOCK_N"], nargs["BLOCK_K"]
    nargs["x_desc"].block_shape = [bm, bk]
    nargs["w_desc"].block_shape = [bn, bk]
    nargs["y_desc"].block_shape = nargs["aux_desc"].block_shape = [bm, bn // nargs["EPI_SPLIT"]]


def _autotune(tma):
    # M enters the key rounded to a power of two (M_BUCKET): batch sizes vary, N and K do not.
    # The constexpr modes too: each is a different kernel (IEEE or TF32 products, the epilogue's
    # registers: a smooth activation's y+g spills on tiles where y alone does not), whose best
    # tile can differ; Triton's key holds only the listed arguments and the tensors' dtypes.
    return triton.autotune(
        configs=_configs((_INTERPRETER_TMA_TILES if tma else _INTERPRETER_TILES) if _INTERPRET
                         else _TMA_TILES if tma else _PORTABLE_TILES, tma),
        key=["M_BUCKET", "N", "K", "ACTIVATION", "HAS_BIAS", "EPILOGUE", "INPUT_PRECISION"],
        prune_configs_by={"early_config_prune": _pruner(tma)},
    )


# The fused dx kernel's tiles as (dx rows, dx columns, reduction step over N, stages, warps): its
# registers hold the [rows, columns] accumulator and the δ tile [rows, step] at once, float32 and
# the operand in the storage dtype (a float32 operand: a second float32 tile), within twice
# _HELD_VALUES a thread (sm_90, compile_check: 128x64x64 on 4 warps, at that limit in bf16, used
# 255 registers and spilled 44 B when it also stores δ and sums db, so it is not among them);
# its shared memory holds, a stage, the dy, aux and W tiles, plus the δ and dx tiles its stores
# stage (16-wide under the interpreter).
_DX_TILES = (
    (128, 128, 64, 3, 8),  # 16-bit (192 KB; a 4th stage would need 240)
    (128, 64, 32, 4, 8),  # TF32 (208 KB)
    (64, 128, 64, 4, 4),
    (64, 64, 32, 4, 4),
)


def _dx_shared_memory(cfg, elem):
    kw = cfg.kwargs
    bm, bn, bk = kw["BLOCK_M"], kw["BLOCK_N"], kw["BLOCK_K"]
    return (cfg.num_stages * (2 * bm * bn + bn * bk) + bm * bn + bm * bk) * elem


def _dx_pruner(configs, named_args, **kwargs):
    """early_config_prune of the fused dx kernel: tiles that fit shared memory, hold at most twice
    _HELD_VALUES values a thread (see _DX_TILES), load rows of at least _TMA_MIN_ROW_BYTES and do
    not exceed the problem; one tile for small problems."""
    dy = named_args["dy_desc"].base
    sizes = {f"BLOCK_{d}": max(16, next_power_of_2(named_args[d])) for d in "MNK"}
    limit, elem = _smem_limit(dy), dy.element_size()

    def usable(cfg):
        kw = cfg.kwargs
        return (_dx_shared_memory(cfg, elem) <= limit and kw["BLOCK_N"] * elem >= _TMA_MIN_ROW_BYTES
                and kw["BLOCK_M"] * (kw["BLOCK_K"] + kw["BLOCK_N"] * elem // 2)
                <= 2 * _HELD_VALUES * 32 * cfg.num_warps
                and all(kw[name] <= size for name, size in sizes.items()))

    kept = [cfg for cfg in configs if usable(cfg)] or configs[-1:]
    return kept[-1:] if named_args["M"] * named_args["N"] * named_args["K"] < _SMALL_PROBLEM else kept


def _set_dx_blocks(nargs):
    """Config pre_hook of the fused dx kernel: the descriptors' block shapes follow the tile."""
    bm, bn, bk = nargs["BLOCK_M"], nargs["BLOCK_N"], nargs["BLOCK_K"]
    nargs["dy_desc"].block_shape = nargs["aux_desc"].block_shape = nargs["delta_desc"].block_shape = [bm, bn]
    nargs["w_desc"].block_shape = [bn, bk]
    nargs["dx_desc"].block_shape = [bm, bk]


_autotune_dx = triton.autotune(
    configs=[triton.Config({"BLOCK_M": r, "BLOCK_K": c, "BLOCK_N": k, "GROUP": _GROUP}, num_stages=s, num_warps=w,
                           pre_hook=_set_dx_blocks)
             for r, c, k, s, w in (_INTERPRETER_TILES if _INTERPRET else _DX_TILES)],
    key=["M_BUCKET", "N", "K", "DELTA_FROM", "STORE_DELTA", "COMPUTE_DB", "INPUT_PRECISION"],
    prune_configs_by={"early_config_prune": _dx_pruner},
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
    if INTERPRET_BF16:  # the upper half of the rounded bits, through integers (its casts garble subnormals)
        half = round_to_bf16(v).to(tl.uint32, bitcast=True) >> 16
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


@triton.jit
def _potential(acc, b_ptr, cols, N, stride_b, HAS_BIAS: tl.constexpr, INTERPRET_BF16: tl.constexpr):
    """ξ = x W^T + b for a float32 tile acc of x W^T with columns cols."""
    if HAS_BIAS:
        acc += _widen(tl.load(b_ptr + cols * stride_b, mask=cols < N, other=0.0), INTERPRET_BF16)[None, :]
    return acc


@triton.jit
def _delta_from_potential(xi, dy_ptr, rows, cols, M, N, stride_dym, stride_dyn, negative_slope,
                          ACTIVATION: tl.constexpr, INTERPRET_BF16: tl.constexpr):
    """δ = dy ⊙ σ'(ξ) for a float32 tile ξ (recompute mode); dy may have any strides."""
    dy_ptrs = dy_ptr + rows.to(tl.int64)[:, None] * stride_dym + cols.to(tl.int64)[None, :] * stride_dyn
    dy = _widen(tl.load(dy_ptrs, mask=(rows < M)[:, None] & (cols < N)[None, :], other=0.0), INTERPRET_BF16)
    return dy * activation_grad(xi, ACTIVATION, negative_slope)


# ---------------------------------------------------------------------------------------------
# What the launches move between HBM and the SMs (each operand once: the grouped tile order keeps
# the re-reads in L2) and the products they do: one count for traffic() and the kernels' launch
# metadata, from which profilers such as Proton read "bytes" and "flops<bits>".
# ---------------------------------------------------------------------------------------------
_FORWARD_OUTPUTS = {"y": 1, "y+g": 2, "delta": 2}  # [M, N] tensors: y; y and g; dy read and δ written


def traffic(m: int, k: int, n: int, element_size: int, *, epilogue: str = "y", bias: bool = True) -> int:
    """Bytes the forward moves for x [m, k], W [n, k] and b [n] of ``element_size`` bytes: x, W and
    b read, y written ("y"), y and σ'(ξ) written ("y+g", training a smooth σ), or dy read and δ
    written ("delta", the backward's recompute).

    >>> traffic(16384, 1024, 4096, 2) == 2 * (16384 * 1024 + 4096 * 1024 + 4096 + 16384 * 4096)
    True
    """
    if epilogue not in _FORWARD_OUTPUTS:
        raise ValueError(f"epilogue must be one of {tuple(_FORWARD_OUTPUTS)}, got {epilogue!r}")
    return (m * k + n * k + n * bias + m * n * _FORWARD_OUTPUTS[epilogue]) * element_size


def _base(t):
    """The tensor behind a pointer or TMA descriptor argument."""
    return getattr(t, "base", t)


def _partials(args) -> int:
    return _base(args["partial_ptr"]).numel() * 4 if args["COMPUTE_DB"] else 0


def _forward_metadata(grid, metadata, args) -> dict:
    m, n, k = args["M"], args["N"], args["K"]
    elem = _base(args.get("x_desc", args.get("x_ptr"))).element_size()
    return {"name": f"linear_act forward {args['EPILOGUE']} [{m}, {k}] x [{n}, {k}]",
            "bytes": traffic(m, k, n, elem, epilogue=args["EPILOGUE"], bias=args["HAS_BIAS"]),
            f"flops{8 * elem}": 2 * m * n * k}


def _delta_metadata(grid, metadata, args) -> dict:
    m, n = args["M"], args["N"]
    tensors = 1 + (args["DELTA_FROM"] != "dy") + args["STORE_DELTA"]  # dy, y or g, δ
    return {"name": f"linear_act δ [{m}, {n}]",
            "bytes": m * n * tensors * args["dy_ptr"].element_size() + _partials(args)}


def _dx_metadata(grid, metadata, args) -> dict:
    m, n, k = args["M"], args["N"], args["K"]
    elem = _base(args["dy_desc"]).element_size()
    # dy and y or g read, W read, dx written, δ written where dW needs it
    elements = m * n * (2 + args["STORE_DELTA"]) + n * k + m * k
    return {"name": f"linear_act dx [{m}, {n}] x [{n}, {k}]", "bytes": elements * elem + _partials(args),
            f"flops{8 * elem}": 2 * m * n * k}


# M (the batch, the rows of x) only bounds loops and masks: not specialized, so that a new batch
# size does not compile every tile again for its divisibility by 16 (the autotuner's key already
# has M_BUCKET, M rounded up to a power of two).
@_autotune(tma=False)
@triton.jit(do_not_specialize=["M"], launch_metadata=_forward_metadata)
def _linear_act_fwd_kernel(
    x_ptr, w_ptr, b_ptr, y_ptr, aux_ptr, dy_ptr,
    M, N, K, M_BUCKET,
    stride_xm, stride_xk, stride_wn, stride_wk, stride_b, stride_dym, stride_dyn,
    negative_slope,
    ACTIVATION: tl.constexpr, HAS_BIAS: tl.constexpr, EPILOGUE: tl.constexpr,
    INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr,
):
    """The portable forward: one [BLOCK_M, BLOCK_N] tile of ξ = x W^T + b a program, pointer loads,
    then by EPILOGUE: "y": y = σ(ξ);  "y+g": also aux = σ'(ξ);  "delta": δ = dy ⊙ σ'(ξ) to y (which
    is then the caller's aux), no σ(ξ) (recompute mode). y and aux are contiguous [M, N]; x, W, b
    and dy may have any strides."""
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

    xi = _potential(acc, b_ptr, cols, N, stride_b, HAS_BIAS, INTERPRET_BF16)
    out = rows.to(tl.int64)[:, None] * N + cols[None, :]
    in_bounds = (rows < M)[:, None] & (cols < N)[None, :]
    if EPILOGUE == "delta":
        delta = _delta_from_potential(xi, dy_ptr, rows, cols, M, N, stride_dym, stride_dyn, negative_slope,
                                      ACTIVATION, INTERPRET_BF16)
        tl.store(y_ptr + out, _narrow(delta, INTERPRET_BF16).to(y_ptr.dtype.element_ty), mask=in_bounds)
    else:
        y = activation_fn(xi, ACTIVATION, negative_slope, EPILOGUE == "y+g")
        tl.store(y_ptr + out, _narrow(y, INTERPRET_BF16).to(y_ptr.dtype.element_ty), mask=in_bounds)
        if EPILOGUE == "y+g":
            g = activation_grad(xi, ACTIVATION, negative_slope)
            tl.store(aux_ptr + out, _narrow(g, INTERPRET_BF16).to(aux_ptr.dtype.element_ty), mask=in_bounds)


@_autotune(tma=True)
@triton.jit(do_not_specialize=["M"], launch_metadata=_forward_metadata)
def _linear_act_fwd_tma_kernel(
    x_desc, w_desc, b_ptr, y_desc, aux_desc, dy_ptr,
    M, N, K, M_BUCKET,
    stride_b, stride_dym, stride_dyn,
    negative_slope,
    ACTIVATION: tl.constexpr, HAS_BIAS: tl.constexpr, EPILOGUE: tl.constexpr,
    INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr,
    EPI_SPLIT: tl.constexpr, PER_SM: tl.constexpr, FLATTEN: tl.constexpr,
):
    """The Hopper forward, the same tiles as the portable kernel's computed another way: PER_SM
    programs an SM (the grid) walk the output tiles in the same grouped order, x and W tiles arrive
    by TMA (the tensor-memory accelerator: one instruction a tile, out-of-bounds elements read as
    0, so nothing is masked), and the epilogue runs on one column part of the accumulator at a time
    (EPI_SPLIT: halves or quarters), stored by TMA (which drops what lies outside y), so its
    registers and its store buffer stay below the accumulator's.
    FLATTEN merges the tile and reduction loops into one, so that the compiler can overlap a tile's
    epilogue with the next tile's first loads. Descriptors: x [M, K] and W [N, K] in blocks of
    [BLOCK_M, BLOCK_K] and [BLOCK_N, BLOCK_K]; y and aux [M, N] in [BLOCK_M, BLOCK_N / EPI_SPLIT]."""
    tl.static_assert(EPI_SPLIT == 2 or EPI_SPLIT == 4, "the epilogue takes a tile in halves or quarters")
    HALF: tl.constexpr = BLOCK_N // 2
    QUARTER: tl.constexpr = BLOCK_N // 4
    tiles = tl.cdiv(M, BLOCK_M) * tl.cdiv(N, BLOCK_N)
    steps = tl.cdiv(K, BLOCK_K)
    for tile in tl.range(tl.program_id(0), tiles, tl.num_programs(0), flatten=FLATTEN):
        pid_m, pid_n = _tile_coords(tile, M, N, BLOCK_M, BLOCK_N, GROUP)
        row0 = pid_m * BLOCK_M
        col0 = pid_n * BLOCK_N
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k in range(0, steps):
            a = x_desc.load([row0, k * BLOCK_K])
            b = w_desc.load([col0, k * BLOCK_K])
            acc = tl.dot(_mma_operand(a, INTERPRET_BF16), _mma_operand(b, INTERPRET_BF16).T, acc,
                         input_precision=INPUT_PRECISION)
        left, right = _column_halves(acc, BLOCK_M, HALF)
        if EPI_SPLIT == 2:
            _store_pair(left, right, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0, M, N, stride_b, stride_dym,
                        stride_dyn, negative_slope, ACTIVATION, HAS_BIAS, EPILOGUE, INTERPRET_BF16, BLOCK_M, HALF)
        else:
            first, second = _column_halves(left, BLOCK_M, QUARTER)
            _store_pair(first, second, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0, M, N, stride_b, stride_dym,
                        stride_dyn, negative_slope, ACTIVATION, HAS_BIAS, EPILOGUE, INTERPRET_BF16, BLOCK_M, QUARTER)
            first, second = _column_halves(right, BLOCK_M, QUARTER)
            _store_pair(first, second, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0 + HALF, M, N, stride_b,
                        stride_dym, stride_dyn, negative_slope, ACTIVATION, HAS_BIAS, EPILOGUE, INTERPRET_BF16,
                        BLOCK_M, QUARTER)


@triton.jit
def _column_halves(t, ROWS: tl.constexpr, HALF: tl.constexpr):
    """The left and right column halves of a [ROWS, 2 HALF] tile."""
    return tl.reshape(t, (ROWS, 2, HALF)).permute(0, 2, 1).split()


@triton.jit
def _store_pair(left, right, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0, M, N, stride_b, stride_dym, stride_dyn,
                negative_slope, ACTIVATION: tl.constexpr, HAS_BIAS: tl.constexpr, EPILOGUE: tl.constexpr,
                INTERPRET_BF16: tl.constexpr, ROWS: tl.constexpr, COLS: tl.constexpr):
    """_store_part of two adjacent [ROWS, COLS] parts, the left one at (row0, col0)."""
    _store_part(left, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0, M, N, stride_b, stride_dym, stride_dyn,
                negative_slope, ACTIVATION, HAS_BIAS, EPILOGUE, INTERPRET_BF16, ROWS, COLS)
    _store_part(right, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0 + COLS, M, N, stride_b, stride_dym, stride_dyn,
                negative_slope, ACTIVATION, HAS_BIAS, EPILOGUE, INTERPRET_BF16, ROWS, COLS)


@triton.jit
def _store_part(acc, y_desc, aux_desc, b_ptr, dy_ptr, row0, col0, M, N, stride_b, stride_dym, stride_dyn,
                negative_slope, ACTIVATION: tl.constexpr, HAS_BIAS: tl.constexpr, EPILOGUE: tl.constexpr,
                INTERPRET_BF16: tl.constexpr, ROWS: tl.constexpr, COLS: tl.constexpr):
    """The TMA kernel's epilogue on a [ROWS, COLS] part of the accumulator at (row0, col0), as the
    portable kernel's: y = σ(ξ) to y_desc and, for "y+g", σ'(ξ) to aux_desc once y is on its way
    (fewer live registers); for "delta", δ to y_desc."""
    cols = col0 + tl.arange(0, COLS)
    xi = _potential(acc, b_ptr, cols, N, stride_b, HAS_BIAS, INTERPRET_BF16)
    if EPILOGUE == "delta":
        delta = _delta_from_potential(xi, dy_ptr, row0 + tl.arange(0, ROWS), cols, M, N, stride_dym, stride_dyn,
                                      negative_slope, ACTIVATION, INTERPRET_BF16)
        y_desc.store([row0, col0], _narrow(delta, INTERPRET_BF16).to(y_desc.dtype))
    else:
        y = activation_fn(xi, ACTIVATION, negative_slope, EPILOGUE == "y+g")
        y_desc.store([row0, col0], _narrow(y, INTERPRET_BF16).to(y_desc.dtype))
        if EPILOGUE == "y+g":
            g = activation_grad(xi, ACTIVATION, negative_slope)
            aux_desc.store([row0, col0], _narrow(g, INTERPRET_BF16).to(aux_desc.dtype))


@triton.jit(do_not_specialize=["M"], launch_metadata=_delta_metadata)
def _linear_act_delta_kernel(
    dy_ptr, aux_ptr, delta_ptr, partial_ptr,
    M, N, STEPS,
    stride_dym, stride_dyn,
    negative_slope,
    DELTA_FROM: tl.constexpr, STORE_DELTA: tl.constexpr, COMPUTE_DB: tl.constexpr,
    INTERPRET_BF16: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """δ = dy ⊙ σ'(ξ) for STEPS consecutive [BLOCK_M, BLOCK_N] tiles down one column block:
    STORE_DELTA writes δ (contiguous [M, N], rounded to the storage dtype) and COMPUTE_DB writes
    partial[p, n] = Σ_{m in the program's rows} δ[m, n] from the float32 δ (partial is float32
    [programs along M, N]). Adjacent programs take adjacent column blocks of the same rows.
    dy may have any strides; aux (y or g) is contiguous [M, N]."""
    tiles_n = tl.cdiv(N, BLOCK_N)
    pid_m = tl.program_id(0) // tiles_n
    cols = (tl.program_id(0) % tiles_n) * BLOCK_N + tl.arange(0, BLOCK_N)
    col_ok = cols < N
    cols64 = cols.to(tl.int64)
    db = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)  # one reduction across threads, at the end
    for step in range(0, STEPS):
        rows = (pid_m * STEPS + step) * BLOCK_M + tl.arange(0, BLOCK_M)
        rows64 = rows.to(tl.int64)  # M N may exceed 2^31
        mask = (rows < M)[:, None] & col_ok[None, :]
        dy_ptrs = dy_ptr + rows64[:, None] * stride_dym + cols64[None, :] * stride_dyn
        delta = _load_delta(dy_ptrs, aux_ptr + rows64[:, None] * N + cols64[None, :], mask, DELTA_FROM,
                            negative_slope, INTERPRET_BF16)
        if STORE_DELTA:
            tl.store(delta_ptr + rows64[:, None] * N + cols64[None, :],
                     _narrow(delta, INTERPRET_BF16).to(delta_ptr.dtype.element_ty), mask=mask)
        if COMPUTE_DB:
            db += delta
    if COMPUTE_DB:
        tl.store(partial_ptr + pid_m.to(tl.int64) * N + cols64, tl.sum(db, axis=0), mask=col_ok)


@_autotune_dx
@triton.jit(do_not_specialize=["M"], launch_metadata=_dx_metadata)
def _linear_act_dx_tma_kernel(
    dy_desc, aux_desc, w_desc, dx_desc, delta_desc, partial_ptr,
    M, N, K, M_BUCKET, PROGRAMS,
    negative_slope,
    DELTA_FROM: tl.constexpr, STORE_DELTA: tl.constexpr, COMPUTE_DB: tl.constexpr,
    INPUT_PRECISION: tl.constexpr, INTERPRET_BF16: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP: tl.constexpr,
):
    """dx = δ W with δ = dy ⊙ σ'(ξ) formed where it is consumed (Hopper): PROGRAMS programs (one per
    SM) walk dx's [BLOCK_M, BLOCK_K] tiles in grouped order; for each step of BLOCK_N along the
    reduction, the dy and aux tiles (y or g, DELTA_FROM) and W's [BLOCK_N, BLOCK_K] tile arrive by
    TMA, δ is formed in float32 registers, rounded once to the storage dtype and fed to the tensor
    cores from there. The programs of the first column tile of dx also write that rounded δ
    (STORE_DELTA: for dW = δ^T x, on cuBLAS) and, from the float32 δ, partial[m tile, n] = Σ over
    the tile's rows (COMPUTE_DB), as the δ pass does; the other column tiles read dy and aux
    again, from L2 when the grouped order keeps them there. Descriptors: dy, aux and δ [M, N] in
    [BLOCK_M, BLOCK_N] blocks, W [N, K] in [BLOCK_N, BLOCK_K], dx [M, K] in [BLOCK_M, BLOCK_K]."""
    tiles = tl.cdiv(M, BLOCK_M) * tl.cdiv(K, BLOCK_K)
    steps = tl.cdiv(N, BLOCK_N)
    for tile in tl.range(tl.program_id(0), tiles, PROGRAMS):
        pid_m, pid_k = _tile_coords(tile, M, K, BLOCK_M, BLOCK_K, GROUP)
        row0 = pid_m * BLOCK_M
        col0 = pid_k * BLOCK_K
        acc = tl.zeros((BLOCK_M, BLOCK_K), dtype=tl.float32)
        for step in range(0, steps):
            n0 = step * BLOCK_N
            delta = _widen(dy_desc.load([row0, n0]), INTERPRET_BF16)
            aux = _widen(aux_desc.load([row0, n0]), INTERPRET_BF16)
            if DELTA_FROM == "g":
                delta *= aux
            else:
                tl.static_assert(DELTA_FROM == "y", "the fused dx forms δ from y or g")
                delta *= activation_grad_from_output(aux, negative_slope)
            rounded = _narrow(delta, INTERPRET_BF16).to(dx_desc.dtype)
            if pid_k == 0:
                if STORE_DELTA:
                    delta_desc.store([row0, n0], rounded)
                if COMPUTE_DB:  # rows past M were read as zeros by TMA: they add nothing
                    cols = n0 + tl.arange(0, BLOCK_N)
                    tl.store(partial_ptr + pid_m.to(tl.int64) * N + cols, tl.sum(delta, axis=0), mask=cols < N)
            w = w_desc.load([n0, col0])
            acc = tl.dot(_mma_operand(rounded, INTERPRET_BF16), _mma_operand(w, INTERPRET_BF16), acc,
                         input_precision=INPUT_PRECISION)
        dx_desc.store([row0, col0], _narrow(acc, INTERPRET_BF16).to(dx_desc.dtype))


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
            raise TypeError(f"{name} must have x's dtype {x.dtype}, got {t.dtype} (cast them to one dtype, "
                            f"or run under torch.autocast, which casts them as for F.linear)")
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


def _fp32_switch():
    """(name, TF32 value, IEEE value) of torch's float32 matmul switch: ``fp32_precision`` on
    torch >= 2.9 (resolved through its parents; reading the legacy ``allow_tf32`` raises once a
    user has set the new one), ``allow_tf32`` before."""
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
        return "fp32_precision", "tf32", "ieee"
    return "allow_tf32", True, False


# torch.compile cannot trace the setting's getter; it calls this once while tracing instead. That
# is safe: compiled code is guarded on the cuBLAS TF32 setting and recompiles when it changes.
@torch.compiler.assume_constant_result
def _torch_allows_tf32():
    """Whether torch lets cuBLAS use TF32 for float32 matmuls."""
    name, tf32, _ = _fp32_switch()
    return getattr(torch.backends.cuda.matmul, name) == tf32


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


def _tma_capable(t):
    """Whether t's GPU loads and stores tiles by TMA: Hopper (compute capability 9.0) and later."""
    return t.is_cuda and torch.cuda.get_device_capability(t.device)[0] >= 9


def _tma_addressable(t):
    """Whether a TMA descriptor can describe the 2-D tensor t: unit stride along a row, rows that do
    not overlap (a broadcast x has row stride 0), the row stride and the start 16-byte aligned."""
    return (t.stride(1) == 1 and t.stride(0) >= t.shape[1] and t.stride(0) * t.element_size() % 16 == 0
            and t.data_ptr() % 16 == 0)


def _descriptor(t):
    # The block shape is a placeholder: the kernel's config pre_hook (_set_blocks) sets it.
    return TensorDescriptor(t, list(t.shape), list(t.stride()), [16, 16])


def _forward(x, weight, bias, activation, slope, precision, epilogue, dy=None):
    """Launch the forward kernel on 2-D x; returns (y, aux) with None for what EPILOGUE skips.

    The persistent TMA kernel where the GPU has TMA, the products run on tensor cores (16-bit or
    TF32) and x, W and the outputs suit a descriptor (contiguous rows of a multiple of 16 bytes: K
    and N multiples of 8 in 16-bit, of 4 in float32), the portable kernel otherwise. IEEE float32
    products run on the CUDA cores, which TMA loads do not speed up; with triton 3.6 that variant
    of the TMA kernel spills kilobytes a thread."""
    m, k = x.shape
    n = weight.shape[0]
    y = None if epilogue == "delta" else torch.empty((m, n), device=x.device, dtype=x.dtype)
    aux = torch.empty((m, n), device=x.device, dtype=x.dtype) if epilogue != "y" else None
    if m == 0:
        return y, aux
    # The kernels write y and σ'(ξ), or δ alone (recompute mode): their first output is y or δ,
    # the second σ'(ξ). Unused arguments get any tensor of the right dtype; their constexpr flags
    # keep them untouched.
    first = y if y is not None else aux
    second = aux if aux is not None else first
    b_args = (bias, bias.stride(0)) if bias is not None else (x, 0)
    dy_args = (dy, *dy.stride()) if dy is not None else (x, 0, 0)
    flags = dict(ACTIVATION=activation, HAS_BIAS=bias is not None, EPILOGUE=epilogue, INPUT_PRECISION=precision,
                 **_launch_args(x))
    tiles = lambda meta: cdiv(m, meta["BLOCK_M"]) * cdiv(n, meta["BLOCK_N"])  # noqa: E731
    if precision != "ieee" and _tma_capable(x) and all(map(_tma_addressable, (x, weight, first, second))):
        sms = sm_count(x.device)
        _linear_act_fwd_tma_kernel[lambda meta: (min(meta["PER_SM"] * sms, tiles(meta)),)](
            _descriptor(x), _descriptor(weight), b_args[0], _descriptor(first), _descriptor(second), dy_args[0],
            m, n, k, next_power_of_2(m), b_args[1], *dy_args[1:], slope, **flags)
    else:
        _linear_act_fwd_kernel[lambda meta: (tiles(meta),)](
            x, weight, b_args[0], first, second, dy_args[0], m, n, k, next_power_of_2(m),
            *x.stride(), *weight.stride(), b_args[1], *dy_args[1:], slope, **flags)
    return y, aux


def _delta_and_db(dy, aux, slope, source, need_delta, need_db):
    """δ (for the matmuls, when need_delta) and db = Σ_m δ (when need_db) in one pass over dy and
    aux; returns (δ or None, db or None). δ = dy itself when source is "dy" (nothing to write).

    db is deterministic: float32 partial sums per program (fixed rows each), then torch.sum over
    the [programs along M, N] partials, whose order does not depend on scheduling either.
    """
    m, n = dy.shape
    store = need_delta and source != "dy"
    delta = torch.empty((m, n), device=dy.device, dtype=dy.dtype) if store else (dy if need_delta else None)
    if not (store or need_db):
        return delta, None
    block_m, block_n, warps = _DELTA_TILE
    tiles_m, tiles_n = cdiv(m, block_m), cdiv(n, block_n)
    # Once there are enough programs to fill the GPU, each walks down more tiles instead: fewer
    # float32 partial rows to write and sum (STEPS is a runtime argument: no recompilation).
    steps = max(1, min(_DELTA_MAX_STEPS, tiles_m * tiles_n // _DELTA_PROGRAMS))
    programs_m = cdiv(tiles_m, steps)
    partial = torch.empty((programs_m, n), device=dy.device, dtype=torch.float32) if need_db else None
    if m > 0:
        # Unused pointer arguments get any tensor; their constexpr flags keep them untouched.
        _linear_act_delta_kernel[(programs_m * tiles_n,)](
            dy, aux if aux is not None else dy, delta if store else dy, partial if need_db else dy,
            m, n, steps, dy.stride(0), dy.stride(1), slope,
            DELTA_FROM=source, STORE_DELTA=store, COMPUTE_DB=need_db,
            BLOCK_M=block_m, BLOCK_N=block_n, num_warps=warps, **_launch_args(dy),
            maxnreg=resident_registers(warps, _DELTA_UNALIGNED_PER_SM) if n % 16 else None,
        )
    db = partial.sum(0).to(dy.dtype) if need_db else None  # an empty batch: zeros
    return delta, db


_FUSED_DX = True  # False: δ by the δ pass, dx on cuBLAS, everywhere (the benchmarks compare the two)


def _fused_dx_applies(dy, aux, weight, precision, source):
    """Whether dx = δ W runs as _linear_act_dx_tma_kernel: on a GPU with TMA, for δ formed from y or
    g, tensor-core products (16-bit or TF32), and tensors a TMA descriptor can address."""
    return (_FUSED_DX and source in ("y", "g") and precision != "ieee" and _tma_capable(dy)
            and all(map(_tma_addressable, (dy, aux, weight))))


def _dx_fused(dy, aux, weight, slope, source, precision, need_delta, need_db):
    """(dx, δ or None, db or None): dx = δ W with δ formed inside the matmul (see
    _linear_act_dx_tma_kernel), which also writes δ for dW and db's partial sums per row tile. The
    partials have a row for each row tile of the smallest tile, zeros where a larger one leaves
    rows unused; db is their sum (deterministic: a fixed order, no atomics)."""
    m, n = dy.shape
    k = weight.shape[1]
    dx = torch.empty((m, k), device=dy.device, dtype=dy.dtype)
    delta = torch.empty((m, n), device=dy.device, dtype=dy.dtype) if need_delta else None
    min_rows = min(t[0] for t in (_INTERPRETER_TILES if _INTERPRET else _DX_TILES))
    partial = torch.zeros((cdiv(m, min_rows), n), device=dy.device, dtype=torch.float32) if need_db else None
    programs = sm_count(dy.device)
    tiles = lambda meta: cdiv(m, meta["BLOCK_M"]) * cdiv(k, meta["BLOCK_K"])  # noqa: E731
    dy_desc = _descriptor(dy)
    # Unused arguments get a descriptor or tensor already passed; their constexpr flags keep them untouched.
    _linear_act_dx_tma_kernel[lambda meta: (min(programs, tiles(meta)),)](
        dy_desc, _descriptor(aux), _descriptor(weight), _descriptor(dx),
        _descriptor(delta) if need_delta else dy_desc, partial if need_db else dy,
        m, n, k, next_power_of_2(m), programs, slope,
        DELTA_FROM=source, STORE_DELTA=need_delta, COMPUTE_DB=need_db, INPUT_PRECISION=precision,
        **_launch_args(dy))
    return dx, delta, partial.sum(0).to(dy.dtype) if need_db else None


def _mm(a, b, precision):
    """a @ b by torch (cuBLAS; the CPU BLAS under the interpreter) with the products and float32
    accumulation the Triton kernels use: float32 operands in TF32 exactly when precision is
    "tf32", IEEE otherwise, and 16-bit operands without cuBLAS's reduced-precision (16-bit)
    split-K reductions. torch keeps these as process-wide settings: set for the call, restored."""
    if not a.is_cuda:  # by default CPU float32 matmuls are IEEE, 16-bit ones sum in float32
        return torch.mm(a, b)
    matmul = torch.backends.cuda.matmul
    if a.dtype == torch.float32:
        name, tf32, ieee = _fp32_switch()
        value = tf32 if precision == "tf32" else ieee
    else:
        name = "allow_bf16_reduced_precision_reduction" if a.dtype == torch.bfloat16 else \
            "allow_fp16_reduced_precision_reduction"
        value = False
    saved = getattr(matmul, name)
    setattr(matmul, name, value)
    try:
        return torch.mm(a, b)
    finally:
        setattr(matmul, name, saved)


# ---------------------------------------------------------------------------------------------
# Custom operators: torch.compile traces them as single nodes (fake implementations give the
# output shapes), autograd through register_autograd, options as operator arguments.
# They are torch.library.custom_op rather than triton_op: a triton_op's host code is traced, so the
# backward's per-call cuBLAS precision settings (_mm) would be applied at trace time only, and the
# compiled matmuls would run under the process-wide ones.
# ---------------------------------------------------------------------------------------------
def _linear_act_impl(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor], activation: str,
                   negative_slope: float, precision: str, recompute: bool, needs_grad: bool
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, g) for 2-D x [M, K]: y = σ(x W^T + b) [M, N]; g = σ'(ξ) [M, N] when the backward will
    read it (needs_grad and the source is "g"), else an empty [0] tensor."""
    save_g = needs_grad and _delta_source(activation, negative_slope, recompute) == "g"
    with _on_device(x):
        y, g = _forward(x, weight, bias, activation, negative_slope, precision, "y+g" if save_g else "y")
    return y, g if save_g else x.new_empty((0,))


_linear_act_op = torch.library.custom_op("oracle_kernels::linear_act", _linear_act_impl, mutates_args=())


@_linear_act_op.register_fake
def _(x, weight, bias, activation, negative_slope, precision, recompute, needs_grad):
    save_g = needs_grad and _delta_source(activation, negative_slope, recompute) == "g"
    y = x.new_empty((x.shape[0], weight.shape[0]))
    return y, torch.empty_like(y) if save_g else x.new_empty((0,))


def _linear_act_backward_impl(dy: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                            aux: Optional[torch.Tensor], activation: str, negative_slope: float, precision: str,
                            source: str, output_mask: list[bool]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dx, dW, db) = (δ W, δ^T x, Σ_m δ) with δ = dy ⊙ σ'(ξ) formed from ``source`` ("dy", "y" or
    "g" read from aux, or "recompute": ξ recomputed from x, W and b); a gradient that
    output_mask marks unneeded is an empty [0] tensor and is not computed."""
    need_dx, need_dw, need_db = output_mask
    with _on_device(x):
        if source == "recompute":
            _, aux = _forward(x, weight, bias, activation, negative_slope, precision, "delta", dy=dy)
            dy, source = aux, "dy"
        if need_dx and _fused_dx_applies(dy, aux, weight, precision, source):
            dx, delta, db = _dx_fused(dy, aux, weight, negative_slope, source, precision, need_dw, need_db)
        else:
            delta, db = _delta_and_db(dy, aux, negative_slope, source, need_dx or need_dw, need_db)
            dx = _mm(delta, weight, precision) if need_dx else None
        dw = _mm(delta.t(), x, precision) if need_dw else None
    return tuple(t if t is not None else dy.new_empty((0,)) for t in (dx, dw, db))


_linear_act_backward_op = torch.library.custom_op("oracle_kernels::linear_act_backward", _linear_act_backward_impl,
                                                  mutates_args=())


@_linear_act_backward_op.register_fake
def _(dy, x, weight, bias, aux, activation, negative_slope, precision, source, output_mask):
    shapes = (x.shape, weight.shape, weight.shape[:1])
    return tuple(dy.new_empty(shape if need else (0,)) for shape, need in zip(shapes, output_mask))


def _setup_context(ctx, inputs, output):
    x, weight, bias, activation, slope, precision, recompute, needs_grad = inputs
    y, g = output
    # g gets no gradient: without this autograd would fill one of zeros, an [M, N] buffer and a pass.
    ctx.set_materialize_grads(False)
    source = _delta_source(activation, slope, recompute)
    if source == "g" and not needs_grad:  # told no gradient was needed, so g was not written
        source = "recompute"
    # The backward's only [M, N] tensor: the output itself for relu/leaky_relu, g for smooth σ.
    ctx.save_for_backward(x, weight, bias, {"y": y, "g": g}.get(source))
    ctx.config = (activation, slope, precision, source)


def _backward_formula(ctx, dy, _dg):
    """The operator's autograd formula, named as cross_entropy's: dx, dW and db from the saved
    inputs and y or g, by the backward operator."""
    x, weight, bias, aux = ctx.saved_tensors
    activation, slope, precision, source = ctx.config
    mask = list(ctx.needs_input_grad[:3])
    grads = call(torch.ops.oracle_kernels.linear_act_backward, _linear_act_backward_impl, dy, x, weight, bias, aux,
                 activation, slope, precision, source, mask)
    return (*(g if need else None for g, need in zip(grads, mask)), None, None, None, None, None)


_linear_act_op.register_autograd(_backward_formula, setup_context=_setup_context)
_LinearActFunction = autograd_function("_LinearActFunction", _linear_act_impl, _setup_context, _backward_formula)


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
            ``allow_tf32`` before torch 2.9). Triton's CPU interpreter has no TF32: there the
            products are float32 whatever this says.
        recompute: keep no [M, N] activation tensor for the backward and recompute ξ there instead
            (one extra matmul; see the module docstring for the trade-off).

    Under ``torch.autocast`` for x's device type, x, weight and bias are first cast to the autocast
    dtype as ``F.linear`` casts them (a float32 master weight gets a float32 gradient through the
    cast); outside it, mixed dtypes raise TypeError.

    Returns:
        y: [..., N], x's dtype (the autocast dtype under autocast).
    """
    activation = check_activation(activation)
    x, weight, bias = _autocast(x, weight, bias)
    slope = _check_inputs(x, weight, bias, negative_slope, allow_tf32, recompute)
    if activation == "relu":
        slope = 0.0  # relu is leaky_relu with slope 0 wherever the backward reads y
    n, k = weight.shape
    lead = x.shape[:-1]
    x2 = x.reshape(-1, k)
    precision = _input_precision(x.dtype, allow_tf32)
    needs_grad = torch.is_grad_enabled() and (
        x.requires_grad or weight.requires_grad or (bias is not None and bias.requires_grad))
    args = (x2, weight, bias, activation, slope, precision, recompute, needs_grad)
    y, _ = call(torch.ops.oracle_kernels.linear_act, _LinearActFunction.apply, *args)
    return y.view(*lead, n)


def _autocast(*tensors):
    """The tensors cast as autocast casts F.linear's inputs: when it is enabled for the first one's
    device type, floating tensors other than float64 go to its dtype (the rest unchanged, for
    _check_inputs to judge). In the public function rather than as the operator's autocast rule,
    since torch.library.register_autocast takes one fixed dtype, not autocast's current one."""
    first = tensors[0]
    # Only the devices the kernels run on (CUDA; the CPU under the interpreter), whose autocast state
    # torch.is_autocast_enabled can be asked about: torch 2.11's dynamo cannot trace
    # torch.amp.is_autocast_available, the general test.
    device = first.device.type if isinstance(first, torch.Tensor) else None
    if device not in ("cuda", "cpu") or not torch.is_autocast_enabled(device):
        return tensors
    dtype = torch.get_autocast_dtype(device)
    return tuple(t.to(dtype) if isinstance(t, torch.Tensor) and t.is_floating_point() and t.dtype != torch.float64
                 else t for t in tensors)


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
