# %% [markdown]
# # Gradient descent, SGD, momentum and Adam on a two-weight loss surface
#
# A loss of two weights can be drawn as a surface (the "Modeling" deck's visual guide): the
# optimizer starts somewhere and follows the negative gradient downhill. Here the loss is the mean
# squared error of a linear model t ≈ w1 u + w2 v on 40 examples whose second feature v is small:
# the surface is a valley, steeper across than along, where the steep direction limits the step
# that gradient descent can take and the shallow one then needs many steps.
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


# %% [markdown]
# ## How large may η be?
# E is quadratic, with the constant Hessian H = (2/N) Σ_k x_k x_kᵀ (x_k = (u_k, v_k)). Near the
# minimum gradient descent multiplies the error along each eigenvector of H by (1 - η λ), so it
# converges iff η < 2/λmax (the learning-rate example's 2/a, per direction), and it is fastest at
# η = 2/(λmax + λmin), where the steep and the shallow direction shrink at the same rate.

# %%
huu, hvv, huv = (2 * math.fsum(a * b for a, b in zip(P, Q)) / 40 for P, Q in ((U, U), (V, V), (U, V)))
mean, gap = (huu + hvv) / 2, math.hypot((huu - hvv) / 2, huv)
LAMBDA_MAX, LAMBDA_MIN = mean + gap, mean - gap
print(f"Hessian eigenvalues {LAMBDA_MAX:.4f} and {LAMBDA_MIN:.4f} (ratio {LAMBDA_MAX / LAMBDA_MIN:.1f}): GD is stable "
      f"for η < 2/λmax = {2 / LAMBDA_MAX:.2f}, fastest at 2/(λmax + λmin) = {2 / (LAMBDA_MAX + LAMBDA_MIN):.2f}")


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


# %% [markdown]
# ## Each method at its own best η
# Comparing methods at one η compares that η, not the methods. Each gets a sweep of η from 0.01 to
# 5 (steps of √2) and keeps the η whose *worst* loss over its last 10 steps is lowest (judged on a
# window, so that a run that oscillates cannot win by ending on a trough). Every run has 60 steps:
# 60 epochs of GD, momentum and Adam, or 6 epochs of mini-batches of 4 for SGD.

# %%
ETAS = [0.01 * 2 ** (k / 2) for k in range(19)]
METHODS = {
    "GD": (lambda eta: SGD(lr=eta), None, 60),
    "SGD, batches of 4": (lambda eta: SGD(lr=eta), 4, 6),
    "GD + momentum 0.9": (lambda eta: SGD(lr=eta, momentum=0.9), None, 60),
    "Adam": (lambda eta: Adam(lr=eta), None, 60),
}


def window_loss(path):
    return max(loss(w) for w in path[-10:])


best_eta, paths, final = {}, {}, {}


def record(label, path):
    paths[label] = path
    final[label] = (math.dist(path[-1], W_MIN), window_loss(path))
    print(f"{label:28s} distance to the minimum {final[label][0]:.4f}, worst loss of the last 10 steps "
          f"{final[label][1]:.5f} (minimum {loss(W_MIN):.5f})")


for name, (make, batch, epochs) in METHODS.items():
    scores = {eta: window_loss(run(make(eta), batch, epochs)) for eta in ETAS}
    best_eta[name] = min(ETAS, key=scores.get)
    record(f"{name} (η = {best_eta[name]:.2f})", run(make(best_eta[name]), batch, epochs))
record("GD (η = 0.5, too cautious)", run(SGD(lr=0.5)))

# %% [markdown]
# On this problem plain GD wins: at η = 2.56, the sweep's value nearest below 2/(λmax + λmin), it
# ends within 0.01 of the minimum after 60 steps, its loss equal to the minimum's to 3 digits. The
# valley is only about 16 times steeper across than along, and there GD's error shrinks by
# (κ - 1)/(κ + 1) ≈ 0.88 a step (κ = λmax/λmin). Momentum 0.9 is too much
# momentum for so mild a valley: the iterate circles the minimum (the best μ for a quadratic is
# ((√κ - 1)/(√κ + 1))² ≈ 0.36). Adam's steps do not shrink with the gradient near the minimum, so it
# hovers; it shines when the scales of the directions differ by orders of magnitude, or vary.
# Mini-batch SGD takes its 60 steps in 6 passes over the data instead of 60, on a noisier path, and
# ends where its noise lets it. At η = 0.5 GD has fitted the steep weight but crawls along the
# valley: that is a too-small η, not a property of GD.
