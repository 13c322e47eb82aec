"""The ``triton`` backend: the project's kernels (triton_kernels) in float32, bfloat16 and float16.

It provides what the kernels implement: ``linear`` and ``linear_act`` (forward and backward, the
activations of triton_kernels.activations.ACTIVATIONS), ``cross_entropy`` and its gradient, and
``mlp_forward`` / ``mlp_backward`` as a chain of fused layers. Gradients come from the kernels'
autograd functions. On a GPU it also runs in ``tf32`` (float32 tensors, TF32 tensor-core
products). Without a GPU the kernels run under Triton's CPU interpreter (TRITON_INTERPRET=1, which
importing triton_kernels sets there): correct but slow, so profiles try fewer examples; the
cross-entropy kernel is then given 16-wide row chunks, so small rows already exercise its
streaming (online softmax) path; rows longer than 16384 get its own chunks.
"""
from __future__ import annotations

import importlib.util
import sys
import warnings

from . import Backend, read_known_failures
from .. import interpreter
from .torch_backend import TorchBackend


LONG_ROW = 16384  # rows longer than this are streamed in chunks by the kernel's default too


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


class TritonBackend(Backend):
    name = "triton"
    array_type = "torch"
    runs_triton = True
    # Under the interpreter the kernels convert bfloat16 through its bit patterns (INTERPRET_BF16 in
    # triton_kernels/linear_act.py, _round_to_bf16 in cross_entropy.py): the GPU's numbers exactly.
    interpreter_workarounds = ("bfloat16",)

    def __init__(self):
        from triton_kernels.activations import ACTIVATIONS
        from triton_kernels.cross_entropy import cross_entropy
        from triton_kernels.linear_act import linear_act

        self._linear_act, self._cross_entropy, self._activations = linear_act, cross_entropy, ACTIVATIONS
        self.device = "cuda" if _cuda() else "cpu"
        self.known_failures = read_known_failures("triton") + (read_known_failures("triton_cuda")
                                                               if self.device == "cuda" else ())
        self.slow = interpreter.active()
        self.dtypes = ("float32", "bfloat16", "float16") + (("tf32",) if self.device == "cuda" else ())
        self._tf32 = False
        self._block_v = 16 if self.slow else None
        if self.slow:  # the interpreter runs the kernels in numpy, which warns at the masked lanes' log(0),
            # -inf * 0 and the like that a GPU computes silently: results are compared, warnings are noise
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"triton\.runtime\.interpreter")

    @classmethod
    def unavailable(cls):
        for package in ("torch", "triton"):
            if importlib.util.find_spec(package) is None:
                return f"{package} is not installed"
        if not _cuda() and "triton_kernels" in sys.modules and not interpreter.active():
            return "no GPU, and triton_kernels was imported without TRITON_INTERPRET=1"
        return None

    def set_dtype(self, dtype: str) -> None:
        self._tf32 = dtype == "tf32"

    # ---------------------------------------------------------------- layers
    def _fused(self, x, weight, bias, activation, params):
        if activation not in self._activations or (activation == "sigmoid" and params.get("lam", 1.0) != 1.0):
            raise NotImplementedError(f"the kernels implement {', '.join(self._activations)} (sigmoid with lam = 1)")
        extra = {"negative_slope": params["negative_slope"]} if "negative_slope" in params else {}
        allow_tf32 = self._tf32 if x.dtype.is_floating_point and x.element_size() == 4 else None
        return self._linear_act(x, weight, bias, activation, allow_tf32=allow_tf32, **extra)

    def linear(self, x, weight, bias=None):
        return self._fused(x, weight, bias, "identity", {})

    def linear_act(self, x, weight, bias=None, activation="relu", **params):
        return self._fused(x, weight, bias, activation, params)

    def linear_act_backward(self, x, weight, bias, activation, grad_y, **params):
        import torch

        leaves = [t.detach().requires_grad_() for t in (x, weight) + ((bias,) if bias is not None else ())]
        y = self._fused(leaves[0], leaves[1], leaves[2] if bias is not None else None, activation, params)
        grads = torch.autograd.grad(y, leaves, grad_y)
        return grads[0], grads[1], grads[2] if bias is not None else None

    def mlp_forward(self, x, layers, activations):
        y = x
        for (w, b), name in zip(layers, activations):
            y = self._fused(y, w, b, name, {})
        return y

    def mlp_backward(self, x, layers, activations, grad_output):
        import torch

        x = x.detach().requires_grad_()
        layers = [(w.detach().requires_grad_(), b.detach().requires_grad_()) for w, b in layers]
        y = self.mlp_forward(x, layers, activations)
        grads = torch.autograd.grad(y, [x] + [t for layer in layers for t in layer], grad_output)
        return grads[0], [(grads[1 + 2 * i], grads[2 + 2 * i]) for i in range(len(layers))]

    # ---------------------------------------------------------------- cross-entropy
    def _ce(self, logits, target, weight, ignore_index, reduction, label_smoothing, z_loss):
        # Rows past LONG_ROW stream in the kernel's own chunks (16-wide ones: ~5 s a row of 65537 interpreted)
        block_v = self._block_v if logits.shape[-1] <= LONG_ROW else None
        return self._cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                                     label_smoothing=label_smoothing, z_loss=z_loss, block_v=block_v)

    # The wrappers around _ce (and linear) are the torch backend's: only the loss function differs.
    # linear_cross_entropy is the composition of the two kernels until the fused one exists.
    cross_entropy = TorchBackend.cross_entropy
    cross_entropy_grad = TorchBackend.cross_entropy_grad
    linear_cross_entropy = TorchBackend.linear_cross_entropy
    linear_cross_entropy_grad = TorchBackend.linear_cross_entropy_grad
    _grad = staticmethod(TorchBackend._grad)
