"""Fused Triton kernels checked against the float64 oracle in ``reference``.

- ``cross_entropy`` / ``CrossEntropyLoss``: softmax cross-entropy, loss and gradient in one pass.
- ``linear_act`` / ``FusedLinear``: ``act(x @ weight.T + bias)`` with the bias and activation in the
  matmul's epilogue and the activation's derivative fused into the backward matmuls.

The functions share their modules' names (``triton_kernels.cross_entropy`` is the function);
``from triton_kernels.cross_entropy import ...`` still reaches the module.
"""
from .cross_entropy import CrossEntropyLoss, cross_entropy
from .linear_act import FusedLinear, linear_act

__all__ = ["CrossEntropyLoss", "FusedLinear", "cross_entropy", "linear_act"]
