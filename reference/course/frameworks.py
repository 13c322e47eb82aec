# %% [markdown]
# # The frameworks' code, translated to the reference
#
# The decks show three framework listings: scikit-learn's `MLPClassifier` ("Modeling"), the
# patients in PyTorch and in Keras ("Introduction") and a Keras `Sequential` model (PV021). Here is
# each one written with the reference, which does the same arithmetic in float64 and plain Python.

# %% [markdown]
# ## scikit-learn: the slide's call, as it is
# The slide lists `MLPClassifier(hidden_layer_sizes=(100,), activation="relu", solver="adam",
# batch_size="auto", learning_rate="constant", max_iter=200, shuffle=True, ...)`; we add
# `random_state=0` for reproducibility and fit it to the standardized patients.

# %%
import random

from reference.classifier import MLPClassifier
from reference.datasets import fit_standardizer, load_patients, standardize
from reference.mlp import MLP
from reference.optimizers import SGD, Adam
from reference.training import evaluate, fit, predict_proba

X, y, X_new = load_patients()
means, stds = fit_standardizer(X)
X_std, X_new_std = standardize(X, means, stds), standardize(X_new, means, stds)

clf = MLPClassifier(hidden_layer_sizes=(100,), activation="relu", solver="adam", batch_size="auto",
                    learning_rate="constant", max_iter=200, shuffle=True, random_state=0)
clf.fit(X_std, y)
sklearn_predictions = clf.predict(X_new_std)
print(f"{clf.n_iter_} epochs, training accuracy {clf.score(X_std, y):.2f}, new patients -> {sklearn_predictions}")

# %% [markdown]
# ## PyTorch and Keras: the patients
# Both listings compile BCE with Adam(lr = 0.01) and run 1000 epochs. torch and Keras add Adam's
# ε at different places (after or before the bias correction, and Keras' default ε is 10^-7, not
# 10^-8): `reference.optimizers.Adam` has both. On this problem the difference is invisible.

# %%
probabilities = {}
for name, optimizer in [("torch", Adam(lr=0.01)),
                        ("keras", Adam(lr=0.01, eps=1e-7, eps_placement="before_bias_correction"))]:
    net = MLP([2, 4, 1], ["sigmoid", "sigmoid"], seed=0)
    fit(net, X_std, y, optimizer, loss="binary_cross_entropy", epochs=1000, batch_size=None, shuffle=False)
    probabilities[name] = [p[1] for p in predict_proba(net, X_new_std, "binary_cross_entropy")]
    print(f"{name:5s} Adam: P(disease) of the new patients {[round(p, 4) for p in probabilities[name]]}")
torch_keras_gap = max(abs(a - b) for a, b in zip(probabilities["torch"], probabilities["keras"]))

# %% [markdown]
# ## Keras `Sequential` (PV021)
# The slide: Dense(64, input_dim=20) + tanh, Dropout(0.5), Dense(64), Dense(10) + softmax; SGD with
# lr 0.1, decay 10^-6, Nesterov momentum 0.9; categorical cross-entropy; 20 epochs of batches of 16.
# (The second Dense(64) has no activation, so it is linear, and layers 2 and 3 together could be
# one 64 → 10 matrix; we keep the slide's model. `nb_epoch`, `init` and `lr` are Keras 1's names
# of `epochs`, `kernel_initializer` and `learning_rate`. In Keras 1, `init='uniform'` draws the
# weight matrix W from U(-0.05, 0.05) (`initializations.uniform`, scale 0.05) and applies to W only:
# `Dense` always starts its bias at zero.)
# One difference: `reference.training.fit` drops out after *every* hidden layer, the slide after
# the first only; dropping out after the linear layer too, with η = 0.1 and momentum 0.9, made the
# training diverge, so this translation leaves dropout out (the regularization example has it).
# The slide's data are not given: 10 clusters of 20-feature points stand in for them.

# %%
rng = random.Random(0)
centers = [[rng.gauss(0, 1) for _ in range(20)] for _ in range(10)]
labels = [k % 10 for k in range(160)]
inputs = [[c + 0.7 * rng.gauss(0, 1) for c in centers[label]] for label in labels]
X_train, y_train, X_test, y_test = inputs[:120], labels[:120], inputs[120:], labels[120:]

model = MLP([20, 64, 64, 10], ["tanh", "identity", "identity"])
init = random.Random(1)  # Keras 1's init='uniform': W from U(-0.05, 0.05), the bias (row[0]) zero
model.load_weights([[[0.0] + [init.uniform(-0.05, 0.05) for _ in row[1:]] for row in layer] for layer in model.layers])
initial_biases = [row[0] for layer in model.layers for row in layer]
sgd = SGD(lr=0.1, decay=1e-6, momentum=0.9, nesterov=True, momentum_form="lr_inside")
history = fit(model, X_train, y_train, sgd, loss="cross_entropy", epochs=20, batch_size=16, seed=0)
keras_test_loss, keras_test_accuracy = evaluate(model, X_test, y_test)
print(f"training accuracy {history[-1].train_accuracy:.2f}, test loss {keras_test_loss:.3f}, "
      f"test accuracy {keras_test_accuracy:.2f} (chance: 0.10)")
