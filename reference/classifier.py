"""``MLPClassifier``: the reference MLP behind scikit-learn's familiar interface.

>>> from reference.datasets import xor
>>> X, y = xor()
>>> clf = MLPClassifier(hidden_layer_sizes=(4,), activation="tanh", solver="adam",
...                     learning_rate_init=0.1, max_iter=100, batch_size=4, random_state=0)
>>> clf.fit(X, ["no", "yes", "yes", "no"]).predict(X)
['no', 'yes', 'yes', 'no']
>>> clf.classes_, clf.score(X, ["no", "yes", "yes", "no"])
(['no', 'yes'], 1.0)

It follows scikit-learn's estimator conventions without importing it: the constructor stores its
parameters as given (checked at ``fit``), ``get_params``/``set_params`` read and write them, a fitted
model pickles, and bad input gets scikit-learn's error messages. Adding scikit-learn's mixins makes
it a full scikit-learn estimator (``clone``, pipelines, grid search):

    class SkMLPClassifier(ClassifierMixin, BaseEstimator, reference.MLPClassifier):
        pass

>>> MLPClassifier().predict([[0.0, 1.0]])
Traceback (most recent call last):
...
reference.classifier.NotFittedError: This MLPClassifier instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator.
"""
from __future__ import annotations

import inspect
import math
import random
import warnings
from collections.abc import Mapping
from numbers import Complex, Integral, Real

from .mlp import MLP
from .optimizers import make_optimizer
from .regularization import EarlyStopping
from .training import fit, predict, predict_proba

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


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before ``fit``; a ValueError and an AttributeError, like
    scikit-learn's exception of this name (so ``hasattr(clf, "coefs_")`` is False before fit)."""


class DataConversionWarning(UserWarning):
    """Warns that the input was reshaped to fit (a column vector y raveled), as scikit-learn's does."""


def _print_iteration(record) -> None:
    print(f"Iteration {record.epoch}, loss = {record.train_loss:.8f}")


# Input is read with len() and iteration only, so lists, tuples, numpy arrays and array.array all
# work without importing numpy; the messages are scikit-learn's, which its users know.
def _is_sequence(value) -> bool:
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        return False
    try:
        len(value)
    except TypeError:  # a 0-d numpy array has __len__ but no length
        return False
    return True


def _reject_sparse(value, name: str) -> None:
    if hasattr(value, "nnz"):  # scipy.sparse and pydata/sparse arrays, recognised without importing them
        raise TypeError(f"Sparse data was passed for {name}, but dense data is required: sparse input is not "
                        f"supported. Use {name}.toarray() to convert it to a dense array.")


def _as_float(value, where: str, name: str) -> float:
    """One entry of X as a float; ``where`` ("X[3][1]") locates it in the message."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{where} is the string {value!r}: convert your data to numeric values explicitly")
    if isinstance(value, Complex) and not isinstance(value, Real):
        raise ValueError(f"Complex data not supported ({where} = {value})")
    try:
        v = float(value)
    except TypeError as e:  # Python's message is numpy's, and so scikit-learn's
        raise TypeError(f"{e} ({where})") from None
    except OverflowError:  # an int beyond float64's range
        v = math.inf
    if math.isnan(v):
        raise ValueError(f"Input {name} contains NaN ({where}).")
    if math.isinf(v):
        raise ValueError(f"Input {name} contains infinity or a value too large for dtype('float64') "
                         f"({where} = {value}).")
    return v


def _check_X(X, estimator: str, *, n_features: int | None = None, min_samples: int = 1) -> list[list[float]]:
    """X [n_samples][n_features] as a list of float rows; an error in scikit-learn's words for
    sparse, 1-D, 3-D, ragged, empty, non-numeric, complex, NaN or infinite input, fewer than
    ``min_samples`` rows, or other than ``n_features`` columns (the number seen in fit)."""
    _reject_sparse(X, "X")
    if not _is_sequence(X):
        raise TypeError(f"Expected a 2D array (a sequence of rows, e.g. a list of lists or a numpy array), got "
                        f"{type(X).__name__}")
    rows = []
    for i, row in enumerate(X):
        if not _is_sequence(row):
            if i == 0:
                raise ValueError("Expected 2D array, got 1D array instead. Reshape your data either using "
                                 "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) "
                                 "if it contains a single sample.")
            raise ValueError(f"X must be rectangular: X[0] has {len(rows[0])} entries, X[{i}] is a "
                             f"{type(row).__name__}")
        if rows and len(row) != len(rows[0]):
            raise ValueError(f"X must be rectangular: X[0] has {len(rows[0])} entries, X[{i}] has {len(row)}")
        if i == 0 and len(row) and _is_sequence(next(iter(row))):  # deeper in, float() names the entry
            raise ValueError(f"Found array with dim 3. {estimator} expected <= 2.")
        rows.append([v if type(v) is float and math.isfinite(v) else _as_float(v, f"X[{i}][{j}]", "X")
                     for j, v in enumerate(row)])
    if len(rows) < min_samples:
        shape = f"{len(rows)}, {len(rows[0])}" if rows else "0,"
        raise ValueError(f"Found array with {len(rows)} sample(s) (shape=({shape})) while a minimum of "
                         f"{min_samples} is required by {estimator}.")
    if rows and not rows[0]:
        raise ValueError(f"Found array with 0 feature(s) (shape=({len(rows)}, 0)) while a minimum of 1 is "
                         f"required by {estimator}.")
    if n_features is not None and rows and len(rows[0]) != n_features:
        raise ValueError(f"X has {len(rows[0])} features, but {estimator} is expecting {n_features} features as input.")
    return rows


def _check_y(y, n_samples: int, estimator: str) -> list:
    """The class labels y as a list of n_samples labels (a column vector is raveled, with a warning);
    an error in scikit-learn's words for a missing, sparse, 2-D, complex or continuous target, NaN or
    infinity. Floats are labels only if they are whole numbers, as in scikit-learn."""
    if y is None:
        raise ValueError(f"{estimator} requires y to be passed, but the target y is None.")
    _reject_sparse(y, "y")
    if not _is_sequence(y):
        raise TypeError(f"y must be a sequence of labels (e.g. a list or a numpy array), got {type(y).__name__}")
    labels = list(y)
    if len(labels) != n_samples:
        raise ValueError(f"X and y must have the same length: found input variables with inconsistent numbers "
                         f"of samples: [{n_samples}, {len(labels)}]")
    if any(_is_sequence(v) for v in labels):
        if not all(_is_sequence(v) and len(v) == 1 for v in labels):
            raise ValueError(f"y should be a 1d array, got an array of {n_samples} rows of "
                             f"{len(next(v for v in labels if _is_sequence(v)))} entries instead.")
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=3)
        labels = [v[0] for v in labels]
    for i, v in enumerate(labels):
        if isinstance(v, Complex) and not isinstance(v, Real):
            raise ValueError(f"Complex data not supported (y[{i}] = {v})")
        if isinstance(v, Real) and not isinstance(v, Integral):
            f = _as_float(v, f"y[{i}]", "y")
            if not f.is_integer():  # a class label may be a float only if it is a whole number
                raise ValueError(f"Unknown label type: continuous (y[{i}] = {v}). Maybe you are trying to fit a "
                                 "classifier, which expects discrete classes on a regression target with "
                                 "continuous values.")
    return labels


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

    As in scikit-learn, ``__init__`` only stores the parameters, under their own names (read and
    written with ``get_params``/``set_params``), and ``fit`` checks them. X is any sequence of rows
    of numbers and y any sequence of labels (lists, tuples, numpy arrays, array.array), read with
    len() and iteration only; predictions come back as lists.

    Fitted attributes: ``classes_`` (sorted), ``n_features_in_``, ``model_`` (the
    :class:`reference.mlp.MLP`), ``history_`` (the learning curves), ``loss_curve_`` (training loss
    per epoch), ``validation_scores_`` (held-out accuracy per epoch, with early_stopping),
    ``n_iter_`` (epochs run), ``coefs_``/``intercepts_`` (in scikit-learn's layout: ``coefs_[l]`` is
    n_in x n_out). Before ``fit`` they raise :class:`NotFittedError`, and so do ``predict``,
    ``predict_proba`` and ``score``.
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

    @classmethod
    def _parameter_names(cls) -> list[str]:
        """The constructor's parameter names, read from its signature (so a subclass's own count)."""
        return sorted(p.name for p in inspect.signature(cls.__init__).parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict:
        """The parameters by name, as given (``deep`` is scikit-learn's; no parameter is a model)."""
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **params) -> "MLPClassifier":
        """Set parameters by name; like the constructor's, they are checked at the next ``fit``."""
        valid = self._parameter_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, name, value)
        return self

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
        """Train on X [n_samples][n_features] and the class labels y (any sortable values); any
        sequences of numbers (lists, tuples, numpy arrays, array.array) will do."""
        name = type(self).__name__
        X = _check_X(X, name, min_samples=2)  # two classes need two samples
        y = _check_y(y, len(X), name)
        try:
            classes = sorted(set(y))
        except TypeError:
            kinds = sorted({type(v).__name__ for v in y})
            raise TypeError(f"y must hold labels of one sortable type (all str, or all numbers), got "
                            f"{' and '.join(kinds)}") from None
        if len(classes) < 2:
            raise ValueError(f"y must contain at least two classes, got one class: {classes[0]!r}")
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
        history = fit(model, X, labels, self._optimizer(), epochs=self.max_iter, batch_size=batch_size,
                      shuffle=self.shuffle, seed=self.random_state, l2=self.alpha,
                      validation_fraction=self.validation_fraction if self.early_stopping else 0.0,
                      early_stopping=stopper, callback=_print_iteration if self.verbose else None)
        self.classes_ = classes
        self.n_features_in_ = len(X[0])
        self.model_ = model
        self.history_ = history
        self.loss_curve_ = history.column("train_loss")
        self.validation_scores_ = history.column("val_accuracy") if self.early_stopping else None
        self.n_iter_ = len(history)
        return self

    def _fitted_model(self) -> MLP:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 "appropriate arguments before using this estimator.")
        return self.model_

    def _check_fitted(self, X) -> list[list[float]]:
        self._fitted_model()
        return _check_X(X, type(self).__name__, n_features=self.n_features_in_)

    def predict_proba(self, X) -> list[list[float]]:
        """P(class) for every example: the softmax of the logits, columns in the order of ``classes_``."""
        X = self._check_fitted(X)
        return predict_proba(self.model_, X)

    def predict(self, X) -> list:
        """The most probable class of every example."""
        X = self._check_fitted(X)
        return [self.classes_[i] for i in predict(self.model_, X)]

    def score(self, X, y) -> float:
        """Accuracy: the fraction of examples whose predicted class is y."""
        predicted = self.predict(X)
        y = _check_y(y, len(predicted), type(self).__name__)
        return sum(p == t for p, t in zip(predicted, y)) / len(predicted)

    @property
    def coefs_(self) -> list:
        """Weight matrices in scikit-learn's layout: ``coefs_[l][i][j]`` from input i to neuron j."""
        return [[list(col) for col in zip(*(row[1:] for row in layer))] for layer in self._fitted_model().layers]

    @property
    def intercepts_(self) -> list:
        """Bias vectors, one per layer."""
        return [[row[0] for row in layer] for layer in self._fitted_model().layers]
