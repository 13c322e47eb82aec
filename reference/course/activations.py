# %% [markdown]
# # Activation functions, their derivatives, and the steepness λ
#
# PV021 lists the unit step, the logistic sigmoid with a *steepness* λ, σ(ξ) = 1 / (1 + e^{-λξ}),
# a "hyperbolic tangent" (1 - e^{-ξ}) / (1 + e^{-ξ}) and ReLU max(ξ, 0). The "Introduction" deck
# lists sigmoid, tanh as 2 / (1 + e^{-2z}) - 1 (its minus sign is lost in the slide text) and ReLU.
# Back-propagation needs each derivative σ'(ξ).

# %%
import math

from reference.activations import get_activation

sigmoid, tanh, relu, step = (get_activation(n) for n in ("sigmoid", "tanh", "relu", "step"))
bipolar = get_activation("bipolar_sigmoid")
points = [-4.0, -1.0, 0.0, 1.0, 4.0]
print("ξ:           ", points)
for name, act in [("step", step), ("sigmoid", sigmoid), ("tanh", tanh), ("relu", relu)]:
    print(f"{name:8s} σ   ", [round(act.f(v), 4) for v in points])
    print(f"{name:8s} σ'  ", [round(act.df(v), 4) for v in points])

# %% [markdown]
# ## The steepness λ
# σ'(ξ) = λ σ(ξ) (1 - σ(ξ)), so the slope at 0 is λ/4: a larger λ makes the sigmoid steeper, and
# as λ → ∞ it tends to the unit step; λ = 0 makes it the constant ½. (λ only rescales ξ, so a
# network can learn it into its weights: λ w gives the same neuron as w with λ = 1.)

# %%
lambdas = [0.5, 1.0, 2.0, 5.0, 50.0]
slope_at_0 = {lam: sigmoid.df(0.0, lam=lam) for lam in lambdas}
value_at_1 = {lam: sigmoid.f(1.0, lam=lam) for lam in lambdas}
for lam in lambdas:
    print(f"λ = {lam:5}: σ(1) = {value_at_1[lam]:.4f}, σ'(0) = {slope_at_0[lam]:.4f} (= λ/4)")
same_neuron = sigmoid.f(0.7, lam=3.0) == sigmoid.f(3.0 * 0.7)
print("σ_λ=3(0.7) == σ_λ=1(3·0.7):", same_neuron)

# %% [markdown]
# ## Two "tanh"s
# PV021's (1 - e^{-ξ}) / (1 + e^{-ξ}) is not tanh ξ but tanh(ξ/2) = 2σ(ξ) - 1, the *bipolar
# sigmoid* (here `bipolar_sigmoid`); the Introduction deck's 2/(1 + e^{-2z}) - 1 is tanh z.

# %%
xi = 1.0
pv021_tanh = (1 - math.exp(-xi)) / (1 + math.exp(-xi))
intro_tanh = 2 / (1 + math.exp(-2 * xi)) - 1
print(f"ξ = 1: PV021 formula {pv021_tanh:.6f}, tanh(ξ/2) {math.tanh(xi / 2):.6f}, bipolar_sigmoid {bipolar.f(xi):.6f}")
print(f"       Introduction formula {intro_tanh:.6f}, tanh(ξ) {math.tanh(xi):.6f}")
tanh_gap = pv021_tanh - math.tanh(xi)
