"""Multilayer perceptron (MLP): the forward pass and back-propagation, in the course's notation.

(Reading it for the first time? ``reference/core.py`` is the same mathematics in ~60 lines, for one
example and without checks or fast paths; this module adds batches, dropout and validation.)

A network with layer sizes n_0 (the inputs), n_1, ..., n_L (the outputs) has L layers of
neurons. Neuron j of layer l has a weight w_ji from every neuron i of layer l-1 and a bias w_j0,
the weight of the constant input y_0 = 1:

    ξ_j = Σ_{i=0}^{n_{l-1}} w_ji y_i        the inner potential (y_0 = 1),
    y_j = σ_l(ξ_j)                          the output, σ_l the activation of layer l.

``MLP.layers[l][j]`` is the row [w_j0, w_j1, ..., w_jK] of neuron j of layer l+1 (bias first,
K = n_l inputs). Every ξ_j is one correctly rounded sum, so it equals
``reference.linear.linear`` of the same layer bit for bit.

Back-propagation is the chain rule applied from the outputs backwards. Given ∂E/∂y_j for the
output neurons (from the loss E):

    δ_j      = ∂E/∂ξ_j = ∂E/∂y_j · σ'(ξ_j)
    ∂E/∂y_i  = Σ_j δ_j w_ji          (j over the neurons fed by i: this carries E one layer back)
    ∂E/∂w_ji = δ_j y_i               (so ∂E/∂w_j0 = δ_j)

For a batch of examples E is the reduced loss (a mean over the batch, say), ∂E/∂y of each
example already carries that factor, and the gradients of the examples add up; each such sum is
correctly rounded (``math.fsum``).

A 3-3-2-1 network has (3+1)·3 + (3+1)·2 + (2+1)·1 = 23 parameters:

>>> MLP([3, 3, 2, 1], "sigmoid", seed=0).n_parameters
23

A one-neuron example by hand, y = ξ = 0.5 + 1·x_1 - 1·x_2:

>>> net = MLP.from_weights([[[1.0, -1.0]]], [[0.5]], "identity")
>>> net.forward([2.0, 1.0])
[1.5]
>>> trace = net.forward_batch([[2.0, 1.0]])
>>> net.backward(trace, [[1.0]])  # ∂y/∂w_ji = y_i with y_0 = 1
[[[1.0, 2.0, 1.0]]]
"""
from __future__ import annotations

import copy
import functools
import math
from numbers import Integral
from operator import mul
from typing import NamedTuple

from .activations import get_activation
from .initialization import init_layer, rng_from
from .regularization import dropout_mask
from .vector import check_matrix, check_vector

_fsum = math.fsum


class Trace(NamedTuple):
    """What the forward pass of a batch of B examples keeps for back-propagation."""

    inputs: list      # per layer: B rows [1, y_1, ..., y_K] (the layer's inputs, y_0 = 1 first)
    potentials: list  # per layer: B rows of inner potentials ξ
    masks: list       # per layer: B rows of dropout factors, or None (no dropout)
    output: list      # B rows of network outputs


def rows(layers) -> list:
    """The rows of a per-layer list of matrices, in order: the unit an optimizer steps over.

    >>> rows([[[1.0, 2.0]], [[3.0], [4.0]]])
    [[1.0, 2.0], [3.0], [4.0]]
    """
    return [row for layer in layers for row in layer]


def _check_sizes(layer_sizes) -> list[int]:
    if isinstance(layer_sizes, (str, bytes)) or not hasattr(layer_sizes, "__len__"):
        raise TypeError(f"layer_sizes must be a list of ints, got {type(layer_sizes).__name__}")
    if len(layer_sizes) < 2:
        raise ValueError(
            "an MLP needs at least one layer: layer_sizes must list the number of inputs and then the "
            f"size of each layer (e.g. [2, 4, 1]), got {list(layer_sizes)}"
        )
    for i, n in enumerate(layer_sizes):
        if isinstance(n, bool) or not isinstance(n, Integral):
            raise TypeError(f"layer_sizes[{i}] must be an int, got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"layer_sizes[{i}] must be >= 1, got {n}")
    return [int(n) for n in layer_sizes]


def _check_activations(activations, activation_params, n_layers: int):
    if isinstance(activations, str) or not hasattr(activations, "__len__"):
        names = [activations] * n_layers
    else:
        names = list(activations)
        if len(names) != n_layers:
            raise ValueError(f"activations must name one activation per layer ({n_layers}), got {len(names)}")
    acts = [get_activation(name) for name in names]
    if activation_params is None:
        params = [{}] * n_layers
    elif isinstance(activation_params, dict):
        params = [activation_params] * n_layers
    else:
        params = list(activation_params)
        if len(params) != n_layers or not all(isinstance(p, dict) for p in params):
            raise ValueError(f"activation_params must be a dict or a list of {n_layers} dicts (one per layer)")
    for act, p in zip(acts, params):
        if p:
            act.f(0.0, **p)  # rejects an unknown or non-finite parameter now, not mid-training
    return acts, [dict(p) for p in params]


class MLP:
    """A multilayer perceptron with an activation per layer.

    ``layer_sizes`` [n_0, n_1, ..., n_L]: n_0 inputs, then the number of neurons of each layer.
    ``activations``: one name for every layer, or a list of L names (see
    ``reference.activations``); e.g. ["relu", "identity"] for a classifier whose outputs are logits.
    ``activation_params``: parameters of the activations (e.g. {"lam": 2.0} for the sigmoid's
    steepness), one dict for all layers or a list of L dicts.
    ``init``: a scheme of ``reference.initialization`` ("glorot_uniform", "he_uniform", ...);
    ``seed`` makes the initial weights reproducible (layer l draws after layer l-1).
    """

    def __init__(self, layer_sizes, activations="sigmoid", *, init: str = "glorot_uniform", seed=0,
                 activation_params=None):
        self.sizes = _check_sizes(layer_sizes)
        self._set_activations(activations, activation_params)
        rng = rng_from(seed)
        self.layers = []
        for fan_in, fan_out in zip(self.sizes, self.sizes[1:]):
            weight, bias = init_layer(fan_out, fan_in, init, rng)
            self.layers.append([[b, *w] for w, b in zip(weight, bias)])

    def _set_activations(self, activations, activation_params) -> None:
        acts, params = _check_activations(activations, activation_params, len(self.sizes) - 1)
        self.activations = [a.name for a in acts]
        self.activation_params = params
        # Bound once: the inner loops call them B·n times per layer.
        self._f = [functools.partial(a.f, **p) if p else a.f for a, p in zip(acts, params)]
        self._df = [functools.partial(a.df, **p) if p else a.df for a, p in zip(acts, params)]

    @classmethod
    def from_weights(cls, weights, biases, activations="sigmoid", activation_params=None) -> "MLP":
        """An MLP with the given weights in nn.Linear layout: ``weights[l]`` is layer l's [N][K]
        matrix (row j: the weights of neuron j), ``biases[l]`` its N biases (copied)."""
        if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) == 0:
            raise ValueError("weights must be a non-empty list of per-layer [N][K] matrices")
        if not hasattr(biases, "__len__") or len(biases) != len(weights):
            raise ValueError(f"biases must hold one vector per layer ({len(weights)})")
        net = cls.__new__(cls)
        sizes = []
        layers = []
        for l, (w, b) in enumerate(zip(weights, biases)):
            w = check_matrix(w, f"weights[{l}]", cols=sizes[-1] if sizes else None)
            if not w or not w[0]:
                raise ValueError(f"weights[{l}] must be a non-empty [N][K] matrix")
            b = check_vector(b, f"biases[{l}]", length=len(w))
            if not sizes:
                sizes.append(len(w[0]))
            sizes.append(len(w))
            layers.append([[bj, *wj] for wj, bj in zip(w, b)])
        net.sizes = sizes
        net.layers = layers
        net._set_activations(activations, activation_params)
        return net

    def linear_layers(self):
        """(weights, biases): copies of every layer in nn.Linear layout ([N][K] and [N])."""
        return [[row[1:] for row in layer] for layer in self.layers], [[row[0] for row in layer] for layer in self.layers]

    def __repr__(self) -> str:
        return f"MLP({'-'.join(map(str, self.sizes))}, activations={self.activations})"

    @property
    def n_parameters(self) -> int:
        """Number of weights and biases: Σ_l (n_{l-1} + 1) n_l."""
        return sum((k + 1) * n for k, n in zip(self.sizes, self.sizes[1:]))

    def parameters(self) -> list:
        """The weight rows themselves (not copies), in the order of :meth:`backward`'s gradients
        flattened with :func:`rows`: what an optimizer updates in place."""
        return rows(self.layers)

    def copy_weights(self) -> list:
        """A deep copy of :attr:`layers` (a snapshot, e.g. of the best epoch)."""
        return copy.deepcopy(self.layers)

    def load_weights(self, layers) -> None:
        """Overwrite the weights, in place, with ``layers`` shaped like :attr:`layers`."""
        if len(layers) != len(self.layers):
            raise ValueError(f"layers must hold {len(self.layers)} layers, got {len(layers)}")
        for l, (mine, new) in enumerate(zip(self.layers, layers)):
            new = check_matrix(new, f"layers[{l}]", rows=len(mine), cols=len(mine[0]))
            for row, new_row in zip(mine, new):
                row[:] = new_row

    # ---------------------------------------------------------------- forward
    def forward(self, x) -> list[float]:
        """The outputs y of the last layer for one input vector x."""
        return self.forward_batch([check_vector(x, "x", length=self.sizes[0])]).output[0]

    def forward_batch(self, X, *, dropout: float = 0.0, seed=0) -> Trace:
        """The forward pass of a batch X [B][n_0]; returns the :class:`Trace` back-propagation needs.

        ``dropout`` p > 0 applies inverted dropout (see ``reference.regularization``) to the
        outputs of every hidden layer, with masks drawn from ``seed`` (an int or a random.Random).
        """
        X = check_matrix(X, "X", cols=self.sizes[0])
        if not X:
            raise ValueError("X must hold at least one example")
        return self._forward(X, dropout, seed)

    def _forward(self, X, dropout: float = 0.0, seed=0) -> Trace:
        """:meth:`forward_batch` without input validation (for the training loop's validated data)."""
        rng = rng_from(seed) if dropout else None
        ys = [[1.0, *x] for x in X]
        inputs, potentials, masks = [], [], []
        last = len(self.layers) - 1
        for l, layer in enumerate(self.layers):
            xi = [[_fsum(map(mul, w, y)) for w in layer] for y in ys]
            if self.activations[l] == "identity":
                out = [row[:] for row in xi]
            else:
                f = self._f[l]
                out = [[f(v) for v in row] for row in xi]
            mask = None
            if dropout and l < last:
                mask = [dropout_mask(len(row), dropout, rng) for row in out]
                out = [[v * m for v, m in zip(row, mrow)] for row, mrow in zip(out, mask)]
            inputs.append(ys)
            potentials.append(xi)
            masks.append(mask)
            ys = [[1.0, *row] for row in out]
        return Trace(inputs, potentials, masks, out)

    # ---------------------------------------------------------------- backward
    def backward(self, trace: Trace, grad_output, *, input_grad: bool = False):
        """Back-propagate ∂E/∂y of the outputs (``grad_output`` [B][n_L]) through ``trace``.

        Returns the gradient ∂E/∂w_ji of every weight, shaped like :attr:`layers` (bias first),
        summed over the batch; with ``input_grad=True`` also ∂E/∂x [B][n_0].
        """
        n_out = self.sizes[-1]
        if len(grad_output) != len(trace.output) or any(len(g) != n_out for g in grad_output):
            raise ValueError(
                f"grad_output must have the shape of the outputs, {len(trace.output)} rows of {n_out}"
            )
        grads = [None] * len(self.layers)
        g = grad_output  # ∂E/∂y of the current layer's outputs
        for l in range(len(self.layers) - 1, -1, -1):
            if self.activations[l] == "identity":
                delta = g
            else:
                df = self._df[l]
                delta = [[gi * df(v) for gi, v in zip(grow, xrow)] for grow, xrow in zip(g, trace.potentials[l])]
            # ∂E/∂w_ji = Σ_examples δ_j y_i: a dot product over the batch for every (j, i).
            delta_cols = list(zip(*delta))
            y_cols = list(zip(*trace.inputs[l]))
            grads[l] = [[_fsum(map(mul, dcol, ycol)) for ycol in y_cols] for dcol in delta_cols]
            if l == 0 and not input_grad:
                break
            # ∂E/∂y_i = Σ_j δ_j w_ji over the columns i >= 1 of the weights (y_0 = 1 has no input).
            w_cols = list(zip(*self.layers[l]))[1:]
            g = [[_fsum(map(mul, drow, wcol)) for wcol in w_cols] for drow in delta]
            if l and trace.masks[l - 1] is not None:
                g = [[gi * mi for gi, mi in zip(grow, mrow)] for grow, mrow in zip(g, trace.masks[l - 1])]
        return (grads, g) if input_grad else grads
