"""A first read: a multilayer perceptron that trains, in ~60 lines (forward, loss, backward, update).

No validation, no fast paths, no batches: one example at a time, the course's notation, nothing else.
``reference.mlp`` computes exactly these gradients (tested equal), plus batches, dropout and checks.

    one neuron j of layer l (scalars)                 layer l at once (matrices; ⊙ elementwise)
    ξ_j = w_j0 + Σ_i w_ji y_i                         ξˡ = Wˡ yˡ⁻¹ + bˡ         (y⁰ = x)
    y_j = σ(ξ_j)                                      yˡ = σ(ξˡ)
    δ_j = ∂E/∂y_j · σ'(ξ_j)   (output layer L)        δᴸ = ∇_y E ⊙ σ'(ξᴸ)
    δ_i = (Σ_j δ_j w_ji) · σ'(ξ_i)   (one layer down)  δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ σ'(ξˡ)
    ∂E/∂w_ji = δ_j y_i,  ∂E/∂w_j0 = δ_j                ∂E/∂Wˡ = δˡ (yˡ⁻¹)ᵀ,  ∂E/∂bˡ = δˡ
    w_ji ← w_ji - η ∂E/∂w_ji                          Wˡ ← Wˡ - η ∂E/∂Wˡ

Row j of Wˡ holds neuron j's weights w_ji, so (Wˡ⁺¹)ᵀ δˡ⁺¹ is the sum Σ_j δ_j w_ji of the scalar
column, and δˡ (yˡ⁻¹)ᵀ (an outer product) is the table of all δ_j y_i. Here E = ½ Σ_j (y_j - d_j)²
for one example with desired output d, so ∇_y E = y - d.

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
>>> xor = [([0, 0], [0]), ([0, 1], [1]), ([1, 0], [1]), ([1, 1], [0])]
>>> curve = train(layers, [sig, sig], xor, eta=1.0, epochs=2000)
>>> round(curve[0], 3), curve[-1] < 0.001                     # mean E per epoch: XOR learnt
(0.141, True)
>>> [round(forward(layers, [sig, sig], x)[0][-1][0]) for x, _ in xor]
[0, 1, 1, 0]
"""


def forward(layers, sigmas, x):
    """Outputs y of every layer (ys[0] = x) and the potentials ξ of every layer of neurons."""
    ys, xis = [list(x)], []
    for layer, (sigma, _) in zip(layers, sigmas):
        xi = [w[0] + sum(wi * yi for wi, yi in zip(w[1:], ys[-1])) for w in layer]
        xis.append(xi)
        ys.append([sigma(v) for v in xi])
    return ys, xis


def loss(y, d):
    """E = ½ Σ_j (y_j - d_j)² and its gradient ∂E/∂y_j = y_j - d_j."""
    return 0.5 * sum((a - b) ** 2 for a, b in zip(y, d)), [a - b for a, b in zip(y, d)]


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


def update(layers, grads, eta):
    """One step of gradient descent, in place: w ← w - η ∂E/∂w."""
    for layer, grad in zip(layers, grads):
        for row, g_row in zip(layer, grad):
            row[:] = [w - eta * g for w, g in zip(row, g_row)]


def train(layers, sigmas, data, eta, epochs):
    """Online gradient descent over ``data`` [(x, d), ...] for ``epochs`` passes, in place;
    returns the mean E of each epoch (measured while it trains)."""
    curve = []
    for _ in range(epochs):
        total = 0.0
        for x, d in data:
            ys, xis = forward(layers, sigmas, x)
            E, dE_dy = loss(ys[-1], d)
            update(layers, backward(layers, sigmas, ys, xis, dE_dy), eta)
            total += E
        curve.append(total / len(data))
    return curve
