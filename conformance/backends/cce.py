"""The ``cce`` peer: Apple's Cut Cross-Entropy (``cut-cross-entropy``), linear + cross-entropy without
materializing the logits.

``linear_cross_entropy(e, c, targets, ignore_index, softcap, reduction, shift, filter_eps)`` with its
default ``filter_eps="high"``: the backward skips the logits whose softmax is below a threshold, a
documented approximation (the CCE paper's gradient filtering), so gradient failures where those
probabilities matter are a difference of semantics, not bugs. It has no bias, class weights, label
smoothing or z-loss (declined). Its Triton kernels run under Triton's CPU interpreter without a GPU.
"""
from __future__ import annotations


from . import Backend, decline, peer_missing
from .. import interpreter
from .torch_backend import TorchBackend

_DEFAULTS = {"bias": None, "class_weight": None, "label_smoothing": 0.0, "z_loss": 0.0}


class CCEBackend(Backend):
    name = "cce"
    array_type = "torch"
    dtypes = ("float32", "bfloat16", "float16")
    runs_triton = True
    unsupported = {"bias": "CCE's linear has no bias", "class_weight": "CCE has no class weights",
                   "label_smoothing": "CCE has no label smoothing", "z_loss": "CCE has no z-loss"}

    def __init__(self):
        interpreter.prepare()  # before CCE defines its kernels
        import torch
        from cut_cross_entropy import linear_cross_entropy

        self._lce = linear_cross_entropy
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.slow = interpreter.active()

    @classmethod
    def unavailable(cls):
        return peer_missing("cut_cross_entropy", "cut-cross-entropy")

    def linear_cross_entropy(self, x, weight, target, bias=None, *, class_weight=None, ignore_index=-100,
                             reduction="mean", label_smoothing=0.0, z_loss=0.0):
        decline(self, {"bias": bias, "class_weight": class_weight, "label_smoothing": label_smoothing,
                       "z_loss": z_loss}, _DEFAULTS)
        return self._lce(x, weight, target, ignore_index=ignore_index, reduction=reduction)

    def linear_cross_entropy_grad(self, x, weight, target, bias=None, **options):
        if x.dtype == _float32():
            raise NotImplementedError("CCE's backward requires bfloat16 or float16 embeddings (it asserts so)")
        return TorchBackend.linear_cross_entropy_grad(self, x, weight, target, bias, **options)


def _float32():
    import torch

    return torch.float32
