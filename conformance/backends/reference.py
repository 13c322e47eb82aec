"""The ``reference`` backend: the float64 oracle (the ``reference`` package) behind the protocol.

It is also what the suite calls for every expected value, so running the suite on it checks the
suite's own plumbing (case generation, the list protocol, comparisons, reports) and that the
oracle is deterministic and leaves its inputs untouched: every worst error must be 0.
"""
from __future__ import annotations

import math

from reference import activations, losses, mlp, optimizers
from reference import linear as layer

from . import Backend


def _finite(x, allow_inf: bool = False):
    """Decline NaN (and +inf unless ``allow_inf``): the oracle takes finite numbers, -inf logits and
    ±inf activation arguments; the suite's rules for special values are torch's (operations.py)."""
    flat = [v for row in x for v in row] if x and isinstance(x[0], list) else x
    if any(math.isnan(v) or (math.isinf(v) and not allow_inf and v > 0) for v in flat):
        raise NotImplementedError("the oracle takes no NaN or +inf; conformance applies torch's rule")
    return x


class ReferenceBackend(Backend):
    """Every operation of the protocol, as the reference package computes it (nested lists)."""

    name = "reference"
    array_type = "list"
    dtypes = ("float64",)

    def activation(self, name, x, **params):
        f = activations.get_activation(name).f
        return [f(v, **params) for v in _finite(x, allow_inf=True)]

    def activation_grad(self, name, x, **params):
        df = activations.get_activation(name).df
        return [df(v, **params) for v in x]

    def softmax(self, x):
        return [activations.softmax(row) for row in _finite(x)]

    def log_softmax(self, x):
        return [activations.log_softmax(row) for row in _finite(x)]

    cross_entropy = staticmethod(losses.cross_entropy)
    cross_entropy_grad = staticmethod(losses.cross_entropy_grad)
    mse = staticmethod(losses.mse)
    mse_grad = staticmethod(losses.mse_grad)
    squared_error = staticmethod(losses.squared_error)
    squared_error_grad = staticmethod(losses.squared_error_grad)
    binary_cross_entropy = staticmethod(losses.binary_cross_entropy)
    binary_cross_entropy_grad = staticmethod(losses.binary_cross_entropy_grad)
    categorical_cross_entropy = staticmethod(losses.categorical_cross_entropy)
    categorical_cross_entropy_grad = staticmethod(losses.categorical_cross_entropy_grad)
    @staticmethod
    def linear(x, weight, bias=None):
        return layer.linear(_finite(x), weight, bias)

    @staticmethod
    def linear_act(x, weight, bias=None, activation="relu", **params):
        return layer.linear_act(_finite(x), weight, bias, activation, **params)

    linear_act_backward = staticmethod(layer.linear_act_backward)

    @staticmethod
    def linear_cross_entropy(x, weight, target, bias=None, *, class_weight=None, **options):
        """cross_entropy(x W^T + b): the composition is the oracle of the fused operation."""
        return losses.cross_entropy(layer.linear(x, weight, bias), target, weight=class_weight, **options)

    @staticmethod
    def linear_cross_entropy_grad(x, weight, target, bias=None, *, class_weight=None, **options):
        """(dx, dweight, dbias): ∂loss/∂logits through the identity layer's backward."""
        g = losses.cross_entropy_grad(layer.linear(x, weight, bias), target, weight=class_weight, **options)
        return layer.linear_act_backward(x, weight, bias, "identity", g)

    def mlp_forward(self, x, layers, activations):
        net = mlp.MLP.from_weights([w for w, _ in layers], [b for _, b in layers], list(activations))
        return net.forward_batch(x).output

    def mlp_backward(self, x, layers, activations, grad_output):
        net = mlp.MLP.from_weights([w for w, _ in layers], [b for _, b in layers], list(activations))
        grads, dx = net.backward(net.forward_batch(x), grad_output, input_grad=True)
        # MLP keeps the bias as column 0 of each weight row.
        return dx, [([row[1:] for row in layer], [row[0] for row in layer]) for layer in grads]

    def optimizer_step(self, name, options, params, grads, state):
        options = dict(options)
        opt = optimizers.make_optimizer(name, options.pop("lr"), **options)
        t = state["step"]
        opt.t = t  # the learning-rate schedule's step count
        params = [list(row) for row in params]
        buffers = {k: v for k, v in state.items() if k != "step"}
        if t:
            for i in range(len(params)):
                row_state = {k: list(v[i]) for k, v in buffers.items()}
                if name in ("adam", "adamw"):
                    row_state["step"] = t
                opt.state[i] = row_state
        opt.step(params, [list(row) for row in grads])
        names = [k for k in opt.state.get(0, {}) if k != "step"]
        return params, {"step": t + 1, **{k: [opt.state[i][k] for i in range(len(params))] for k in names}}
