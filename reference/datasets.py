"""Small data sets as plain lists, and the data handling around training: splits and scaling.

* :func:`xor` – the four points of XOR, the classic set no single neuron can separate.
* :func:`load_patients` – the 15 patients (age, blood pressure) -> disease of the "Introduction to
  Neural Networks" deck, with its 4 unlabelled test patients.
* :func:`load_digits` – 1797 real 8x8 images of handwritten digits (UCI "optdigits", the copy
  that scikit-learn ships), vendored in ``reference/data/`` with its licence and attribution.

>>> X, y = xor()
>>> X, y
([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
>>> X, y = load_digits()
>>> len(X), len(X[0]), sorted(set(y)) == list(range(10))
(1797, 64, True)
"""
from __future__ import annotations

import gzip
import math
from numbers import Integral, Real
from pathlib import Path

from .initialization import rng_from
from .vector import check_matrix

DATA_DIR = Path(__file__).resolve().parent / "data"


def xor():
    """(X, y): the inputs {0,1}² and their XOR, y = x_1 ⊕ x_2."""
    X = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    return X, [int(a) ^ int(b) for a, b in X]


def load_patients():
    """(X_train, y_train, X_test): the patient data of the "Introduction to Neural Networks" deck.

    X_train holds 15 rows [age in years, blood pressure], y_train their labels (1: has the disease,
    0: does not), X_test the 4 new patients the deck asks the trained network about. Fresh lists
    on every call, so a caller may scale them in place.

    >>> X, y, X_new = load_patients()
    >>> len(X), sum(y), X[0], X_new[0]
    (15, 9, [25.0, 120.0], [40.0, 145.0])
    """
    rows = [(25, 120, 0), (45, 140, 1), (35, 130, 0), (50, 160, 1), (60, 170, 1),
            (30, 115, 0), (55, 155, 1), (40, 135, 0), (65, 180, 1), (70, 190, 1),
            (32, 125, 0), (48, 150, 1), (58, 165, 1), (42, 145, 1), (38, 132, 0)]
    X_train = [[float(age), float(bp)] for age, bp, _ in rows]
    y_train = [label for _, _, label in rows]
    X_test = [[40.0, 145.0], [30.0, 110.0], [50.0, 170.0], [60.0, 160.0]]
    return X_train, y_train, X_test


def load_digits():
    """(X, y): 1797 digit images, X[k] the 64 pixels (row-major 8x8, integers 0..16 as floats),
    y[k] the digit 0..9. See ``reference/data/README.md`` for source and licence.

    >>> X, y = load_digits()
    >>> y[:10]
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> max(max(row) for row in X), min(min(row) for row in X)
    (16.0, 0.0)
    """
    X, y = [], []
    with gzip.open(DATA_DIR / "digits.csv.gz", "rt", encoding="ascii") as f:
        for line in f:
            *pixels, label = line.split(",")
            X.append([float(v) for v in pixels])
            y.append(int(float(label)))
    return X, y


def check_labels(y, name: str = "y", n_classes: int | None = None) -> list[int]:
    """Validate class labels: ints (not bools), >= 0, and < ``n_classes`` when given."""
    if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
        raise TypeError(f"{name} must be a list of int class labels, got {type(y).__name__}")
    out = []
    for i, label in enumerate(y):
        if isinstance(label, bool) or not isinstance(label, Integral):
            raise TypeError(f"{name}[{i}] must be an int class label, got {type(label).__name__}")
        if label < 0 or (n_classes is not None and label >= n_classes):
            bound = f"0 <= label < {n_classes}" if n_classes is not None else "label >= 0"
            raise ValueError(f"{name}[{i}] = {label} is out of range: expected {bound}")
        out.append(int(label))
    return out


def train_test_split(X, y, test_fraction: float = 0.2, *, seed=0, stratify: bool = True):
    """(X_train, X_test, y_train, y_test): a seeded random split, test part ≈ ``test_fraction``.

    With ``stratify`` (y must be int labels) every class is split separately, taking
    round(n_c · test_fraction) of its n_c examples for the test part, so both parts keep the class
    proportions. Both parts keep the original order of the examples.

    >>> X = [[float(i)] for i in range(10)]
    >>> y = [0] * 5 + [1] * 5
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.4, seed=1)
    >>> len(X_tr), len(X_te), y_te.count(0), y_te.count(1)
    (6, 4, 2, 2)
    """
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real) or not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = rng_from(seed)
    if stratify:
        labels = check_labels(y)
        groups: dict[int, list[int]] = {}
        for i, label in enumerate(labels):
            groups.setdefault(label, []).append(i)
        test = []
        for label in sorted(groups):
            idx = groups[label]
            rng.shuffle(idx)
            test += idx[:round(len(idx) * test_fraction)]
    else:
        idx = list(range(len(X)))
        rng.shuffle(idx)
        test = idx[:round(len(idx) * test_fraction)]
    is_test = [False] * len(X)
    for i in test:
        is_test[i] = True
    if not any(is_test) or all(is_test):
        raise ValueError(f"test_fraction={test_fraction} of {len(X)} examples leaves one part empty")
    X_train = [x for x, t in zip(X, is_test) if not t]
    X_test = [x for x, t in zip(X, is_test) if t]
    y_train = [v for v, t in zip(y, is_test) if not t]
    y_test = [v for v, t in zip(y, is_test) if t]
    return X_train, X_test, y_train, y_test


def fit_standardizer(X):
    """(means, stds) of every feature (column) of X: μ_i = (1/n) Σ_k x_ki, s_i = √((1/n) Σ_k (x_ki - μ_i)²).

    A constant feature gets s_i = 1 (it would divide by 0), so it standardizes to 0.

    >>> fit_standardizer([[1.0, 5.0], [3.0, 5.0]])
    ([2.0, 5.0], [1.0, 1.0])
    """
    X = check_matrix(X, "X")
    if not X:
        raise ValueError("X must hold at least one example")
    n = len(X)
    means, stds = [], []
    for col in zip(*X):
        mu = math.fsum(col) / n
        s = math.sqrt(math.fsum((v - mu) * (v - mu) for v in col) / n)
        means.append(mu)
        stds.append(s if s > 0.0 else 1.0)
    return means, stds


def standardize(X, means, stds) -> list[list[float]]:
    """(x_ki - μ_i) / s_i for every example and feature (apply the training set's μ, s everywhere).

    >>> standardize([[1.0, 5.0], [3.0, 5.0]], [2.0, 5.0], [1.0, 1.0])
    [[-1.0, 0.0], [1.0, 0.0]]
    """
    X = check_matrix(X, "X", cols=len(means))
    if len(stds) != len(means):
        raise ValueError(f"means and stds must have the same length, got {len(means)} and {len(stds)}")
    return [[(v - m) / s for v, m, s in zip(row, means, stds)] for row in X]


def one_hot(y, n_classes: int) -> list[list[float]]:
    """The rows e_{y_k} of the n_classes x n_classes identity (targets for MSE classification).

    >>> one_hot([2, 0], 3)
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    labels = check_labels(y, n_classes=n_classes)
    return [[1.0 if c == label else 0.0 for c in range(n_classes)] for label in labels]
