# %% [markdown]
# # Universal approximation: one wide hidden layer, or many narrow ones
#
# The "Modeling" deck: a network with one hidden layer and a non-polynomial activation can
# approximate any continuous function to any accuracy, given enough hidden neurons and the right
# weights. PV021 states two versions: Cybenko's (1989; sigmoidal hidden neurons, a linear output)
# and the "power of ReLU" (one input, ReLU hidden neurons, a linear output). Kidger & Lyons
# (2020), also in the "Modeling" deck, trade width for depth: width n + m + 2 (n inputs, m
# outputs) suffices if the network may be as deep as needed.
#
# The theorems say the weights exist, not how to find them, so here they are written down
# (`reference.approximation`) for f(x) = 0.5 + 0.4 sin(2πx) on [0, 1], with n + 1 equally spaced
# knots t_k = k/n and h = 1/n:
#
# * ReLU: F(x) = f(0) + Σ_k c_k max(x - t_k, 0), a sum of n hinges whose weights c_k are the
#   changes of slope; F is the broken line through the points (t_k, f(t_k)), so
#   max |f - F| <= h² max |f''| / 8: halving h divides the error by 4;
# * sigmoid: F(x) = f(0) + Σ_k (f(t_k) - f(t_{k-1})) σ(λ (x - m_k)), a staircase of n smoothed steps
#   (λ = 10 n) placed halfway between the knots; its error is about the largest step, h max |f'|:
#   halving h only halves it;
# * deep and narrow: the same n hinges, one per layer, in hidden layers of 3 ReLUs.

# %%
import math

from reference.approximation import deep_narrow_network, hinge_network, sigmoid_staircase


def f(x):
    return 0.5 + 0.4 * math.sin(2 * math.pi * x)


XS = [i / 1000 for i in range(1001)]  # where the error is measured
WIDTHS = (2, 4, 8, 16, 32, 64)
max_f2 = 0.4 * (2 * math.pi) ** 2  # max |f''|
errors = {"relu": [], "sigmoid": []}
deep_gap = 0.0
for n in WIDTHS:
    knots = [k / n for k in range(n + 1)]
    values = [f(t) for t in knots]
    relu, sigmoid = hinge_network(knots, values), sigmoid_staircase(knots, values, steepness=10 * n)
    deep = deep_narrow_network(knots, values)
    errors["relu"].append(max(abs(relu.forward([x])[0] - f(x)) for x in XS))
    errors["sigmoid"].append(max(abs(sigmoid.forward([x])[0] - f(x)) for x in XS))
    deep_gap = max(deep_gap, max(abs(deep.forward([x])[0] - relu.forward([x])[0]) for x in XS))
    print(f"n = {n:2d} hidden neurons: max error ReLU {errors['relu'][-1]:.2e} (bound {max_f2 / (8 * n * n):.2e}), "
          f"sigmoid {errors['sigmoid'][-1]:.2e};  deep narrow: {len(deep.sizes) - 2} layers of width "
          f"{max(deep.sizes[1:-1])}")
print(f"deep narrow vs one wide layer: largest difference {deep_gap:.1e}")
relu_ratios = [a / b for a, b in zip(errors["relu"], errors["relu"][1:])]
sigmoid_ratios = [a / b for a, b in zip(errors["sigmoid"], errors["sigmoid"][1:])]
print("error ratio per doubling of n: ReLU", [round(r, 2) for r in relu_ratios],
      " sigmoid", [round(r, 2) for r in sigmoid_ratios])

# %% [markdown]
# With each doubling of the width the ReLU error falls by a factor that approaches 4, and it comes
# within 1% of the bound (f'' is largest at the crests, where the chords cut deepest); the sigmoid
# staircase's falls by 2. The deep
# network computes the wide one's function to rounding (its layers carry x, the current hinge and
# the running sum plus a constant C that keeps the sum positive, so ReLU passes it): width 3, within
# Kidger and Lyons' n + m + 2 = 4. The deck's conclusion "this is why deep neural networks work" goes
# further than the theorem: it says such weights exist, not that training finds them.
#
# ## Sets: the power of ReLU, and a hint that does not work as worded
# PV021 also states: for every open A ⊆ [0, 1] a network of this kind answers "x ∈ A" by "output
# > 0" for most x, and hints: "consider a continuous function f where f(x) is the minimum difference
# between x and a point on the boundary of A". That distance is positive on both sides of the
# boundary, so "output > 0" then holds almost everywhere, outside A too. The distance has to be
# signed (positive inside A, negative outside); then F > 0 fails only within max |F - f| of the
# boundary. For A = (0.2, 0.4) ∪ (0.6, 0.9), with 16 hinges each way:

# %%
A = [(0.2, 0.4), (0.6, 0.9)]
boundary = [t for interval in A for t in interval]


def in_A(x):
    return any(a < x < b for a, b in A)


def unsigned_distance(x):
    return min(abs(x - t) for t in boundary)


def signed_distance(x):
    return unsigned_distance(x) if in_A(x) else -unsigned_distance(x)


knots16 = [k / 16 for k in range(17)]
MIDS = [(i + 0.5) / 1000 for i in range(1000)]
wrong = {}
for name, g in (("unsigned", unsigned_distance), ("signed", signed_distance)):
    net = hinge_network(knots16, [g(t) for t in knots16])
    wrong[name] = sum((net.forward([x])[0] > 0) != in_A(x) for x in MIDS) / len(MIDS)
    print(f"{name:8s} distance: 'output > 0' wrong for {wrong[name]:.1%} of [0, 1]")

# %% [markdown]
# The unsigned distance gets the whole complement of A wrong (half of [0, 1]). The signed one errs
# nowhere here: it is straight across each boundary point, so the broken line crosses zero exactly
# there; in general it can err only where |signed distance| < max |F - f|, next to the boundary.
#
# The "Modeling" deck lists as a limitation that the theorem is "not applicable to discontinuous
# functions". For approximation at *every* point that is right (a uniform limit of continuous
# functions is continuous), but PV021's set versions approximate the indicator of a set, which jumps:
# they succeed at *most* points. One steep sigmoid σ(λ(x - ½)) approximating the jump of [x >= ½]
# always errs by ½ at x = ½, but the share of [0, 1] where it errs by more than 0.01 shrinks like 1/λ:

# %%
jump_share = {}
for lam in (10, 100, 1000):
    step = sigmoid_staircase([0.0, 1.0], [0.0, 1.0], steepness=lam)
    jump_share[lam] = sum(abs(step.forward([x])[0] - (x >= 0.5)) > 0.01 for x in MIDS) / len(MIDS)
    print(f"λ = {lam:4d}: error > 0.01 on {jump_share[lam]:.1%} of [0, 1]")
