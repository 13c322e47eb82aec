"""A first read: the multilayer perceptron's forward pass and back-propagation in ~60 lines.

No validation, no fast paths, no batches: one example, the course's notation, nothing else.
``reference.mlp`` computes exactly this (tested equal), plus batches, dropout and input checks.

    ξ_j = w_j0 + Σ_i w_ji y_i         inner potential of neuron j (y_i: the outputs of the layer below)
    y_j = σ(ξ_j)                      its output
    δ_j = ∂E/∂ξ_j = ∂E/∂y_j · σ'(ξ_j)
    ∂E/∂y_i = Σ_j δ_j w_ji            the error carried one layer down
    ∂E/∂w_ji = δ_j y_i                (∂E/∂w_j0 = δ_j)

``layers[l][j]`` is neuron j's row [w_j0, w_j1, ..., w_jK] in layer l; ``sigmas[l]`` that layer's
(σ, σ') pair.

>>> import math
>>> sig = (lambda z: 1 / (1 + math.exp(-z)), lambda z: math.exp(-z) / (1 + math.exp(-z)) ** 2)
>>> layers = [[[0.1, 0.4, -0.2], [-0.3, 0.2, 0.6]], [[0.2, 0.7, -0.5]]]
>>> ys, xis = forward(layers, [sig, sig], [0.5, -1.0])
>>> round(ys[-1][0], 4)
0.6179
>>> grads = backward(layers, [sig, sig], ys, xis, [ys[-1][0] - 1.0])  # E = ½ (y - 1)²
>>> round(grads[1][0][0], 6)  # δ of the output neuron
-0.090209
"""


def forward(layers, sigmas, x):
    """Outputs y of every layer (ys[0] = x) and the potentials ξ of every layer of neurons."""
    ys, xis = [list(x)], []
    for layer, (sigma, _) in zip(layers, sigmas):
        xi = [w[0] + sum(wi * yi for wi, yi in zip(w[1:], ys[-1])) for w in layer]
        xis.append(xi)
        ys.append([sigma(v) for v in xi])
    return ys, xis


def backward(layers, sigmas, ys, xis, dE_dy):
    """∂E/∂w for every weight, shaped like ``layers``, from ∂E/∂y of the network's outputs."""
    grads = [None] * len(layers)
    for l in reversed(range(len(layers))):
        d_sigma = sigmas[l][1]
        delta = [g * d_sigma(v) for g, v in zip(dE_dy, xis[l])]          # δ_j
        below = ys[l]                                                    # the y_i feeding layer l
        grads[l] = [[d] + [d * yi for yi in below] for d in delta]       # δ_j · (1, y_1, ..., y_K)
        dE_dy = [sum(delta[j] * layers[l][j][i + 1] for j in range(len(delta)))
                 for i in range(len(below))]                             # Σ_j δ_j w_ji
    return grads
