# %% [markdown]
# # Cross-entropy: binary (BCE) and categorical (CCE)
#
# For a prediction ŷ ∈ (0, 1) of a 0/1 label y, BCE = -y log ŷ - (1 - y) log(1 - ŷ): only the
# first term counts when y = 1, only the second when y = 0. For a probability vector ŷ over
# classes and a one-hot (or any) target y, CCE = -Σ_i y_i log ŷ_i, which for a one-hot target is
# -log of the probability given to the true class.

# %%
import math

from reference.losses import binary_cross_entropy, categorical_cross_entropy

for y, y_hat in [(1, 0.9), (1, 0.5), (1, 0.1), (0, 0.1), (0, 0.9)]:
    value = binary_cross_entropy([y_hat], [float(y)])
    print(f"y = {y}, ŷ = {y_hat}: BCE = {value:.4f} nats")
bce_confident_wrong = binary_cross_entropy([0.1], [1.0])

# %% [markdown]
# ## The slide's numbers are in bits
# The "Cross Entropy + Softmax" slide gives, before and after some training, CCE = -log2 0.755 =
# 0.3677 and CCE = -log2 0.0938 = 0.0923. Its logarithms are base 2 (bits, not the nats of
# every framework), and both probabilities are misprinted: -log2 0.755 = 0.4055 and -log2 0.0938 =
# 3.414, while 0.3677 = -log2 0.775 and 0.0923 = -log2 0.938. Training raised the true class's
# probability from 0.775 to 0.938, and the loss fell. In nats (natural log) the same losses are
# 0.3677 · ln 2 = 0.2549 and 0.0923 · ln 2 = 0.0640.

# %%
before = [[0.775, 0.125, 0.100]]  # the true class first; the other two are our own numbers
after = [[0.938, 0.040, 0.022]]
target = [[1.0, 0.0, 0.0]]
cce_bits_before = categorical_cross_entropy(before, target) / math.log(2)
cce_bits_after = categorical_cross_entropy(after, target) / math.log(2)
printed_before, printed_after = -math.log2(0.755), -math.log2(0.0938)
print(f"before: CCE = {cce_bits_before:.4f} bits = {cce_bits_before * math.log(2):.4f} nats")
print(f"after:  CCE = {cce_bits_after:.4f} bits = {cce_bits_after * math.log(2):.4f} nats")
print(f"with the slide's printed probabilities: -log2 0.755 = {printed_before:.4f}, -log2 0.0938 = {printed_after:.4f}")

# %% [markdown]
# For two classes CCE with ŷ = (1 - p, p) is BCE with ŷ = p: the binary loss is the special case.

# %%
p, y = 0.8, 1.0
two_class_gap = categorical_cross_entropy([[1 - p, p]], [[1 - y, y]]) - binary_cross_entropy([p], [y])
print(f"CCE - BCE for two classes: {two_class_gap:.1e}")
