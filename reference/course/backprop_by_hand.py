# %% [markdown]
# # Back-propagation by hand, checked by the gradient checker
#
# A 2-2-1 network, sigmoid everywhere, one example x = (0.5, -1), target d = 1, and the error
# E = ½ (y - d)². Weights in the course's notation: w_ji from neuron i to neuron j, w_j0 the
# bias (the weight of y_0 = 1).
#
# Forward: ξ_j = Σ_i w_ji y_i, y_j = σ(ξ_j). Backward, with δ_j = ∂E/∂ξ_j:
#
#     output neuron o:   δ_o = (y_o - d) σ'(ξ_o)
#     hidden neuron j:   δ_j = σ'(ξ_j) Σ_k δ_k w_kj     (k over the neurons j feeds)
#     every weight:      ∂E/∂w_ji = δ_j y_i

# %%
import math

from reference.gradcheck import gradcheck
from reference.mlp import MLP

sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
x, d = [0.5, -1.0], 1.0
hidden = [[0.1, 0.4, -0.2], [-0.3, 0.2, 0.6]]   # rows [w_j0, w_j1, w_j2] of the two hidden neurons
output = [[0.2, 0.7, -0.5]]                      # row [w_o0, w_o1, w_o2] of the output neuron

# forward, one number at a time
xi_h = [w[0] + w[1] * x[0] + w[2] * x[1] for w in hidden]
y_h = [sig(v) for v in xi_h]
xi_o = output[0][0] + output[0][1] * y_h[0] + output[0][2] * y_h[1]
y_o = sig(xi_o)
E = 0.5 * (y_o - d) ** 2
print(f"ξ_hidden = {[round(v, 4) for v in xi_h]}, y_hidden = {[round(v, 4) for v in y_h]}")
print(f"ξ_out = {xi_o:.4f}, y = {y_o:.4f}, E = {E:.6f}")

# %%
# backward, one number at a time
delta_o = (y_o - d) * y_o * (1 - y_o)
delta_h = [y_h[j] * (1 - y_h[j]) * delta_o * output[0][j + 1] for j in range(2)]
grad_output = [[delta_o * yi for yi in (1.0, *y_h)]]
grad_hidden = [[delta_h[j] * xi for xi in (1.0, *x)] for j in range(2)]
print(f"δ_out = {delta_o:.6f}, δ_hidden = {[round(v, 6) for v in delta_h]}")
print("∂E/∂w hidden:", [[round(v, 6) for v in row] for row in grad_hidden])
print("∂E/∂w output:", [[round(v, 6) for v in row] for row in grad_output])

# %% [markdown]
# Two checks. `reference.mlp.MLP.backward` gives the same numbers from ∂E/∂y = y - d; and the
# gradient checker compares them with central differences (E(w + h) - E(w - h)) / 2h.

# %%
net = MLP([2, 2, 1], "sigmoid")
net.load_weights([hidden, output])
trace = net.forward_batch([x])
grads = net.backward(trace, [[trace.output[0][0] - d]])
mlp_difference = max(abs(a - b) for ga, gb in zip(grads, [grad_hidden, grad_output])
                     for ra, rb in zip(ga, gb) for a, b in zip(ra, rb))
print(f"largest difference from MLP.backward: {mlp_difference:.1e}")


def error(layers):
    net.load_weights(layers)
    return 0.5 * (net.forward(x)[0] - d) ** 2


relative_error = gradcheck(error, [[row[:] for row in hidden], [row[:] for row in output]], [grad_hidden, grad_output])
print(f"gradient checker: largest relative error {relative_error:.1e} (a wrong gradient gives ~1)")
wrong = [[row[:] for row in grad_hidden], grad_output]
wrong[0][1][2] *= -1  # a sign slip in one hidden weight
relative_error_wrong = gradcheck(error, [[row[:] for row in hidden], [row[:] for row in output]], wrong)
print(f"... and with one sign flipped: {relative_error_wrong:.1f}")
