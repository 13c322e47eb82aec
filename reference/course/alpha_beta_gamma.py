# %% [markdown]
# # The 3-3-2-1 network in α/β/γ notation
#
# The "Introduction" deck writes a network with 3 inputs x1..x3, a first hidden layer of 3 neurons
# (activation g), a second of 2 (activation h) and one output (activation m) with three weight
# matrices that include the biases in row 0:
#
# * α, 4 × 3: α_{0,k} the bias and α_{l,k} the weight from input l to neuron k of layer 1;
# * β, 4 × 2: β_{0,j} the bias and β_{k,j} the weight from neuron k of layer 1 to neuron j of layer 2;
# * γ, 3 × 1: γ_0 the bias and γ_j the weight from neuron j of layer 2 to the output;
#
# 12 + 8 + 3 = 23 parameters, and
#
#     ŷ = m[γ_0 + Σ_j γ_j h[β_{0,j} + Σ_k β_{k,j} g[α_{0,k} + Σ_l α_{l,k} x_l]]].
#
# (One slide writes the second layer as h[β_{0,j} + Σ_l β_{l,k} n_{1,j}]: the sum runs over k
# and reads β_{k,j} n_{1,k}, as in the nested formula.) In the reference's notation neuron k of
# layer 1 has the weight row [w_k0, w_k1, w_k2, w_k3] = column k of α: the matrices are the
# transposes of the rows `reference.mlp.MLP.layers` keeps.

# %%
import math
import random

from reference.activations import get_activation
from reference.mlp import MLP

rng = random.Random(0)
alpha = [[rng.uniform(-1, 1) for k in range(3)] for l in range(4)]
beta = [[rng.uniform(-1, 1) for j in range(2)] for k in range(4)]
gamma = [[rng.uniform(-1, 1)] for j in range(3)]
g, h, m = (get_activation(n).f for n in ("tanh", "sigmoid", "identity"))
n_parameters = sum(len(M) * len(M[0]) for M in (alpha, beta, gamma))
print("parameters:", n_parameters)


def y_hat(x):
    """The slide's nested formula, term by term."""
    n1 = [g(alpha[0][k] + sum(alpha[l][k] * x[l - 1] for l in (1, 2, 3))) for k in range(3)]
    n2 = [h(beta[0][j] + sum(beta[k][j] * n1[k - 1] for k in (1, 2, 3))) for j in range(2)]
    return m(gamma[0][0] + sum(gamma[j][0] * n2[j - 1] for j in (1, 2)))


# %%
columns = lambda M: [list(col) for col in zip(*M)]  # noqa: E731  row j of the layer = column j
net = MLP([3, 3, 2, 1], ["tanh", "sigmoid", "identity"])
net.load_weights([columns(alpha), columns(beta), columns(gamma)])
print("MLP:", net, " parameters:", net.n_parameters)
xs = [[1.0, 2.0, 3.0], [-0.5, 0.0, 0.25], [10.0, -3.0, 0.5]]
max_difference = 0.0
for x in xs:
    a, b = y_hat(x), net.forward(x)[0]
    max_difference = max(max_difference, abs(a - b))
    print(f"x = {x}: formula {a:.12f}, forward pass {b:.12f}")

# %% [markdown]
# The deck's loss for one example is l(α, β, γ; y, x) = [ŷ_x(α, β, γ) - y]², summed over the N
# examples (no factor ½ and no 1/N: those only rescale the gradient, i.e. the learning rate).

# %%
ys = [0.5, -1.0, 2.0]
loss = math.fsum((y_hat(x) - y) ** 2 for x, y in zip(xs, ys))
print(f"sum of squared errors on the three examples: {loss:.6f}")
