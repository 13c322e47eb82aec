"""Multilayer perceptron (MLP): the forward pass and back-propagation, in the course's notation.

(Reading it for the first time? ``reference/core.py`` is the same mathematics in ~60 lines, for one
example and without checks or fast paths; this module adds batches, dropout and validation.)

The file reads top to bottom: the mathematics of one layer (:func:`layer_forward`,
:func:`layer_backward`), then :class:`MLP`, whose forward pass and back-propagation chain them
through the layers; construction, weights in and out, and the input checks come last.

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


# ------------------------------------------------------------------------ the mathematics of one layer
def layer_forward(layer, sigma, ys):
    """One layer for a batch of B examples: the inner potentials ξ and the outputs y.

        ξ_j = Σ_{i=0}^{K} w_ji y_i        (y_0 = 1, so w_j0 is the bias; one correctly rounded sum)
        y_j = σ(ξ_j)

    ``layer``: N rows [w_j0, w_j1, ..., w_jK]; ``sigma``: σ; ``ys``: B rows [1, y_1, ..., y_K] of
    the layer's inputs. Returns (ξ, y), B rows of N each.

    >>> layer_forward([[0.5, 1.0, -1.0]], lambda xi: 2 * xi, [[1.0, 2.0, 1.0]])  # ξ = 0.5 + 2 - 1
    ([[1.5]], [[3.0]])
    """
    xi = [[_fsum(map(mul, w, y)) for w in layer] for y in ys]
    return xi, [[sigma(v) for v in row] for row in xi]


def layer_backward(layer, d_sigma, ys, xi, dE_dy, *, carry: bool = True):
    """Back-propagation through one layer for a batch of B examples.

        δ_j      = ∂E/∂ξ_j = ∂E/∂y_j · σ'(ξ_j)
        ∂E/∂w_ji = Σ_examples δ_j y_i     (y_0 = 1: ∂E/∂w_j0 = Σ_examples δ_j)
        ∂E/∂y_i  = Σ_j δ_j w_ji           (i = 1, ..., K: the error carried to the layer's inputs)

    ``d_sigma``: σ'; ``ys`` and ``xi``: the layer's inputs [1, y_1, ..., y_K] and potentials from
    :func:`layer_forward`; ``dE_dy``: B rows of ∂E/∂y of its N outputs. Returns (∂E/∂w shaped like
    ``layer``, ∂E/∂y of the inputs [B][K]; None with ``carry=False``, for a first layer, whose
    inputs are the data).

    >>> layer_backward([[0.5, 1.0, -1.0]], lambda xi: 2.0, [[1.0, 2.0, 1.0]], [[1.5]], [[1.0]])  # δ = 1 · 2
    ([[2.0, 4.0, 2.0]], [[2.0, -2.0]])
    """
    delta = [[g * d_sigma(v) for g, v in zip(g_row, xi_row)] for g_row, xi_row in zip(dE_dy, xi)]
    y_cols = list(zip(*ys))  # each sum over the batch is a dot product of a δ column and a y column
    grad = [[_fsum(map(mul, d_col, y_col)) for y_col in y_cols] for d_col in zip(*delta)]
    if not carry:
        return grad, None
    w_cols = list(zip(*layer))[1:]  # the columns i >= 1: y_0 = 1 has no input to carry the error to
    return grad, [[_fsum(map(mul, d_row, w_col)) for w_col in w_cols] for d_row in delta]


# ------------------------------------------------------------------------ the network
class Trace(NamedTuple):
    """What the forward pass of a batch of B examples keeps for back-propagation."""

    inputs: list      # per layer: B rows [1, y_1, ..., y_K] (the layer's inputs, y_0 = 1 first)
    potentials: list  # per layer: B rows of inner potentials ξ
    masks: list       # per layer: B rows of dropout factors, or None (no dropout)
    output: list      # B rows of network outputs


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

    def forward(self, x) -> list[float]:
        """The outputs y of the last layer for one input vector x."""
        return self.forward_batch([check_vector(x, "x", length=self.sizes[0])]).output[0]

    def forward_batch(self, X, *, dropout: float = 0.0, seed=0) -> Trace:
        """The forward pass of a batch X [B][n_0], layer after layer (:func:`layer_forward`);
        returns the :class:`Trace` back-propagation needs.

        ``dropout`` p > 0 applies inverted dropout (see ``reference.regularization``) to the
        outputs of every hidden layer, y ← m y, with masks m drawn from ``seed`` (an int or a
        random.Random).
        """
        return self._forward(_check_batch(X, self.sizes[0]), dropout, seed)

    def _forward(self, X, dropout: float = 0.0, seed=0) -> Trace:
        """:meth:`forward_batch` without input validation (for the training loop's validated data)."""
        rng = rng_from(seed) if dropout else None
        inputs, potentials, masks = [], [], []
        ys = [[1.0, *x] for x in X]  # y_0 = 1 before the inputs
        for l, layer in enumerate(self.layers):
            xi, out = layer_forward(layer, self._f[l], ys)
            mask = None
            if dropout and l < len(self.layers) - 1:
                mask = [dropout_mask(len(row), dropout, rng) for row in out]
                out = _times(out, mask)
            inputs.append(ys)
            potentials.append(xi)
            masks.append(mask)
            ys = [[1.0, *row] for row in out]
        return Trace(inputs, potentials, masks, out)

    def backward(self, trace: Trace, grad_output, *, input_grad: bool = False):
        """Back-propagate ∂E/∂y of the outputs (``grad_output`` [B][n_L]) through ``trace``, from
        the last layer to the first (:func:`layer_backward`); through dropout, ∂E/∂y ← m ∂E/∂y.

        Returns the gradient ∂E/∂w_ji of every weight, shaped like :attr:`layers` (bias first),
        summed over the batch; with ``input_grad=True`` also ∂E/∂x [B][n_0].
        """
        _check_grad_output(grad_output, len(trace.output), self.sizes[-1])
        grads = [None] * len(self.layers)
        dE_dy = grad_output
        for l in reversed(range(len(self.layers))):
            grads[l], dE_dy = layer_backward(self.layers[l], self._df[l], trace.inputs[l], trace.potentials[l],
                                             dE_dy, carry=l > 0 or input_grad)
            if l and trace.masks[l - 1] is not None:
                dE_dy = _times(dE_dy, trace.masks[l - 1])
        return (grads, dE_dy) if input_grad else grads

    # -------------------------------------------------------------------- construction, weights in and out
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
        # σ and σ' of each layer with its parameters bound once: the inner loops call them B·n times.
        self._f = [functools.partial(a.f, **p) if p else a.f for a, p in zip(acts, params)]
        self._df = [functools.partial(a.df, **p) if p else a.df for a, p in zip(acts, params)]

    @classmethod
    def from_weights(cls, weights, biases, activations="sigmoid", activation_params=None) -> "MLP":
        """An MLP with the given weights in nn.Linear layout: ``weights[l]`` is layer l's [N][K]
        matrix (row j: the weights of neuron j), ``biases[l]`` its N biases (copied)."""
        net = cls.__new__(cls)
        net.sizes, net.layers = _check_weights(weights, biases)
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


def rows(layers) -> list:
    """The rows of a per-layer list of matrices, in order: the unit an optimizer steps over.

    >>> rows([[[1.0, 2.0]], [[3.0], [4.0]]])
    [[1.0, 2.0], [3.0], [4.0]]
    """
    return [row for layer in layers for row in layer]


def _times(a, b) -> list:
    """The entrywise product of two matrices (a dropout mask applied forward or backward)."""
    return [[x * y for x, y in zip(a_row, b_row)] for a_row, b_row in zip(a, b)]


# ------------------------------------------------------------------------ input checks
def _check_batch(X, n_inputs: int) -> list:
    X = check_matrix(X, "X", cols=n_inputs)
    if not X:
        raise ValueError("X must hold at least one example")
    return X


def _check_grad_output(grad_output, batch: int, n_out: int) -> None:
    if len(grad_output) != batch or any(len(g) != n_out for g in grad_output):
        raise ValueError(f"grad_output must have the shape of the outputs, {batch} rows of {n_out}")


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


def _check_weights(weights, biases):
    """(layer sizes, layers with the bias first) from nn.Linear-layout ``weights`` and ``biases``."""
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) == 0:
        raise ValueError("weights must be a non-empty list of per-layer [N][K] matrices")
    if not hasattr(biases, "__len__") or len(biases) != len(weights):
        raise ValueError(f"biases must hold one vector per layer ({len(weights)})")
    sizes, layers = [], []
    for l, (w, b) in enumerate(zip(weights, biases)):
        w = check_matrix(w, f"weights[{l}]", cols=sizes[-1] if sizes else None)
        if not w or not w[0]:
            raise ValueError(f"weights[{l}] must be a non-empty [N][K] matrix")
        b = check_vector(b, f"biases[{l}]", length=len(w))
        if not sizes:
            sizes.append(len(w[0]))
        sizes.append(len(w))
        layers.append([[bj, *wj] for wj, bj in zip(w, b)])
    return sizes, layers
