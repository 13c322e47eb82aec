"""The ``torch`` backend: eager PyTorch (torch.nn.functional, autograd, torch.optim) in float64 and float32.

The baseline every kernel is compared with, and a check of the tolerance model itself: a
correct float32 library must pass it. Gradients come from autograd. Runs on CUDA when there is a
device (float32 matrix products then stay IEEE: torch's default keeps TF32 off for matmul).

What torch lacks is declined per example (NotImplementedError): the optimizer variants that
reference.optimizers adds for Keras and scikit-learn (momentum_form="lr_inside",
eps_placement inside the root or before the bias correction, decoupled weight decay outside
Adam). z-loss is added to F.cross_entropy by hand. Known differences from the oracle are listed
in conformance/known_failures/torch.txt.
"""
from __future__ import annotations

import importlib.util

from . import Backend, read_known_failures


def _torch():
    import torch
    import torch.nn.functional as F

    return torch, F


class TorchBackend(Backend):
    name = "torch"
    array_type = "torch"
    dtypes = ("float64", "float32")
    known_failures = read_known_failures("torch")

    def __init__(self):
        torch, _ = _torch()
        self.device = "cuda" if torch.cuda.is_available() else "cpu"

    @classmethod
    def unavailable(cls):
        return None if importlib.util.find_spec("torch") else "torch is not installed"

    # ---------------------------------------------------------------- activations
    @staticmethod
    def _act(name, x, params):
        torch, F = _torch()
        if name == "identity":
            return x * 1
        if name == "relu":
            return F.relu(x)
        if name == "leaky_relu":
            return F.leaky_relu(x, params.get("negative_slope", 0.01))
        if name == "sigmoid":
            return torch.sigmoid(params.get("lam", 1.0) * x)
        if name == "tanh":
            return torch.tanh(x)
        if name == "gelu":
            return F.gelu(x)
        if name == "gelu_tanh":
            return F.gelu(x, approximate="tanh")
        if name == "silu":
            return F.silu(x)
        if name == "step":
            return (x >= 0).to(x.dtype)
        if name == "softplus":  # F.softplus switches to x above 20, a 2e-9 error in float64
            return torch.logaddexp(x, torch.zeros_like(x))
        if name == "saturated_linear":
            return torch.clamp(x, 0.0, 1.0)
        if name == "bipolar_sigmoid":
            return torch.tanh(0.5 * x)
        raise NotImplementedError(f"activation {name!r}")

    def activation(self, name, x, **params):
        return self._act(name, x, params)

    def activation_grad(self, name, x, **params):
        torch, _ = _torch()
        x = x.detach().requires_grad_()
        y = self._act(name, x, params)
        if not y.requires_grad:  # step: piecewise constant
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
        return g

    def softmax(self, x):
        return _torch()[0].softmax(x, dim=-1)

    def log_softmax(self, x):
        return _torch()[0].log_softmax(x, dim=-1)

    # ---------------------------------------------------------------- losses
    def _ce(self, logits, target, weight, ignore_index, reduction, label_smoothing, z_loss):
        torch, F = _torch()
        bad = (target != ignore_index) & ((target < 0) | (target >= logits.shape[-1]))
        if logits.is_cuda and bool(bad.any()):  # on the CPU torch raises; on CUDA a device assert ends the process
            raise IndexError("target out of range")
        loss = F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                               label_smoothing=label_smoothing)
        if not z_loss:
            return loss
        kept = target != ignore_index
        z = torch.where(kept, z_loss * torch.logsumexp(logits, dim=-1) ** 2, torch.zeros((), dtype=logits.dtype,
                                                                                          device=logits.device))
        if reduction == "none":
            return loss + z
        if reduction == "sum":
            return loss + z.sum()
        safe = torch.where(kept, target, torch.zeros_like(target))
        d = weight[safe][kept].sum() if weight is not None else kept.sum().to(logits.dtype)
        return loss + z.sum() / d

    def cross_entropy(self, logits, target, *, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                      z_loss=0.0):
        return self._ce(logits, target, weight, ignore_index, reduction, label_smoothing, z_loss)

    def cross_entropy_grad(self, logits, target, *, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0, z_loss=0.0, grad_output=1.0):
        logits = logits.detach().requires_grad_()
        loss = self._ce(logits, target, weight, ignore_index, reduction, label_smoothing, z_loss)
        return self._grad(loss, logits, grad_output)

    @staticmethod
    def _grad(out, wrt, grad_output):
        torch, _ = _torch()
        g = torch.as_tensor(grad_output, dtype=out.dtype, device=out.device).expand_as(out)
        return torch.autograd.grad(out, wrt, g)[0]

    def mse(self, y, d, reduction="mean"):
        return _torch()[1].mse_loss(y, d, reduction=reduction)

    def mse_grad(self, y, d, reduction="mean", grad_output=1.0):
        y = y.detach().requires_grad_()
        return self._grad(self.mse(y, d, reduction), y, grad_output)

    def squared_error(self, y, d):
        return 0.5 * ((y - d) ** 2).sum()

    def squared_error_grad(self, y, d):
        y = y.detach().requires_grad_()
        return self._grad(self.squared_error(y, d), y, 1.0)

    def binary_cross_entropy(self, p, d, reduction="mean"):
        return _torch()[1].binary_cross_entropy(p, d, reduction=reduction)

    def binary_cross_entropy_grad(self, p, d, reduction="mean", grad_output=1.0):
        p = p.detach().requires_grad_()
        return self._grad(self.binary_cross_entropy(p, d, reduction), p, grad_output)

    def categorical_cross_entropy(self, p, d, reduction="mean"):
        torch, _ = _torch()
        # log p only where d > 0 (0 log 0 = 0), without a NaN gradient from log 0 elsewhere.
        safe = torch.where(d > 0, p, torch.ones_like(p))
        rows = -(d * torch.log(safe)).sum(dim=-1)
        return {"none": rows, "sum": rows.sum(), "mean": rows.mean()}[reduction]

    def categorical_cross_entropy_grad(self, p, d, reduction="mean", grad_output=1.0):
        p = p.detach().requires_grad_()
        return self._grad(self.categorical_cross_entropy(p, d, reduction), p, grad_output)

    # ---------------------------------------------------------------- layers
    def linear(self, x, weight, bias=None):
        return _torch()[1].linear(x, weight, bias)

    def linear_act(self, x, weight, bias=None, activation="relu", **params):
        return self._act(activation, _torch()[1].linear(x, weight, bias), params)

    def linear_act_backward(self, x, weight, bias, activation, grad_y, **params):
        torch, F = _torch()
        leaves = [t.detach().requires_grad_() for t in (x, weight) + ((bias,) if bias is not None else ())]
        y = self._act(activation, F.linear(*leaves, *([None] if bias is None else [])), params)
        grads = self._grads(y, leaves, grad_y)
        return grads[0], grads[1], grads[2] if bias is not None else None

    def linear_cross_entropy(self, x, weight, target, bias=None, *, class_weight=None, ignore_index=-100,
                             reduction="mean", label_smoothing=0.0, z_loss=0.0):
        return self._ce(self.linear(x, weight, bias), target, class_weight, ignore_index, reduction, label_smoothing,
                        z_loss)

    def linear_cross_entropy_grad(self, x, weight, target, bias=None, *, grad_output=1.0, **options):
        """(dx, dweight, dbias) by autograd through linear_cross_entropy."""
        torch, _ = _torch()
        leaves = [t.detach().requires_grad_() for t in (x, weight) + ((bias,) if bias is not None else ())]
        loss = self.linear_cross_entropy(*leaves[:2], target, leaves[2] if bias is not None else None, **options)
        g = torch.as_tensor(grad_output, dtype=loss.dtype, device=loss.device).expand_as(loss)
        grads = torch.autograd.grad(loss, leaves, g)
        return grads[0], grads[1], grads[2] if bias is not None else None

    @staticmethod
    def _grads(y, leaves, grad_y):
        """∂/∂leaves of y weighted by grad_y; zeros where y does not depend on a leaf (step)."""
        torch, _ = _torch()
        grads = torch.autograd.grad(y, leaves, grad_y, allow_unused=True) if y.requires_grad else [None] * len(leaves)
        return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, leaves)]

    def _mlp(self, x, layers, activations):
        _, F = _torch()
        y = x
        for (w, b), name in zip(layers, activations):
            y = self._act(name, F.linear(y, w, b), {})
        return y

    def mlp_forward(self, x, layers, activations):
        return self._mlp(x, layers, activations)

    def mlp_backward(self, x, layers, activations, grad_output):
        torch, _ = _torch()
        x = x.detach().requires_grad_()
        layers = [(w.detach().requires_grad_(), b.detach().requires_grad_()) for w, b in layers]
        y = self._mlp(x, layers, activations)
        grads = self._grads(y, [x] + [t for layer in layers for t in layer], grad_output)
        return grads[0], [(grads[1 + 2 * i], grads[2 + 2 * i]) for i in range(len(layers))]

    # ---------------------------------------------------------------- optimizers
    # reference.optimizers state names -> torch.optim state names
    _STATE = {"m": "exp_avg", "v": "exp_avg_sq", "v_max": "max_exp_avg_sq"}

    def optimizer_step(self, name, options, params, grads, state):
        torch, _ = _torch()
        o = dict(options)
        t = state["step"]
        lr = o.pop("lr") / (1.0 + o.pop("decay", 0.0) * t)  # LambdaLR(lambda t: 1 / (1 + decay t))
        decoupled = o.pop("decoupled_weight_decay", name == "adamw")
        if o.pop("momentum_form", "lr_outside") != "lr_outside" and o.get("momentum"):
            raise NotImplementedError("torch.optim has only the lr_outside momentum form")
        if o.pop("eps_placement", None) not in (None, "outside_sqrt", "after_bias_correction"):
            raise NotImplementedError("torch.optim adds eps outside the root, after the bias correction")
        if name in ("adam", "adamw"):
            cls = torch.optim.AdamW if decoupled else torch.optim.Adam
            o.setdefault("weight_decay", 0.01 if name == "adamw" else 0.0)
        elif decoupled and o.get("weight_decay"):
            raise NotImplementedError(f"torch.optim's {name} has no decoupled weight decay")
        else:
            cls = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[name]
        p = params.detach().clone()
        p.grad = grads.detach().clone()
        opt = cls([p], lr=lr, **o)
        if t:
            torch_state = {self._STATE.get(k, k): v.detach().clone() for k, v in state.items() if k != "step"}
            if name != "sgd":
                torch_state["step"] = torch.tensor(float(t))
            opt.state[p] = torch_state
        opt.step()
        inverse = {v: k for k, v in self._STATE.items()}
        new = {inverse.get(k, k): v for k, v in opt.state[p].items() if k != "step" and v is not None}
        return p, {"step": t + 1, **new}


class Torch16Backend(TorchBackend):
    """Eager torch in bfloat16 and float16: the baseline the ecosystem table sets beside each peer's
    16-bit results, so that a bound eager torch fails too is seen as the bound's strictness."""

    name = "torch16"
    dtypes = ("bfloat16", "float16")
