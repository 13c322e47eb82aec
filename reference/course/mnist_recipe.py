# %% [markdown]
# # The hardware deck's MNIST recipe, on the 8x8 digits
#
# "Deep Learning: Hardware and Software" classifies the MNIST digits (70 000 images of 28 × 28
# pixels, 10 classes) with a small network trained by SGD on mini-batches of 100 for 10 epochs: 100
# examples are fed before each weight update. It reports a training accuracy of about 93.5% and a
# test accuracy of 89.843%, "unsatisfactory"; a much larger network with the same recipe reaches
# 99.39% and 96.514%. The deck's first run does not run out of epochs: it "begins to stagnate" at
# its 93.5%, so its cure is capacity (a larger network), not more epochs of the same. (Its network
# diagrams are pictures, not in the text: the sizes below are ours.)
#
# The reference is pure Python, so we follow the recipe on the 1797 real 8x8 digits that ship with
# it (`reference.datasets.load_digits`), holding out a stratified 20% as the test set. Pixels
# (0..16) are divided by 16.

# %%
from reference.datasets import load_digits, train_test_split
from reference.mlp import MLP
from reference.optimizers import SGD
from reference.training import evaluate, fit

X, y = load_digits()
X = [[v / 16.0 for v in row] for row in X]
X_train, X_test, y_train, y_test = train_test_split(X, y, 0.2, seed=0)
print(f"{len(X_train)} training and {len(X_test)} test images of {len(X[0])} pixels")


def recipe(hidden):
    """64-hidden-10 ReLU network, softmax cross-entropy, SGD(lr=0.1), batches of 100, 10 epochs."""
    net = MLP([64, hidden, 10], ["relu", "identity"], init="he_uniform", seed=0)
    history = fit(net, X_train, y_train, SGD(lr=0.1), epochs=10, batch_size=100, seed=0)
    steps = 10 * -(-len(X_train) // 100)  # iterations per epoch: ⌈N / B⌉, the last batch smaller
    test_loss, test_accuracy = evaluate(net, X_test, y_test)
    print(f"64-{hidden}-10: {steps} weight updates; training accuracy per epoch "
          f"{[round(r.train_accuracy, 3) for r in history]}")
    print(f"    test accuracy {test_accuracy:.2%} (test loss {test_loss:.3f})")
    return history[-1].train_accuracy, test_accuracy, history[-1].train_accuracy - history[-3].train_accuracy


# %%
train_accuracy_small, test_accuracy_small, late_gain_small = recipe(16)
print(f"training accuracy gained over the last two epochs: {late_gain_small:.1%}")

# %% [markdown]
# Ours levels off too: the first three epochs add 11 to 25 points of training accuracy each, the last two
# under 2 together, at 88% where the deck's stalls at 93.5% (other data, other network: the deck's
# diagrams are not in its text). As in the deck, a larger network with the same recipe does better.
# (Run as a script, this cell trains 64-64-10 too, about four times the work.)

# %%
if __name__ == "__main__":
    train_accuracy_large, test_accuracy_large, _ = recipe(64)
