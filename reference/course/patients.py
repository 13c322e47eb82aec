# %% [markdown]
# # The 15 patients: age and blood pressure -> disease
#
# The "Introduction to Neural Networks" deck trains a small network, in PyTorch and again in
# Keras, on 15 patients described by two numbers, age and blood pressure, labelled 1 (disease)
# or 0 (no disease), and then asks it about 4 new patients. Both listings use the binary
# cross-entropy loss and Adam with learning rate 0.01 for 1000 epochs over the whole set (one
# gradient step per epoch). The deck's text does not show the layers, so we choose the smallest
# network in the spirit of the slides: 2 inputs, 4 hidden sigmoid neurons, 1 sigmoid output.
#
# The listings feed the raw numbers to the network. We do that, and then the same with
# standardized inputs, and look at what goes wrong the first time.

# %%
from reference.datasets import fit_standardizer, load_patients, standardize
from reference.mlp import MLP
from reference.optimizers import Adam
from reference.training import fit, predict_proba

X, y, X_new = load_patients()
print("age  pressure  disease")
for (age, bp), d in zip(X, y):
    print(f"{age:3.0f}  {bp:8.0f}  {d:7d}")
print("new patients:", X_new)


# %%
def train(inputs):
    """The deck's recipe: BCE, Adam(lr=0.01), 1000 full-batch epochs, seeded weights."""
    net = MLP([2, 4, 1], ["sigmoid", "sigmoid"], seed=0)
    history = fit(net, inputs, y, Adam(lr=0.01), loss="binary_cross_entropy", epochs=1000,
                  batch_size=None, shuffle=False)
    return net, history


def report(net, history, new_inputs):
    for epoch in range(0, 1000, 100):  # the listing prints every 100th epoch
        print(f"epoch {epoch:4d}  loss {history[epoch].train_loss:.4f}")
    probs = [p[1] for p in predict_proba(net, new_inputs, "binary_cross_entropy")]
    for (age, bp), p in zip(X_new, probs):
        print(f"age {age:.0f}, pressure {bp:.0f}: P(disease) = {p:.4f} -> {int(p >= 0.5)}")
    return probs


# %% [markdown]
# ## Raw inputs

# %%
net_raw, history_raw = train(X)
p_raw = report(net_raw, history_raw, X_new)
final_loss_raw = history_raw[-1].train_loss

# %% [markdown]
# Every new patient gets the same probability, 0.6, and 0.6 = 9/15 is just the fraction of sick
# patients in the training set. The network has learnt nothing about age or pressure. Why? The
# first layer's inner potentials ξ_j = w_j0 + w_j1·age + w_j2·pressure are sums of numbers in
# the hundreds: with weights of order 1 (Glorot initialization) |ξ| is far beyond the range
# where the sigmoid bends. There σ(ξ) is 0 or 1 and its derivative σ'(ξ) = σ(ξ)(1 - σ(ξ)) is 0
# (or ~e^-|ξ|), so back-propagation, which multiplies by σ'(ξ_j), delivers no gradient to the
# first layer: the hidden neurons are *saturated*. Each one outputs a constant, and all the
# output neuron can fit is a constant, the best being the base rate 9/15. (Adam rescales each
# gradient by its own running size, which could revive a tiny gradient, but it divides by
# √v + ε with ε = 10^-8: a gradient of 10^-10 or less moves the weights by next to nothing.)

# %%
fresh = MLP([2, 4, 1], ["sigmoid", "sigmoid"], seed=0)
trace = fresh.forward_batch(X)
xi_raw = [row for row in trace.potentials[0]]
sigma_prime = [[fresh._df[0](v) for v in row] for row in xi_raw]
print("hidden potentials ξ of the first patients at initialization:")
for row, d in list(zip(xi_raw, sigma_prime))[:4]:
    print("  ξ =", [f"{v:8.1f}" for v in row], " σ'(ξ) =", [f"{v:.1e}" for v in d])
largest_sigma_prime_raw = max(v for row in sigma_prime for v in row)

# %% [markdown]
# ## Standardized inputs
# Subtract each feature's mean and divide by its standard deviation (computed on the training
# set, and applied unchanged to the new patients): now both features are of order 1, the sigmoids
# work in their sensitive range, and the same recipe learns.

# %%
means, stds = fit_standardizer(X)
net_std, history_std = train(standardize(X, means, stds))
p_std = report(net_std, history_std, standardize(X_new, means, stds))
final_loss_std = history_std[-1].train_loss
train_accuracy_std = history_std[-1].train_accuracy
print(f"final training loss: raw {final_loss_raw:.4f}, standardized {final_loss_std:.4f}")

# %% [markdown]
# The second new patient (30 years, pressure 110) is younger and has a lower pressure than any
# sick patient: P ≈ 0. The third and fourth are as old and as hypertensive as the sick ones:
# P ≈ 1. The first (40, 145) sits between the healthy (40, 135) and the sick (42, 145): the
# network leans to "disease". With 15 examples, 1000 epochs drive the training loss near 0
# (the network is very sure of itself); a validation set would be needed to judge that
# confidence (see the regularization example).
