"""The canaries of tests/conftest.py catch a kernel that writes past its output under the interpreter."""
import torch
import triton
import triton.language as tl

from conftest import Guarded


@triton.jit
def _unmasked_copy(src, dst, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(dst + offs, tl.load(src + offs))  # no mask: BLOCK elements whatever the length


def test_an_out_of_bounds_write_is_reported_not_a_crash():
    guard = Guarded()
    dst = guard.alloc(torch.empty(10))
    assert dst.isnan().all()
    _unmasked_copy[(1,)](torch.ones(16), dst, BLOCK=16)
    assert guard.breaches() == ["a kernel wrote outside an output buffer of shape (10,): 0 elements before its "
                                "start, 6 past its end"]


def test_integer_and_strided_tensors_are_handed_back_poisoned_not_padded():
    guard = Guarded()
    ints = torch.zeros(3, dtype=torch.int32)
    assert guard.alloc(ints) is ints
    strided = torch.zeros(4, 4).t()
    assert guard.alloc(strided) is strided and strided.isnan().all() and guard.buffers == []
