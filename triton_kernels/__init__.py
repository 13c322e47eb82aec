"""Fused Triton kernels checked against the float64 oracle in ``reference``.

- ``cross_entropy`` / ``CrossEntropyLoss``: softmax cross-entropy, loss and gradient in one pass.
- ``linear_act`` / ``FusedLinear``: ``act(x @ weight.T + bias)`` with the bias and activation in the
  matmul's epilogue; the backward forms δ = dy ⊙ σ'(ξ) and db in one pass, then dx and dW on cuBLAS.

The functions share their modules' names (``triton_kernels.cross_entropy`` is the function);
``from triton_kernels.cross_entropy import ...`` still reaches the module.
"""
import os

import torch

# Triton picks its CPU interpreter when a kernel is defined, i.e. when this package is imported: a
# TRITON_INTERPRET=1 set after the import comes too late ("0 active drivers" at the first launch).
# Without a GPU the interpreter is the only way to run the kernels, so choose it here; an explicit
# TRITON_INTERPRET (e.g. 0 for report.compile_check, which compiles for a GPU it does not have) wins.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
# The kernels' error models count one rounding per floating-point operation, which a fused
# multiply-add satisfies (it rounds once where a multiply and an add round twice): keep Triton's
# fusion on, as the kernels were checked and compiled with, and say so (Triton 3.9 warns while unset).
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

from .cross_entropy import CrossEntropyLoss, cross_entropy  # noqa: E402 -- after the settings above
from .linear_act import FusedLinear, linear_act  # noqa: E402

__all__ = ["CrossEntropyLoss", "FusedLinear", "cross_entropy", "linear_act"]
