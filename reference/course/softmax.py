# %% [markdown]
# # Softmax
#
# Softmax turns n real scores a_1..a_n (logits) into probabilities, p_i = e^{a_i} / Σ_k e^{a_k}:
# each in (0, 1), summing to 1, larger scores getting larger shares. (The "Modeling" deck writes
# p_i = e^{a_k} / Σ_k e^{a_k}; the numerator's index is i.)

# %%
import math

from reference.activations import log_softmax, softmax
from reference.losses import cross_entropy, cross_entropy_grad

scores = [2.0, 1.0, 0.1]
p = softmax(scores)
print("scores", scores, "-> p =", [round(v, 4) for v in p], " sum =", math.fsum(p))

# %% [markdown]
# Adding the same constant to every score changes nothing (it cancels between numerator and
# denominator). That is how softmax is computed safely: subtract the largest score first, so no
# e^{a} overflows. The textbook formula fails on scores of 1000, the shifted one does not.

# %%
shifted = softmax([s + 100.0 for s in scores])
shift_invariance = max(abs(a - b) for a, b in zip(p, shifted))
try:
    naive = [math.exp(a) / sum(math.exp(b) for b in [1000.0, 999.0]) for a in [1000.0, 999.0]]
    naive_overflows = False
except OverflowError:
    naive_overflows = True
big = softmax([1000.0, 999.0])
print(f"shift by 100 changes p by at most {shift_invariance:.1e}; naive e^1000 overflows: {naive_overflows}; "
      f"shifted softmax: {[round(v, 4) for v in big]}")

# %% [markdown]
# Softmax with cross-entropy has the simplest gradient in the course: for the true class y,
# ∂CE/∂a_i = p_i - [i = y]. The loss of a confident right answer is computed from log-softmax
# (log p_i = a_i - log Σ e^{a_k}), which stays accurate where log(p) of a rounded p would not.

# %%
gradient = cross_entropy_grad([scores], [0])[0]
print("∂CE/∂a for the true class 0:", [round(v, 4) for v in gradient], " p - e_0:", [round(v - (i == 0), 4) for i, v in enumerate(p)])
gradient_gap = max(abs(g - (v - (i == 0))) for i, (g, v) in enumerate(zip(gradient, p)))
confident = cross_entropy([[40.0, 0.0]], [0])
print(f"CE of scores (40, 0), true class 0: {confident:.3e} (log-softmax: {-log_softmax([40.0, 0.0])[0]:.3e}; "
      f"-log of the rounded p: {abs(math.log(softmax([40.0, 0.0])[0])):.1e})")

# %% [markdown]
# ## Temperature
# Dividing the scores by a temperature T before softmax, p_i = e^{a_i/T} / Σ_k e^{a_k/T}, keeps their
# order but changes how sure the probabilities are: as T → 0 all the mass goes to the largest score
# (the arg max), as T → ∞ the distribution becomes uniform, and T = 1 is plain softmax.

# %%
TEMPERATURES = (0.1, 0.5, 1.0, 2.0, 10.0)
tempered = {T: softmax([a / T for a in scores]) for T in TEMPERATURES}
for T, q in tempered.items():
    print(f"T = {T:4}: p = {[round(v, 4) for v in q]}")
