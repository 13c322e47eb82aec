# %% [markdown]
# # The perceptron rule and its convergence bound
#
# Rosenblatt's rule visits the examples one by one; whenever the step neuron y = σ(w·x̃) answers
# wrongly it moves the weights towards (or away from) the example, w ← w + η (d - y) x̃, with
# x̃ = (1, x1, ..., xn). PV021 pictures it as turning the line towards a misclassified point.

# %%
import math
import random

from reference.boolean import inputs
from reference.perceptron import perceptron_rule, predict

X = [list(a) for a in inputs(2)]
runs = {}
for name, d in {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}.items():
    runs[name] = result = perceptron_rule(X, d, eta=1.0, max_epochs=20)
    print(f"{name}: converged {result.converged} after {result.epochs} epochs, "
          f"mistakes per epoch {result.errors}, weights {result.weights}")

# %% [markdown]
# ## The convergence theorem
# If some weight vector w* separates the classes with margin γ = min_k ± w*·x̃_k / ||w*|| > 0 and
# every ||x̃_k|| <= R, the rule, started at w = 0, makes at most (R/γ)² mistakes, whatever η > 0.
# (Each mistake raises w·w* by at least ηγ||w*|| but ||w||² by at most η²R², and the two growth
# rates, linear and square-root, can only coexist for (R/γ)² steps.) For AND, w* = (-1.5, 1, 1):


# %%
def bound(X, d, w_star):
    norm = math.sqrt(sum(w * w for w in w_star))
    margins = [(1 if dk else -1) * (w_star[0] + sum(w * x for w, x in zip(w_star[1:], xk))) / norm
               for xk, dk in zip(X, d)]
    gamma = min(margins)
    R = max(math.sqrt(1 + sum(x * x for x in xk)) for xk in X)
    return gamma, R, (R / gamma) ** 2


gamma_and, R_and, bound_and = bound(X, [0, 0, 0, 1], [-1.5, 1.0, 1.0])
mistakes_and = sum(runs["AND"].errors)
print(f"AND: γ = {gamma_and:.4f}, R = {R_and:.4f}, bound (R/γ)² = {bound_and:.1f}, mistakes made = {mistakes_and}")

# %% [markdown]
# A larger test: 200 random points labelled by a hidden line with a gap around it. The bound
# holds, with room to spare (it is a worst case over every order of the examples).

# %%
rng = random.Random(0)
w_true = [-0.2, 1.0, -0.7]
points, labels = [], []
while len(points) < 200:
    x = [rng.uniform(-1, 1), rng.uniform(-1, 1)]
    xi = w_true[0] + w_true[1] * x[0] + w_true[2] * x[1]
    if abs(xi) > 0.1:  # keep a margin
        points.append(x)
        labels.append(int(xi >= 0))
big = perceptron_rule(points, labels, eta=1.0, max_epochs=1000)
gamma_big, R_big, bound_big = bound(points, labels, w_true)
mistakes_big = sum(big.errors)
accuracy_big = sum(predict(big.weights, x) == d for x, d in zip(points, labels)) / len(points)
print(f"200 points: converged {big.converged} in {big.epochs} epochs, {mistakes_big} mistakes <= bound {bound_big:.0f}; "
      f"training accuracy {accuracy_big}")

# %% [markdown]
# XOR is not linearly separable: there is no w*, no margin, no bound, and indeed every epoch
# above had mistakes; the rule cycles for ever.
