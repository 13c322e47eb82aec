"""A backend adapter to copy: your cross-entropy kernel held to the float64 oracle.

    python -m conformance --backend conformance.examples.adapter_template:MyBackend --ops 'cross_entropy*'

Replace ``_my_cross_entropy`` with your kernel's call (here eager torch stands in for it). The suite
passes torch tensors in each dtype of ``dtypes`` (rounded from its float64 cases, sometimes strided,
transposed, not 16-byte aligned or, for grad_output, at stride 0: call ``.contiguous()`` only if your
kernel documents that it needs it; class weights sometimes in another 16-bit format, for which
raising, as torch does, declines the example) and compares every element of your result with the
oracle's, within the bound of conformance/TOLERANCE.md.
"""
from __future__ import annotations

from conformance.backends import Backend, decline


def _my_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing):
    import torch.nn.functional as F

    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


class MyBackend(Backend):
    name = "my-kernels"           # the name in reports
    array_type = "torch"          # arrays arrive as torch tensors ("list": nested Python lists)
    dtypes = ("float32",)         # add "bfloat16", "float16" where your kernel has them
    device = "cpu"                # or "cuda"
    runs_triton = False           # True for Triton code: its bfloat16 is then "not meaningful" on a CPU
    # What the kernel does not support: examples that use it are declined with this reason, and the
    # report lists them, neither passes nor failures.
    unsupported = {"z_loss": "my kernel has no z-loss"}
    unsupported_dtypes = {"float64": "my kernel is for training formats"}

    def cross_entropy(self, logits, target, *, weight=None, ignore_index=-100, reduction="mean",
                      label_smoothing=0.0, z_loss=0.0):
        decline(self, {"z_loss": z_loss}, {"z_loss": 0.0})
        return _my_cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing)

    def cross_entropy_grad(self, logits, target, *, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0, z_loss=0.0, grad_output=1.0):
        import torch

        logits = logits.detach().requires_grad_()
        loss = self.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                                  label_smoothing=label_smoothing, z_loss=z_loss)
        g = torch.as_tensor(grad_output, dtype=loss.dtype).expand_as(loss)
        return torch.autograd.grad(loss, logits, g)[0]
