"""``MLPClassifier``: the reference MLP behind scikit-learn's familiar interface.

>>> from reference.datasets import xor
>>> X, y = xor()
>>> clf = MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", solver="adam",
...                     learning_rate_init=0.1, max_iter=100, batch_size=4, random_state=0)
>>> clf.fit(X, ["no", "yes", "yes", "no"]).predict(X)
['no', 'yes', 'yes', 'no']
>>> clf.classes_, clf.score(X, ["no", "yes", "yes", "no"])
(['no', 'yes'], 1.0)
"""
from __future__ import annotations

import math
import random
from numbers import Integral, Real

from .mlp import MLP
from .optimizers import make_optimizer
from .regularization import EarlyStopping
from .training import fit, predict, predict_proba
from .vector import check_matrix

_ACTIVATION_ALIASES = {"logistic": "sigmoid"}  # scikit-learn's name of the logistic sigmoid
SOLVERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
LEARNING_RATES = ("constant", "invscaling", "adaptive")  # scikit-learn's schedules for solver="sgd"


# Real parameters: name, lower end, whether it is allowed, upper end (excluded; math.inf also
# excludes inf and nan), and how the error message says it.
_RANGES = (("alpha", 0, True, math.inf, "a finite number >= 0"),
           ("tol", 0, True, math.inf, "a finite number >= 0"),
           ("learning_rate_init", 0, False, math.inf, "a finite number > 0"),
           ("epsilon", 0, False, math.inf, "a finite number > 0"),
           ("validation_fraction", 0, False, 1, "in (0, 1)"),
           ("momentum", 0, True, 1, "in [0, 1)"),
           ("beta_1", 0, True, 1, "in [0, 1)"),
           ("beta_2", 0, True, 1, "in [0, 1)"))


def _is_int(value, low) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= low


class MLPClassifier:
    """A multilayer perceptron classifier with scikit-learn's ``MLPClassifier`` parameters.

    The network is n_features - hidden_layer_sizes... - n_classes with ``activation`` on every
    hidden layer and softmax cross-entropy on the logits of the last (also for two classes, where
    scikit-learn uses one logistic output: the same family of models). Weights are Glorot-uniform,
    biases 0 (scikit-learn also draws the biases).

    Parameters as scikit-learn's: ``alpha`` is the L2 strength λ (penalty (λ/2)||W||² on the summed
    batch loss); ``batch_size="auto"`` is min(200, n_samples); ``learning_rate`` (the schedule of
    solver "sgd") is "constant" (η = ``learning_rate_init`` throughout); ``solver`` "sgd" uses
    ``momentum``/``nesterovs_momentum`` in scikit-learn's velocity form (η inside the velocity) and
    "adam" scikit-learn's ε placement (before the bias correction), see ``reference.optimizers``;
    "adamw", "rmsprop" and "adagrad" are extra, with torch's defaults. Training stops after
    ``max_iter`` epochs, or once the training loss has not improved by ``tol`` for
    ``n_iter_no_change`` epochs; with ``early_stopping`` a stratified ``validation_fraction`` is
    held out and its *loss* (scikit-learn: its accuracy) is monitored instead, and the weights of
    the best epoch are kept.

    Fitted attributes: ``classes_``, ``model_`` (the :class:`reference.mlp.MLP`), ``history_`` (the
    learning curves), ``loss_curve_`` (training loss per epoch), ``validation_scores_`` (held-out
    accuracy per epoch, with early_stopping), ``n_iter_``, ``coefs_``/``intercepts_`` (in
    scikit-learn's layout: ``coefs_[l]`` is n_in x n_out).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation: str = "relu", *, solver: str = "adam",
                 alpha: float = 0.0001, batch_size="auto", learning_rate: str = "constant", learning_rate_init: float = 0.001, max_iter: int = 200,
                 shuffle: bool = True, random_state=None, tol: float = 1e-4, verbose: bool = False,
                 momentum: float = 0.9, nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    def _check_parameters(self) -> None:
        """Check the numeric parameters by the names the user gave them (the internals have others)."""
        # learning_rate: scikit-learn's schedule of η, used only by solver="sgd"; only "constant"
        # is implemented, the others are refused where they would matter.
        if self.learning_rate not in LEARNING_RATES:
            raise ValueError(f"learning_rate must be one of {', '.join(map(repr, LEARNING_RATES))}, got {self.learning_rate!r}")
        if self.learning_rate != "constant" and self.solver == "sgd":
            raise NotImplementedError(f"learning_rate={self.learning_rate!r} is not implemented; use 'constant'")
        if self.batch_size != "auto" and not _is_int(self.batch_size, 1):
            raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {self.batch_size!r}")
        for name in ("max_iter", "n_iter_no_change"):
            if not _is_int(getattr(self, name), 1):
                raise ValueError(f"{name} must be an int >= 1, got {getattr(self, name)!r}")
        for name, low, low_allowed, high, interval in _RANGES:
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, Real)
                    or not ((value >= low if low_allowed else value > low) and value < high)):
                raise ValueError(f"{name} must be {interval}, got {value!r}")
        if not (self.random_state is None or isinstance(self.random_state, random.Random)
                or _is_int(self.random_state, -math.inf)):
            raise TypeError(f"random_state must be None, an int or a random.Random, got "
                            f"{type(self.random_state).__name__}")

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError(f"hidden_layer_sizes must be an int or a tuple of ints, got {sizes!r}")
        sizes = list(sizes)
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
                raise ValueError(f"hidden_layer_sizes must hold ints >= 1, got {self.hidden_layer_sizes!r}")
        return sizes

    def _optimizer(self):
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown solver {self.solver!r}; expected one of {', '.join(SOLVERS)}")
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return make_optimizer("sgd", lr, momentum=self.momentum, nesterov=self.nesterovs_momentum and self.momentum > 0,
                                  momentum_form="lr_inside")
        if self.solver == "adam":
            return make_optimizer("adam", lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                                  eps_placement="before_bias_correction")
        return make_optimizer(self.solver, lr)

    def fit(self, X, y) -> "MLPClassifier":
        """Train on X [n_samples][n_features] and the class labels y (any sortable values)."""
        X = check_matrix(X, "X")
        if not X or not X[0]:
            raise ValueError("X must hold at least one example with at least one feature")
        if not hasattr(y, "__len__") or len(y) != len(X):
            raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y) if hasattr(y, '__len__') else y!r}")
        try:
            classes = sorted(set(y))
        except TypeError:
            kinds = sorted({type(v).__name__ for v in y})
            raise TypeError(f"y must hold labels of one sortable type (all str, or all numbers), got "
                            f"{' and '.join(kinds)}") from None
        if len(classes) < 2:
            raise ValueError(f"y must contain at least two classes, got {classes}")
        index = {c: i for i, c in enumerate(classes)}
        labels = [index[v] for v in y]
        self._check_parameters()
        batch_size = min(200, len(X)) if self.batch_size == "auto" else int(self.batch_size)
        activation = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        sizes = [len(X[0]), *self._hidden_sizes(), len(classes)]
        model = MLP(sizes, [activation] * (len(sizes) - 2) + ["identity"], init="glorot_uniform",
                    seed=self.random_state)
        stopper = EarlyStopping(patience=self.n_iter_no_change, min_delta=self.tol,
                                monitor="val_loss" if self.early_stopping else "train_loss",
                                restore_best=bool(self.early_stopping))
        report = None
        if self.verbose:
            report = lambda r: print(f"Iteration {r.epoch}, loss = {r.train_loss:.8f}")  # noqa: E731
        history = fit(model, X, labels, self._optimizer(), epochs=self.max_iter, batch_size=batch_size,
                      shuffle=self.shuffle, seed=self.random_state, l2=self.alpha,
                      validation_fraction=self.validation_fraction if self.early_stopping else 0.0,
                      early_stopping=stopper, callback=report)
        self.classes_ = classes
        self.model_ = model
        self.history_ = history
        self.loss_curve_ = history.column("train_loss")
        self.validation_scores_ = history.column("val_accuracy") if self.early_stopping else None
        self.n_iter_ = len(history)
        return self

    def _fitted_model(self) -> MLP:
        if not hasattr(self, "model_"):
            raise ValueError("this MLPClassifier is not fitted yet: call fit(X, y) first")
        return self.model_

    def _check_fitted(self, X):
        return check_matrix(X, "X", cols=self._fitted_model().sizes[0])

    def predict_proba(self, X) -> list[list[float]]:
        """P(class) for every example, columns in the order of ``classes_``."""
        X = self._check_fitted(X)
        return predict_proba(self.model_, X)

    def predict(self, X) -> list:
        """The most probable class of every example."""
        X = self._check_fitted(X)
        return [self.classes_[i] for i in predict(self.model_, X)]

    def score(self, X, y) -> float:
        """Accuracy: the fraction of examples whose predicted class is y."""
        predicted = self.predict(X)
        if not hasattr(y, "__len__") or len(y) != len(predicted):
            raise ValueError(f"X and y must have the same length, got {len(predicted)} and {len(y) if hasattr(y, '__len__') else y!r}")
        return sum(p == t for p, t in zip(predicted, y)) / len(predicted)

    @property
    def coefs_(self) -> list:
        """Weight matrices in scikit-learn's layout: ``coefs_[l][i][j]`` from input i to neuron j."""
        return [[list(col) for col in zip(*(row[1:] for row in layer))] for layer in self._fitted_model().layers]

    @property
    def intercepts_(self) -> list:
        """Bias vectors, one per layer."""
        return [[row[0] for row in layer] for layer in self._fitted_model().layers]
