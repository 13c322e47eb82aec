"""The ``liger`` peer: Liger-Kernel's Triton kernels (``pip install -e ".[peers]"``).

Operations: ``cross_entropy`` and its gradient (``LigerCrossEntropyFunction``, the kernel behind
``liger_cross_entropy``), ``linear_cross_entropy`` and its gradients (``liger_fused_linear_cross_entropy``,
FLCE), ``softmax`` (``liger_softmax``); with class weights, ignore_index, label smoothing and z-loss
(its ``lse_square_scale``: ζ lse² added per counted row, the suite's z_loss). Without a GPU they
run under Triton's CPU interpreter (conformance.interpreter).

Semantics the adapter bridges, not differences it hides:

- Liger's forward writes ∂loss/∂logits into the logits' own buffer when they require grad
  (documented in its source: "we use a trick to store X_ptr gradient in X_ptr"), so the caller's
  logits are overwritten by the call: ``untouched[cross_entropy]`` reports it, a known failure
  (known_failures/liger.txt). The other checks compare results only, computed by the oracle from
  the values the call was given.
- With class weights and reduction "mean", Liger divides the z-loss by the number of counted
  rows, unweighted, and the cross-entropy by Σ w_t; the oracle divides both by Σ w_t (z-loss has
  no torch definition to follow). Confirmed by hand in float64: Liger's loss and gradient are
  both those of its convention. The adapter declines these examples as a difference of semantics.
"""
from __future__ import annotations


from . import Backend, peer_missing, read_known_failures
from .. import interpreter
from .torch_backend import TorchBackend


Z_LOSS_WITH_WEIGHTS = ("difference of semantics: with class weights, Liger's mean divides the z-loss by the "
                       "count of counted rows, the oracle by the sum of their weights")


class LigerBackend(Backend):
    name = "liger"
    array_type = "torch"
    dtypes = ("float32", "bfloat16", "float16")
    runs_triton = True
    known_failures = read_known_failures("liger")

    def __init__(self):
        interpreter.prepare()  # before Liger defines its kernels
        import torch
        from liger_kernel.ops.cross_entropy import LigerCrossEntropyFunction
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy, liger_softmax

        self._function, self._softmax = LigerCrossEntropyFunction, liger_softmax
        self._flce = liger_fused_linear_cross_entropy
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.slow = interpreter.active()

    @classmethod
    def unavailable(cls):
        return peer_missing("liger_kernel", "liger-kernel")

    def softmax(self, x):
        return self._softmax(x)

    def _ce(self, logits, target, weight, ignore_index, reduction, label_smoothing, z_loss):
        if weight is not None and z_loss and reduction == "mean":
            raise NotImplementedError(Z_LOSS_WITH_WEIGHTS)
        # arguments: weight, ignore_index, lse_square_scale, label_smoothing, reduction, softcap,
        # return_z_loss, return_token_accuracy, return_predicted_tokens; the loss comes first
        return self._function.apply(logits, target, weight, ignore_index, z_loss, label_smoothing, reduction,
                                    None, False, False, False)[0]

    def linear_cross_entropy(self, x, weight, target, bias=None, *, class_weight=None, ignore_index=-100,
                             reduction="mean", label_smoothing=0.0, z_loss=0.0):
        if class_weight is not None and z_loss and reduction == "mean":
            raise NotImplementedError(Z_LOSS_WITH_WEIGHTS)
        return self._flce(x, weight, target, bias, ce_weight=class_weight, ignore_index=ignore_index,
                          lse_square_scale=z_loss, label_smoothing=label_smoothing, reduction=reduction)

    cross_entropy = TorchBackend.cross_entropy
    cross_entropy_grad = TorchBackend.cross_entropy_grad
    linear_cross_entropy_grad = TorchBackend.linear_cross_entropy_grad
    _grad = staticmethod(TorchBackend._grad)
