# %% [markdown]
# # The chain rule
#
# The "Modeling" deck's example: y = sin(x²) is f(g(x)) with g(x) = x² and f(g) = sin g, so
#
#     dy/dx = dy/dg · dg/dx = cos(g) · 2x = 2x cos(x²).
#
# (The slide writes the derivatives with δ, as δy/δx; they are ordinary derivatives dy/dx.)
# Back-propagation is this rule applied layer after layer: dC/da^L · da^L/dz^L · dz^L/da^{L-1} ...

# %%
import math

from reference.gradcheck import numerical_gradient


def y(x):
    return math.sin(x * x)


def dy_dx(x):
    g = x * x
    return math.cos(g) * 2 * x  # dy/dg · dg/dx


checks = {}  # x -> (chain rule, central difference)
for x in (0.0, 0.5, 1.0, 2.0, -3.0):
    checks[x] = (dy_dx(x), numerical_gradient(lambda p: y(p[0]), [x])[0])
    print(f"x = {x:+.1f}: chain rule {checks[x][0]:+.8f}, central difference {checks[x][1]:+.8f}")
worst = max(abs(a - b) for a, b in checks.values())
print(f"largest difference: {worst:.1e}")

# %% [markdown]
# A longer chain, as in a network of one neuron per layer: y = σ(w2 σ(w1 x)). Each factor is
# local: a neuron needs only its own σ'(ξ) and the derivative that arrives from above.

# %%
sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
w1, w2, x = 0.8, -1.5, 2.0
a1 = sig(w1 * x)
a2 = sig(w2 * a1)
dy_dw1 = a2 * (1 - a2) * w2 * a1 * (1 - a1) * x  # σ'(ξ2) · w2 · σ'(ξ1) · x
numeric_w1 = numerical_gradient(lambda p: sig(w2 * sig(p[0] * x)), [w1])[0]
print(f"dy/dw1: chain rule {dy_dw1:.10f}, central difference {numeric_w1:.10f}")
