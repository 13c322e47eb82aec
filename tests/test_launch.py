"""triton_kernels.launch: the kernels' shared bfloat16 rounding (the interpreter's casts truncate)."""
import struct

import torch
import triton
import triton.language as tl

from triton_kernels.launch import round_to_bf16  # the package chooses the interpreter where there is no GPU

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@triton.jit
def _round_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    i = tl.arange(0, BLOCK)
    tl.store(y_ptr + i, round_to_bf16(tl.load(x_ptr + i, mask=i < n)), mask=i < n)


def _f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def test_round_to_bf16_is_round_to_nearest_even_and_keeps_nan():
    values = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8), -0.0, 3.0e38, 1e-40,
              _f32(0x3F80_7FFF), _f32(0x3F81_8000), float("inf"), -float("inf")]
    nans = [float("nan"), _f32(0x7F80_0001), _f32(0xFFFF_FFFF)]  # quiet, payload in the low half, negative
    x = torch.tensor(values + nans, dtype=torch.float32, device=DEVICE)
    y = torch.full_like(x, 7.0)
    _round_kernel[(1,)](x, y, x.numel(), BLOCK=16)
    want = x[:len(values)].cpu().to(torch.bfloat16).float()  # torch's cast rounds to nearest even
    assert torch.equal(y[:len(values)].cpu(), want)
    assert y[len(values):].isnan().all()
    assert ((y.cpu().view(torch.int32) & 0xFFFF) == 0).all()  # bfloat16 values: the lower half is zero
