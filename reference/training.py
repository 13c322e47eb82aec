"""Training an MLP: epochs of mini-batches, learning curves, prediction.

One epoch visits every training example once, in a new random order (``shuffle``), in batches
of B examples. For each batch the network computes its outputs, the loss E (the mean over the
batch) and, by back-propagation, ∂E/∂w, and the optimizer takes one step. B = n (the whole set)
is gradient descent, B = 1 on-line (stochastic) learning, anything between mini-batch SGD.

Losses (the network's last layer must fit):

* ``"cross_entropy"`` – the outputs are logits z (use an ``identity`` last layer); softmax
  cross-entropy against int labels (``reference.losses.cross_entropy``); P(class c) = softmax(z)_c.
* ``"binary_cross_entropy"`` – the outputs are probabilities (a ``sigmoid`` last layer);
* ``"mse"`` – mean squared error (torch's ``mse_loss``; the Introduction deck's Σ (ŷ - y)², and ½ Σ (y - d)², up to a
  constant factor).

For binary_cross_entropy and mse, int labels become 0/1 targets for a single output (predicted class: output >= 0.5)
or one-hot codes for several outputs (predicted class: the largest output); target vectors
(regression) are used as they are, and then there is no accuracy.

With an L2 strength λ the objective of a batch is (1/B) (Σ_k E_k + (λ/2) Σ w²), biases excluded
(scikit-learn's ``alpha``). The learning curves are per-epoch records (:class:`History`): the
training loss and accuracy are the averages over the epoch's batches as they were trained (L2
penalty included, as Keras and scikit-learn report them; no extra pass over the data), the
validation ones are computed after the epoch.

>>> from reference.mlp import MLP
>>> from reference.optimizers import SGD
>>> from reference.datasets import xor
>>> X, y = xor()
>>> net = MLP([2, 4, 1], ["tanh", "sigmoid"], seed=1)
>>> history = fit(net, X, y, SGD(lr=1.0, momentum=0.9), loss="binary_cross_entropy", epochs=200, batch_size=None)
>>> predict(net, X), history[-1].train_accuracy
([0, 1, 1, 0], 1.0)
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from numbers import Integral, Real

from .activations import softmax
from .datasets import check_labels, one_hot, train_test_split
from .initialization import rng_from
from .losses import binary_cross_entropy, binary_cross_entropy_grad, cross_entropy, cross_entropy_grad, mse, mse_grad
from .mlp import MLP, rows
from .optimizers import Optimizer
from .regularization import EarlyStopping, l2_penalty, l2_penalty_grad
from .vector import check_matrix

LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")


@dataclass
class EpochRecord:
    """One point of the learning curves (accuracies and validation values None where undefined)."""

    epoch: int  # 1 for the first epoch
    train_loss: float
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    learning_rate: float
    seconds: float


class History(list):
    """The list of :class:`EpochRecord` of a training run, with ``stopped_early`` and ``best_epoch``
    (the epoch whose weights the model holds after early stopping with restore_best, else None)."""

    stopped_early = False
    best_epoch = None

    def column(self, name: str) -> list:
        """One learning curve, e.g. ``history.column("val_loss")``."""
        if name not in EpochRecord.__dataclass_fields__:
            raise ValueError(f"unknown column {name!r}; expected one of {', '.join(EpochRecord.__dataclass_fields__)}")
        return [getattr(r, name) for r in self]

    def table(self) -> str:
        """The learning curves as a text table, one line per epoch."""
        head = f"{'epoch':>5} {'train loss':>11} {'train acc':>9} {'val loss':>11} {'val acc':>8} {'lr':>9} {'sec':>6}"
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"  # noqa: E731
        lines = [head]
        for r in self:
            lines.append(
                f"{r.epoch:>5} {fmt(r.train_loss, '11.5f'):>11} {fmt(r.train_accuracy, '9.4f'):>9} "
                f"{fmt(r.val_loss, '11.5f'):>11} {fmt(r.val_accuracy, '8.4f'):>8} {r.learning_rate:>9.3g} {r.seconds:>6.2f}"
            )
        return "\n".join(lines)


def _check_loss(loss) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
    return loss


def prepare_targets(y, n_outputs: int, loss: str, name: str = "y"):
    """(targets, labels) for ``loss``: what the loss compares the outputs with, and the int class
    labels accuracy is measured against (None for regression / multi-label targets)."""
    _check_loss(loss)
    if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
        raise TypeError(f"{name} must be a list of labels or target vectors, got {type(y).__name__}")
    is_labels = len(y) > 0 and not hasattr(y[0], "__len__")
    if loss == "cross_entropy":
        if not is_labels and len(y):
            raise TypeError(f"{name} must hold int class labels for the cross_entropy loss")
        labels = check_labels(y, name, n_outputs)
        return labels, labels
    if is_labels:
        if n_outputs == 1:  # one output unit: a 0/1 target, classified by output >= 0.5
            labels = check_labels(y, name, 2)
            return [[float(v)] for v in labels], labels
        labels = check_labels(y, name, n_outputs)
        return one_hot(labels, n_outputs), labels
    targets = check_matrix(y, name, cols=n_outputs)
    if loss == "binary_cross_entropy":
        for i, row in enumerate(targets):
            if not all(0.0 <= v <= 1.0 for v in row):
                raise ValueError(f"{name}[{i}] must hold targets in [0, 1] for binary_cross_entropy")
    return targets, None


def _check_data(model: MLP, X, y, loss: str, name_x: str = "X", name_y: str = "y"):
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a reference.mlp.MLP, got {type(model).__name__}")
    X = check_matrix(X, name_x, cols=model.sizes[0])
    if not X:
        raise ValueError(f"{name_x} must hold at least one example")
    if not hasattr(y, "__len__") or len(y) != len(X):
        raise ValueError(f"{name_x} and {name_y} must have the same length, got {len(X)} and {len(y) if hasattr(y, '__len__') else y!r}")
    targets, labels = prepare_targets(y, model.sizes[-1], loss, name_y)
    return X, targets, labels


_LOSS_FUNCTIONS = {
    "cross_entropy": (cross_entropy, cross_entropy_grad),
    "binary_cross_entropy": (binary_cross_entropy, binary_cross_entropy_grad),
    "mse": (mse, mse_grad),
}


def _labels_of(outputs) -> list[int]:
    if len(outputs[0]) == 1:
        return [1 if row[0] >= 0.5 else 0 for row in outputs]
    return [max(range(len(row)), key=row.__getitem__) for row in outputs]


def _outputs(model: MLP, X, chunk: int = 256) -> list:
    out = []
    for start in range(0, len(X), chunk):
        out += model._forward(X[start:start + chunk]).output
    return out


def _evaluate(model, X, targets, labels, loss, loss_fn=None):
    out = _outputs(model, X)
    value = (loss_fn or _LOSS_FUNCTIONS[loss][0])(out, targets)
    if labels is None:
        return value, None
    predicted = _labels_of(out)
    return value, sum(p == t for p, t in zip(predicted, labels)) / len(labels)


def evaluate(model: MLP, X, y, loss: str = "cross_entropy"):
    """(mean loss, accuracy) of ``model`` on (X, y); accuracy is None without int labels."""
    X, targets, labels = _check_data(model, X, y, _check_loss(loss))
    return _evaluate(model, X, targets, labels, loss)


def predict(model: MLP, X) -> list[int]:
    """Class labels: the largest output (the argmax of the logits or scores), or, for a network
    with a single output, 1 if it is >= 0.5 else 0."""
    X = check_matrix(X, "X", cols=model.sizes[0])
    return _labels_of(_outputs(model, X)) if X else []


def predict_proba(model: MLP, X, loss: str = "cross_entropy") -> list[list[float]]:
    """Class probabilities: softmax of the logits (cross_entropy), or [1 - p, p] for a single
    sigmoid output (binary_cross_entropy). ValueError for mse, whose outputs are no probabilities."""
    _check_loss(loss)
    if loss == "mse":
        raise ValueError("predict_proba needs a probabilistic loss (cross_entropy or binary_cross_entropy), not mse")
    X = check_matrix(X, "X", cols=model.sizes[0])
    out = _outputs(model, X) if X else []
    if loss == "cross_entropy":
        return [softmax(row) for row in out]
    if model.sizes[-1] != 1:
        raise ValueError("predict_proba with binary_cross_entropy needs a single output")
    return [[1.0 - row[0], row[0]] for row in out]


def fit(model: MLP, X, y, optimizer: Optimizer, *, loss: str = "cross_entropy", epochs: int = 10,
        batch_size: int | None = 32, shuffle: bool = True, seed=0, l2: float = 0.0, dropout: float = 0.0,
        validation_data=None, validation_fraction: float = 0.0, early_stopping: EarlyStopping | None = None,
        label_smoothing: float = 0.0, callback=None) -> History:
    """Train ``model`` in place on (X, y) and return the learning curves (:class:`History`).

    ``optimizer``: a ``reference.optimizers`` optimizer (it carries the learning rate).
    ``batch_size``: B, or None for full-batch gradient descent. ``shuffle``: a new order every
    epoch. ``seed`` (int or random.Random) drives shuffling, dropout masks and the validation
    split. ``l2``: λ (see the module docstring). ``dropout``: rate p on the hidden layers.
    Validation data: ``validation_data=(X_val, y_val)``, or ``validation_fraction`` of (X, y)
    held out (stratified for int labels). ``early_stopping``: an :class:`EarlyStopping`
    (monitoring val_loss needs validation data). ``label_smoothing`` ε (cross_entropy only, as
    torch's; the validation loss uses it too, so the two curves stay comparable).
    ``callback(record)`` is called after every epoch.
    """
    _check_loss(loss)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a reference.optimizers.Optimizer, got {type(optimizer).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, Integral) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1):
        raise ValueError(f"batch_size must be an int >= 1 or None (full batch), got {batch_size!r}")
    if isinstance(l2, bool) or not isinstance(l2, Real) or not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, Real) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, Real) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if label_smoothing and loss != "cross_entropy":
        raise ValueError(f"label_smoothing applies to the cross_entropy loss only, not {loss}")
    rng = rng_from(seed)
    X, targets, labels = _check_data(model, X, y, loss)
    if validation_data is not None and validation_fraction:
        raise ValueError("give validation_data or validation_fraction, not both")
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        val = _check_data(model, *validation_data, loss, "X_val", "y_val")
    elif validation_fraction:
        stratify = labels is not None
        index = list(range(len(X)))
        keep, held, _, _ = train_test_split(index, labels if stratify else index, validation_fraction,
                                            seed=rng, stratify=stratify)
        pick = lambda values, where: [values[i] for i in where] if values is not None else None  # noqa: E731
        val = (pick(X, held), pick(targets, held), pick(labels, held))
        X, targets, labels = pick(X, keep), pick(targets, keep), pick(labels, keep)
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise TypeError(f"early_stopping must be a reference.regularization.EarlyStopping, got {type(early_stopping).__name__}")
        if early_stopping.monitor == "val_loss" and val is None:
            raise ValueError("early stopping on val_loss needs validation_data or validation_fraction")
        early_stopping.reset()

    loss_fn, loss_grad = _LOSS_FUNCTIONS[loss]
    if label_smoothing:
        loss_fn = functools.partial(cross_entropy, label_smoothing=label_smoothing)
        loss_grad = functools.partial(cross_entropy_grad, label_smoothing=label_smoothing)
    n = len(X)
    bs = n if batch_size is None else min(batch_size, n)
    params = model.parameters()
    order = list(range(n))
    history = History()
    for epoch in range(epochs):
        start_time = time.perf_counter()
        lr = optimizer.current_lr()
        if shuffle:
            rng.shuffle(order)
        loss_terms, correct = [], 0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            b = len(idx)
            trace = model._forward([X[i] for i in idx], dropout, rng)
            if not all(math.isfinite(v) for row in trace.output for v in row):
                raise FloatingPointError(f"the network's outputs overflowed in epoch {epoch + 1}: lower the learning rate")
            batch_targets = [targets[i] for i in idx]
            value, grad_out = loss_fn(trace.output, batch_targets), loss_grad(trace.output, batch_targets)
            grads = model.backward(trace, grad_out)
            if l2:
                value += l2_penalty(model.layers, l2) / b
                grads = [[[g + p for g, p in zip(grow, prow)] for grow, prow in zip(gl, pl)]
                         for gl, pl in zip(grads, l2_penalty_grad(model.layers, l2 / b))]
            optimizer.step(params, rows(grads))
            loss_terms.append(value * b)
            if labels is not None:
                correct += sum(p == labels[i] for p, i in zip(_labels_of(trace.output), idx))
        train_loss = math.fsum(loss_terms) / n
        if not math.isfinite(train_loss):
            raise FloatingPointError(f"the training loss diverged to {train_loss} in epoch {epoch + 1}: lower the learning rate")
        val_loss, val_acc = _evaluate(model, *val, loss, loss_fn) if val is not None else (None, None)
        record = EpochRecord(epoch + 1, train_loss, correct / n if labels is not None else None, val_loss, val_acc,
                             lr, time.perf_counter() - start_time)
        history.append(record)
        if callback is not None:
            callback(record)
        if early_stopping is not None:
            monitored = val_loss if early_stopping.monitor == "val_loss" else train_loss
            if early_stopping.update(monitored, model.layers):
                history.stopped_early = True
                break
    if early_stopping is not None and early_stopping.restore_best and early_stopping.best_weights is not None:
        model.load_weights(early_stopping.best_weights)
        history.best_epoch = early_stopping.best_epoch
    return history
