# %% [markdown]
# # The learning rate: too small, right, too large
#
# Gradient descent w ← w - η ∇E(w) lowers E when η is small enough (the "Modeling" deck), but
# how small? On the quadratic E(w) = ½ a w², ∇E = a w and one step gives w ← (1 - η a) w:
#
# * 0 < η < 1/a: w shrinks monotonically, slowly when η a is small;
# * η = 1/a: the minimum in one step;
# * 1/a < η < 2/a: w overshoots and oscillates, but still shrinks;
# * η > 2/a: |1 - η a| > 1, every step overshoots further: divergence.
#
# For a network the same holds locally, with a the largest curvature of E.

# %%
from reference.course._data import clouds
from reference.mlp import MLP
from reference.optimizers import SGD
from reference.training import fit

a = 4.0
quadratic = {}
for eta in (0.01, 0.1, 0.25, 0.45, 0.55):
    w, path = 1.0, [1.0]
    for _ in range(20):
        w -= eta * a * w
        path.append(w)
    quadratic[eta] = path
    print(f"η = {eta:4} (η a = {eta * a:4.2f}): w after 1, 5, 20 steps = {path[1]:+.4f}, {path[5]:+.4f}, {path[20]:+.3e}")

# %% [markdown]
# ## On a network
# The two overlapping clouds of the regularization example (30 points), a 2-8-1 tanh/sigmoid
# network, the BCE loss and 200 full-batch steps of gradient descent for η from 0.01 to 100.

# %%
X, y = clouds(30, seed=1)
ETAS = (0.01, 0.1, 1.0, 10.0, 100.0)
sweep = {}
for eta in ETAS:
    net = MLP([2, 8, 1], ["tanh", "sigmoid"], seed=0)
    history = fit(net, X, y, SGD(lr=eta), loss="binary_cross_entropy", epochs=200, batch_size=None, shuffle=False)
    sweep[eta] = history.column("train_loss")
    print(f"η = {eta:6}: loss after 10, 50, 100, 200 steps = "
          + ", ".join(f"{sweep[eta][i - 1]:.3f}" for i in (10, 50, 100, 200)))

# %% [markdown]
# Judge each run on its last 50 steps, not on the last one: a run that oscillates can end on a
# trough and look best. η = 0.01 is still descending (too small). η = 0.1 and 1 descend smoothly
# and have settled. η = 10 overshoots: after jumps to 17 the loss keeps swinging between about
# 0.44 and 2.2 to the end; its last value is a trough, lower than η = 1's, but the run has not
# converged. η = 100 throws the weights so far that the output sigmoid saturates at the wrong
# answer for some points and the loss sticks at 50 (torch's BCE clamps log 0 at -100): too large.
# The best η is the one whose *worst* loss over the window is lowest.

# %%
WINDOW = 50
window = {eta: (min(sweep[eta][-WINDOW:]), max(sweep[eta][-WINDOW:])) for eta in ETAS}
for eta, (low, high) in window.items():
    print(f"η = {eta:6}: last {WINDOW} steps between {low:.3f} and {high:.3f}, last step {sweep[eta][-1]:.3f}")
lowest_last = min(ETAS, key=lambda e: sweep[e][-1])
best_eta = min(ETAS, key=lambda e: window[e][1])
print(f"lowest last step: η = {lowest_last} (misleading); lowest worst loss over the window: η = {best_eta}")
