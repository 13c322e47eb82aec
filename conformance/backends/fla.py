"""The ``fla`` peer: flash-linear-attention's fused cross-entropy and fused linear cross-entropy
(fla-core, ``pip install -e ".[peers]"``).

``fla.modules.fused_cross_entropy``'s ``cross_entropy_loss`` (Triton kernels; the per-row losses, z-loss
included, from its ``lse_square_scale``) with the reduction of its ``FusedCrossEntropyLoss`` module:
the sum, divided for "mean" by the number of rows whose target is not ignore_index. The module itself
asserts CUDA tensors, so the adapter applies that reduction to the function's output itself. Without
a GPU the kernels run under Triton's CPU interpreter (conformance.interpreter).
``linear_cross_entropy`` is ``fused_linear_cross_entropy_loss`` (chunked; its own reductions).
"""
from __future__ import annotations


from . import Backend, decline, peer_missing, read_known_failures
from .. import interpreter
from .torch_backend import TorchBackend


class FlaBackend(Backend):
    name = "fla"
    array_type = "torch"
    dtypes = ("float32", "bfloat16", "float16")
    runs_triton = True
    unsupported = {"weight": "fla's fused cross-entropy has no class weights",
                   "class_weight": "fla's fused linear cross-entropy has no class weights",
                   "z_loss": "fla's fused linear cross-entropy has no z-loss (its l2warp is another penalty)"}
    known_failures = read_known_failures("fla")

    def __init__(self):
        interpreter.prepare()  # before fla defines its kernels
        import torch
        from fla.modules.fused_cross_entropy.ops import cross_entropy_loss
        from fla.modules.fused_linear_cross_entropy.ops import fused_linear_cross_entropy_loss

        self._loss, self._flce = cross_entropy_loss, fused_linear_cross_entropy_loss
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.slow = interpreter.active()

    @classmethod
    def unavailable(cls):
        return peer_missing("fla", "fla-core")

    def _ce(self, logits, target, weight, ignore_index, reduction, label_smoothing, z_loss):
        decline(self, {"weight": weight}, {"weight": None})
        if reduction not in ("mean", "sum", "none"):  # the module's own check, at its construction
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        rows, _ = self._loss(logits, target, label_smoothing=label_smoothing, lse_square_scale=z_loss,
                             ignore_index=ignore_index)
        if reduction == "none":
            return rows
        total = rows.sum()
        return total / (target != ignore_index).sum() if reduction == "mean" else total

    def linear_cross_entropy(self, x, weight, target, bias=None, *, class_weight=None, ignore_index=-100,
                             reduction="mean", label_smoothing=0.0, z_loss=0.0):
        decline(self, {"class_weight": class_weight, "z_loss": z_loss}, {"class_weight": None, "z_loss": 0.0})
        if reduction == "none":  # documented: 'mean' | 'sum'; given "none" it returns a scalar all the same
            raise NotImplementedError("reduction 'none': fla's fused linear cross-entropy documents 'mean' and 'sum'")
        return self._flce(x, target, weight, bias, ignore_index=ignore_index, label_smoothing=label_smoothing,
                          reduction=reduction)

    cross_entropy = TorchBackend.cross_entropy
    cross_entropy_grad = TorchBackend.cross_entropy_grad
    linear_cross_entropy_grad = TorchBackend.linear_cross_entropy_grad
    _grad = staticmethod(TorchBackend._grad)
