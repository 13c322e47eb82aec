# %% [markdown]
# # The delta rule with a general activation g
#
# The "Modeling" deck states the Widrow-Hoff (delta) rule for neuron j with activation g:
#
#     Δw_ji = η (d_j - y_j) g'(ξ_j) x_i,      ξ_j = Σ_i w_ji x_i,   y_j = g(ξ_j)
#
# (the slide writes Δw_ij and names the target and output y_i and ŷ_i; the index is j, the neuron,
# and d_j is the desired output). It is gradient descent on E = ½ (d_j - y_j)², because
# ∂E/∂w_ji = -(d_j - y_j) g'(ξ_j) x_i. With g the identity (g' = 1) it is the ADALINE's rule.

# %%
import math

from reference.activations import get_activation
from reference.boolean import inputs
from reference.delta_rule import delta_rule
from reference.gradcheck import gradcheck

g = get_activation("sigmoid")
X = [[1.0, *a] for a in inputs(2)]  # x0 = 1 carries the bias
d_and = [0.0, 0.0, 0.0, 1.0]


def error(w):
    """E(w) = ½ Σ_k (d_k - g(ξ_k))² over the four examples."""
    return 0.5 * math.fsum((dk - g.f(math.fsum(wi * xi for wi, xi in zip(w, x)))) ** 2 for x, dk in zip(X, d_and))


def delta_rule_step(w, eta):
    """One epoch of the rule, example by example (on-line); returns the new weights."""
    for x, dk in zip(X, d_and):
        xi = math.fsum(wi * xi_ for wi, xi_ in zip(w, x))
        y = g.f(xi)
        w = [wi + eta * (dk - y) * g.df(xi) * x_i for wi, x_i in zip(w, x)]
    return w


# %% [markdown]
# First, the rule really is -η times the gradient: compare (d - y) g'(ξ) x summed over the
# examples with central differences of E at some weights.

# %%
w = [0.1, -0.3, 0.2]
minus_grad = [0.0, 0.0, 0.0]
for x, dk in zip(X, d_and):
    xi = math.fsum(wi * x_i for wi, x_i in zip(w, x))
    for i in range(3):
        minus_grad[i] += (dk - g.f(xi)) * g.df(xi) * x[i]
gradient_error = gradcheck(error, w, [-v for v in minus_grad])
print(f"relative error of the delta rule's direction vs the numerical gradient: {gradient_error:.1e}")

# %%
w = [0.0, 0.0, 0.0]
errors = []
for epoch in range(2000):
    w = delta_rule_step(w, eta=2.0)
    errors.append(error(w))
outputs = [g.f(math.fsum(wi * x_i for wi, x_i in zip(w, x))) for x in X]
print("E after 1, 10, 100, 1000, 2000 epochs:", [round(errors[e - 1], 4) for e in (1, 10, 100, 1000, 2000)])
print("outputs on (0,0) (0,1) (1,0) (1,1):", [round(y, 3) for y in outputs])
and_learnt = [int(y >= 0.5) for y in outputs] == [0, 0, 0, 1]

# %% [markdown]
# The same with the identity activation and targets ±1 is the ADALINE, `reference.delta_rule`:
# its batch form converges to the least-squares weights -1.5 + x1 + x2.

# %%
adaline = delta_rule([list(a) for a in inputs(2)], [-1, -1, -1, 1], eta=0.1, epochs=500, mode="batch", tol=1e-12)
adaline_weights = [round(v, 6) for v in adaline.weights]
print(f"ADALINE: converged {adaline.converged} after {adaline.epochs} epochs, weights {adaline_weights}")
