# %% [markdown]
# # Gradient descent, SGD, momentum and Adam on a two-weight loss surface
#
# A loss of two weights can be drawn as a surface (the "Modeling" deck's visual guide): the
# optimizer starts somewhere and follows the negative gradient downhill. Here the loss is the mean
# squared error of a linear model t ≈ w1 u + w2 v on 40 examples whose second feature v is small:
# the surface is a long, narrow valley, steep across and shallow along, where plain gradient
# descent has to use a small η and then crawls.
#
# * gradient descent (GD): every step uses the gradient over all 40 examples, w ← w - η ∇E(w);
# * mini-batch SGD: every step uses a batch of 4 examples (shuffled each epoch): cheaper, noisier;
# * momentum (μ = 0.9): the step is a running sum of past gradients, which accelerates along the
#   valley and damps the zigzag across it;
# * Adam: momentum plus a per-weight step size from the running mean of squared gradients, so
#   the shallow direction gets as large steps as the steep one.

# %%
import math
import random

from reference.optimizers import SGD, Adam

rng = random.Random(0)
U = [rng.uniform(-1, 1) for _ in range(40)]
V = [0.25 * rng.uniform(-1, 1) for _ in range(40)]
T = [1.5 * u - 2.0 * v + 0.05 * rng.gauss(0, 1) for u, v in zip(U, V)]
START = [-1.0, 2.0]


def loss(w, idx=range(40)):
    return math.fsum((w[0] * U[k] + w[1] * V[k] - T[k]) ** 2 for k in idx) / len(idx)


def grad(w, idx=range(40)):
    r = [2 * (w[0] * U[k] + w[1] * V[k] - T[k]) / len(idx) for k in idx]
    return [math.fsum(rk * U[k] for rk, k in zip(r, idx)), math.fsum(rk * V[k] for rk, k in zip(r, idx))]


# The minimum, from the normal equations of the 2 x 2 least-squares problem.
suu, svv, suv = (math.fsum(a * b for a, b in zip(P, Q)) for P, Q in ((U, U), (V, V), (U, V)))
sut, svt = math.fsum(u * t for u, t in zip(U, T)), math.fsum(v * t for v, t in zip(V, T))
det = suu * svv - suv * suv
W_MIN = [(svv * sut - suv * svt) / det, (suu * svt - suv * sut) / det]
print(f"minimum at w = ({W_MIN[0]:.4f}, {W_MIN[1]:.4f}), loss {loss(W_MIN):.5f}")


# %%
def run(optimizer, batch=None, epochs=60, seed=1):
    """The path of w from START: one point per step (per epoch for GD, per batch for SGD)."""
    order_rng = random.Random(seed)
    w = [START[:]]
    path = [tuple(START)]
    for _ in range(epochs):
        order = list(range(40))
        order_rng.shuffle(order)
        for start in range(0, 40, batch or 40):
            idx = order[start:start + (batch or 40)]
            optimizer.step(w, [grad(w[0], idx)])
            path.append(tuple(w[0]))
    return path


paths = {
    "GD (η = 0.5)": run(SGD(lr=0.5)),
    "SGD, batches of 4 (η = 0.5)": run(SGD(lr=0.5), batch=4, epochs=6),
    "GD + momentum 0.9 (η = 0.5)": run(SGD(lr=0.5, momentum=0.9)),
    "Adam (η = 0.1)": run(Adam(lr=0.1)),
}
final = {}
for name, path in paths.items():
    w = path[-1]
    final[name] = (math.dist(w, W_MIN), loss(w))
    print(f"{name:30s} {len(path) - 1:3d} steps: w = ({w[0]:+.3f}, {w[1]:+.3f}), distance to the minimum "
          f"{final[name][0]:.3f}, loss {final[name][1]:.4f}")

# %% [markdown]
# In 60 steps GD has fitted the steep weight w1 but has moved only a third of the way along the
# valley (w2). SGD takes ten steps an epoch, so it gets as far in 6 epochs, a tenth of the passes
# over the data, on a noisier path. Momentum and Adam, with 60 steps too, are close to the minimum. A larger η for GD would go faster
# along the valley, but across it the steps would overshoot and diverge (see the learning-rate
# example): the steep direction limits η, the shallow one then takes many steps.
