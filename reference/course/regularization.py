# %% [markdown]
# # Overfitting, and three cures: L2, dropout, early stopping
#
# The "Introduction" deck: a network *overfits* when it learns the noise of its training data
# along with the pattern; regularization penalizes complexity. Its three techniques: an L2
# penalty on the squared weights, dropout (randomly zeroing hidden neurons during training) and
# early stopping (stop when the validation error starts to rise). The "Modeling" deck's learning
# curves, training and validation loss against the epoch, show where overfitting starts.
#
# The data: two overlapping clouds of points, 30 for training and 80 held out for validation.
# No line, and no network, can classify them all: part of the training set is noise to the task.

# %%
from reference.course._data import clouds
from reference.mlp import MLP
from reference.optimizers import Adam
from reference.regularization import EarlyStopping
from reference.training import evaluate, fit


X_train, y_train = clouds(30, seed=1)
X_val, y_val = clouds(80, seed=2)
EPOCHS = 200


def train(**options):
    """A 2-24-1 tanh/sigmoid network, BCE, Adam(lr=0.03), full batch, validation every epoch."""
    net = MLP([2, 24, 1], ["tanh", "sigmoid"], seed=0)
    history = fit(net, X_train, y_train, Adam(lr=0.03), loss="binary_cross_entropy", epochs=EPOCHS,
                  batch_size=None, validation_data=(X_val, y_val), **options)
    return net, history


def summary(name, history):
    best = min(history, key=lambda r: r.val_loss)
    last = history[-1]
    print(f"{name:22s} best val loss {best.val_loss:.3f} (epoch {best.epoch:3d}); after epoch {last.epoch}: "
          f"train loss {last.train_loss:.3f}, val loss {last.val_loss:.3f}, val accuracy {last.val_accuracy:.2f}")


# %% [markdown]
# ## Without regularization: the learning curves part
# The training loss keeps falling towards 0 while the validation loss, after a few epochs, climbs:
# the network bends its boundary around individual noisy points.

# %%
net_plain, plain = train()
summary("no regularization", plain)
curves = {"plain": (plain.column("train_loss"), plain.column("val_loss"))}

# %% [markdown]
# ## L2: minimize E + (λ/2) Σ w² (biases excluded)
# Large weights make sharp boundaries; the penalty makes them expensive. (λ here is the
# regularization strength of the hardware deck's hyperparameter list, not PV021's steepness.)

# %%
net_l2, l2 = train(l2=0.1)
summary("L2, λ = 0.1", l2)
curves["l2"] = (l2.column("train_loss"), l2.column("val_loss"))

# %% [markdown]
# ## Dropout: each hidden output is zeroed with probability p during training
# The kept ones are scaled by 1/(1 - p) ("inverted" dropout), so the trained network is used as it
# is; no neuron can rely on a particular other one being there.

# %%
net_dropout, drop = train(dropout=0.3)
summary("dropout, p = 0.3", drop)
curves["dropout"] = (drop.column("train_loss"), drop.column("val_loss"))

# %% [markdown]
# ## Early stopping: keep the weights of the best validation epoch
# Stop once the validation loss has not improved for `patience` epochs and restore the best weights.

# %%
net_early, early = train(early_stopping=EarlyStopping(patience=20))
early_val_loss, early_val_accuracy = evaluate(net_early, X_val, y_val, "binary_cross_entropy")
print(f"early stopping: stopped after epoch {len(early)}, restored the weights of epoch {early.best_epoch}: "
      f"val loss {early_val_loss:.3f}, val accuracy {early_val_accuracy:.2f}")
best_plain_epoch = min(plain, key=lambda r: r.val_loss).epoch
