"""Regularization: ways to make a network generalise beyond its training set.

* **L2 penalty** (weight decay): minimise E(w) + (λ/2) Σ w_ji² over the weights (not the biases
  w_j0), whose gradient adds λ w_ji; large weights, and with them sharp decision boundaries,
  become expensive.
* **Dropout** (Srivastava et al. 2014): during training every hidden output y_j is dropped
  (set to 0) with probability p, independently per example; the "inverted" form scales the kept
  ones by 1 / (1 - p), so E[y_j] is unchanged and the network is used as is at test time.
* **Early stopping**: watch the loss on a validation set held out from training and stop once
  it has not improved for ``patience`` epochs, keeping the weights of the best epoch.

The weights of a network here are ``reference.mlp.MLP.layers``: per layer, one row per neuron j,
[w_j0, w_j1, ..., w_jK] with the bias w_j0 first (the course's y_0 = 1).

>>> l2_penalty([[[5.0, 1.0, 2.0]]], lam=0.1)  # the bias 5.0 is not penalised: 0.05 · (1 + 4)
0.25
>>> mask = dropout_mask(8, 0.5, seed=0)
>>> sorted(set(mask))  # dropped (0) or kept and scaled by 1 / (1 - p) = 2
[0.0, 2.0]
"""
from __future__ import annotations

import copy
import math
from numbers import Integral, Real

from .initialization import rng_from


def _check_lam(lam) -> float:
    if isinstance(lam, bool) or not isinstance(lam, Real) or not (math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam (the L2 strength λ) must be a finite number >= 0, got {lam!r}")
    return float(lam)


def l2_penalty(layers, lam: float) -> float:
    """(λ/2) Σ_l Σ_j Σ_{i>=1} w_ji², the biases w_j0 excluded; a correctly rounded sum."""
    lam = _check_lam(lam)
    return 0.5 * lam * math.fsum(w * w for layer in layers for row in layer for w in row[1:])


def l2_penalty_grad(layers, lam: float) -> list:
    """∂/∂w of :func:`l2_penalty`: λ w_ji for the weights, 0 for the biases; shaped like ``layers``.

    >>> l2_penalty_grad([[[5.0, 1.0, 2.0]]], lam=0.1)
    [[[0.0, 0.1, 0.2]]]
    """
    lam = _check_lam(lam)
    return [[[0.0] + [lam * w for w in row[1:]] for row in layer] for layer in layers]


def _check_rate(p) -> float:
    if isinstance(p, bool) or not isinstance(p, Real) or not (0.0 <= p < 1.0):
        raise ValueError(f"dropout rate p must be in [0, 1), got {p!r}")
    return float(p)


def dropout_mask(n: int, p: float, seed=0) -> list[float]:
    """n independent factors m_j: 0.0 with probability p, else 1 / (1 - p) (inverted dropout).

    Multiplying y_j by m_j keeps E[m_j y_j] = y_j; the same m_j multiplies ∂E/∂y_j on the way
    back. ``seed`` is an int or a ``random.Random`` (draws continue its stream).
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    p = _check_rate(p)
    rng = rng_from(seed)
    keep = 1.0 / (1.0 - p)
    rand = rng.random
    return [0.0 if rand() < p else keep for _ in range(n)]


def dropout(y, p: float, seed=0):
    """Inverted dropout of the vector y: returns (y ⊙ m, m) with m = ``dropout_mask(len(y), p, seed)``.

    >>> dropout([1.0, 2.0, 3.0], 0.0)  # p = 0 keeps everything unchanged
    ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    """
    mask = dropout_mask(len(y), p, seed)
    return [v * m for v, m in zip(y, mask)], mask


class EarlyStopping:
    """Stop training when a monitored loss has not improved for ``patience`` epochs.

    An epoch improves if its loss < best - ``min_delta``. :meth:`update` returns True when
    training should stop (``patience`` consecutive epochs without improvement). With
    ``restore_best`` the training loop puts back the weights of the best epoch
    (:attr:`best_weights`, a snapshot taken by :meth:`update`). ``monitor`` names the loss,
    "val_loss" (held-out data, the usual choice) or "train_loss" (scikit-learn's convergence test
    when it has no validation set).

    >>> stop = EarlyStopping(patience=2)
    >>> [stop.update(loss) for loss in [1.0, 0.8, 0.9, 0.85]]
    [False, False, False, True]
    >>> stop.best_epoch, stop.best  # epochs count from 1
    (2, 0.8)
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, monitor: str = "val_loss",
                 restore_best: bool = True):
        if isinstance(patience, bool) or not isinstance(patience, Integral) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, Real) or not (math.isfinite(min_delta) and min_delta >= 0):
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        if monitor not in ("val_loss", "train_loss"):
            raise ValueError(f"monitor must be 'val_loss' or 'train_loss', got {monitor!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.monitor = monitor
        self.restore_best = bool(restore_best)
        self.reset()

    def reset(self) -> None:
        """Forget the history (before a new training run)."""
        self.best = math.inf
        self.best_epoch = 0
        self.best_weights = None
        self.epoch = 0
        self.wait = 0

    def update(self, loss: float, weights=None) -> bool:
        """Record the next epoch's ``loss`` (and a snapshot of ``weights`` if it is the best so far);
        True when there has been no improvement for ``patience`` epochs."""
        if isinstance(loss, bool) or not isinstance(loss, Real) or math.isnan(loss):
            raise ValueError(f"loss must be a number (not NaN), got {loss!r}")
        self.epoch += 1
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = float(loss), self.epoch, 0
            if weights is not None:
                self.best_weights = copy.deepcopy(weights)
            return False
        self.wait += 1
        return self.wait >= self.patience
