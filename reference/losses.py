"""Loss functions E and their gradients ∂E/∂y, in float64 with correctly rounded reductions.

Notation: y is the network's output (a prediction, a probability or a logit vector z), d the
desired output (target). Each loss has a ``*_grad`` partner returning ∂E/∂y in the shape of y;
``reference.gradcheck`` verifies every one of them against finite differences in the tests.

Reductions follow torch: ``"mean"`` averages over *every element* (for a batch of M examples
with P outputs, over M·P numbers), ``"sum"`` adds, ``"none"`` returns the per-element (per-row
for the row-wise losses) values. The gradient is always the exact gradient of the value
returned: for multi-output MSE it carries the factor 1/(M·P). (scikit-learn's MLPRegressor
reports loss = Σ(y - d)² / (2MP) but back-propagates (y - d)/M, a gradient P times too large
for its loss; see tests/test_reference_losses.py.)

>>> mse([[1.0, 2.0], [3.0, 4.0]], [[1.0, 0.0], [3.0, 0.0]])  # (0 + 4 + 0 + 16) / 4
5.0
>>> cross_entropy([[0.0, 0.0]], [1])  # log 2: two equally likely classes
0.6931471805599453
"""
from __future__ import annotations

import math
import struct
from numbers import Integral

from .activations import _lse_split
from .vector import check_matrix, check_number, check_vector

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")
    return reduction


def _reduce(values: list[float], reduction: str, count: float):
    if reduction == "none":
        return values
    total = math.fsum(values)
    return total if reduction == "sum" else total / count


def _grad_scales(grad_output, reduction: str, n: int, count: float) -> list[float]:
    """The factor ∂(reduced loss)/∂(loss_i) times the upstream gradient, for each of the n terms."""
    if reduction == "none":
        return check_vector(grad_output, "grad_output", length=n)
    g = check_number(grad_output, "grad_output")
    return [g / count if reduction == "mean" else g] * n


# --------------------------------------------------------------------------------------------
# Softmax cross-entropy from logits (torch.nn.functional.cross_entropy, class-index targets)
# --------------------------------------------------------------------------------------------


def _check_ce(logits, target, weight, ignore_index, reduction, label_smoothing, z_loss):
    logits = check_matrix(logits, "logits", allow_neg_inf=True)
    n = len(logits)
    v = len(logits[0]) if n else 0
    if n and v == 0:
        raise ValueError("logits must have at least one class (column)")
    if isinstance(target, (str, bytes)) or not hasattr(target, "__len__"):
        raise TypeError(f"target must be a list of class indices, got {type(target).__name__}")
    if len(target) != n:
        raise ValueError(f"target must have one class index per row of logits ({n}), got {len(target)}")
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, Integral):
        raise TypeError(f"ignore_index must be an int, got {type(ignore_index).__name__}")
    for i, t in enumerate(target):
        if isinstance(t, bool) or not isinstance(t, Integral):
            raise TypeError(f"target[{i}] must be an int class index, got {type(t).__name__}")
        if t != ignore_index and not 0 <= t < v:
            raise ValueError(f"target[{i}] = {t} is out of range: expected 0 <= target < {v} or ignore_index")
    target = [int(t) for t in target]
    if weight is not None:
        weight = check_vector(weight, "weight", length=v)
    _check_reduction(reduction)
    label_smoothing = check_number(label_smoothing, "label_smoothing")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    z_loss = check_number(z_loss, "z_loss")
    if z_loss < 0.0:
        raise ValueError(f"z_loss must be >= 0, got {z_loss}")
    for i, (row, t) in enumerate(zip(logits, target)):
        if t != ignore_index and max(row) == -math.inf:
            raise ValueError(f"logits[{i}] is all -inf: its softmax (and loss) is undefined")
    return logits, target, weight, label_smoothing, z_loss


def _ce_denominator(target, weight, ignore_index) -> float:
    """D = Σ over non-ignored rows of weight[target_i] (the row count without weights), as torch."""
    kept = [t for t in target if t != ignore_index]
    d = math.fsum(weight[t] for t in kept) if weight is not None else float(len(kept))
    if kept and d == 0.0:
        raise ValueError("the weights of the non-ignored targets sum to 0: the mean loss is undefined")
    return d


def logsumexp_rows(logits) -> list[float]:
    """lse_i = log Σ_c e^{z_ic} for each row i (see :func:`reference.activations.logsumexp`).

    >>> logsumexp_rows([[0.0, 0.0], [1000.0, -math.inf]])
    [0.6931471805599453, 1000.0]
    """
    out = []
    for row in check_matrix(logits, "logits", allow_neg_inf=True):
        m, r = _lse_split(row)
        out.append(m if m == -math.inf else m + math.log1p(r))
    return out


def cross_entropy(
    logits, target, *, weight=None, ignore_index: int = -100, reduction: str = "mean",
    label_smoothing: float = 0.0, z_loss: float = 0.0,
):
    """Softmax cross-entropy of logits z [N][V] against class indices d [N], as torch plus z-loss.

    With log p_ic = z_ic - lse_i, lse_i = log Σ_c e^{z_ic}, class weights w (all 1 by default),
    ε = label_smoothing, for each row i whose target d_i != ignore_index:

        loss_i = (1 - ε) w_{d_i} (-log p_{i d_i})  +  (ε / V) Σ_c w_c (-log p_ic)  +  z_loss · lse_i²

    and loss_i = 0 for ignored rows. ``"none"`` returns [loss_i], ``"sum"`` Σ_i loss_i, ``"mean"``
    Σ_i loss_i / D with D = Σ_{i not ignored} w_{d_i} (the number of counted rows without weights),
    exactly torch's denominator (also applied to the z term, which is not class-weighted).

    Deliberate difference from torch: when no row is counted (every target ignored, or N = 0) the
    mean is 0.0, where torch returns NaN (0/0): a batch of padding contributes no loss and no
    gradient. A row whose logits are all -inf is a ValueError (torch: NaN).

    Accuracy: -log p_{i d_i} = (m_i - z_{i d_i}) + log1p(Σ_{c ≠ argmax} e^{z_ic - m_i}) keeps a
    few-ulp relative error even for confident rows where p ≈ 1 and the loss is ~1e-20.

    >>> cross_entropy([[2.0, 0.0], [0.0, 0.0]], [0, -100], reduction="none")
    [0.1269280110429725, 0.0]
    >>> cross_entropy([[0.0, 0.0]], [-100])  # all ignored: 0.0 (torch gives nan)
    0.0
    """
    logits, target, weight, eps, z_loss = _check_ce(
        logits, target, weight, ignore_index, reduction, label_smoothing, z_loss
    )
    v = len(logits[0]) if logits else 0
    losses = []
    for row, t in zip(logits, target):
        if t == ignore_index:
            losses.append(0.0)
            continue
        m, r = _lse_split(row)
        shift = math.log1p(r)
        w_t = weight[t] if weight is not None else 1.0
        terms = [(1.0 - eps) * w_t * ((m - row[t]) + shift)]
        if eps:
            w = weight if weight is not None else [1.0] * v
            terms.append(eps / v * math.fsum(w_c * ((m - z) + shift) for w_c, z in zip(w, row)))
        if z_loss:
            lse = m + shift
            terms.append(z_loss * lse * lse)
        losses.append(math.fsum(terms))
    if reduction != "mean":
        return _reduce(losses, reduction, 1.0)
    if all(t == ignore_index for t in target):
        return 0.0
    return _reduce(losses, reduction, _ce_denominator(target, weight, ignore_index))


def cross_entropy_grad(
    logits, target, *, weight=None, ignore_index: int = -100, reduction: str = "mean",
    label_smoothing: float = 0.0, z_loss: float = 0.0, grad_output=1.0,
) -> list[list[float]]:
    """∂loss/∂z for :func:`cross_entropy` with the same options, times ``grad_output``.

    For a counted row i with p = softmax(z_i), W = Σ_c w_c and t = d_i:

        ∂loss_i/∂z_ij = (1 - ε) w_t (p_j - [j = t])  +  (ε / V) (W p_j - w_j)  +  2 z_loss lse_i p_j

    and 0 for ignored rows; the row is then scaled by grad_output / D (mean), grad_output (sum)
    or grad_output[i] (none: a list of N floats). 1 - p_t is computed as Σ_{c ≠ t} p_c, so the
    true-class gradient of a confident row (p_t = 1 - 1e-12, say) keeps full relative accuracy
    instead of the ~1e-4 that fl(p_t) - 1 would leave.

    >>> cross_entropy_grad([[0.0, 0.0]], [1])
    [[0.5, -0.5]]
    """
    logits, target, weight, eps, z_loss = _check_ce(
        logits, target, weight, ignore_index, reduction, label_smoothing, z_loss
    )
    n = len(logits)
    v = len(logits[0]) if n else 0
    counted = any(t != ignore_index for t in target)
    d = _ce_denominator(target, weight, ignore_index) if reduction == "mean" and counted else 1.0
    scales = _grad_scales(grad_output, reduction, n, d)
    w = weight if weight is not None else [1.0] * v
    w_total = math.fsum(w)
    grad = []
    for row, t, s in zip(logits, target, scales):
        if t == ignore_index:
            grad.append([0.0] * v)
            continue
        m = max(row)
        e = [math.exp(z - m) for z in row]
        total = math.fsum(e)
        p = [ei / total for ei in e]
        one_minus_p_t = math.fsum(e[:t] + e[t + 1:]) / total
        lse = m + math.log(total)
        g = []
        for j in range(v):
            terms = [(1.0 - eps) * w[t] * (-one_minus_p_t if j == t else p[j])]
            if eps:
                terms.append(eps / v * (w_total * p[j] - w[j]))
            if z_loss:
                terms.append(2.0 * z_loss * lse * p[j])
            g.append(s * math.fsum(terms))
        grad.append(g)
    return grad


# --------------------------------------------------------------------------------------------
# Element-wise losses on predictions y and targets d (a vector, or a batch [M][P])
# --------------------------------------------------------------------------------------------


def _check_pair(y, d, name_y: str, name_d: str):
    """Flatten y and d (both vectors, or both [M][P] batches) and return (ys, ds, unflatten)."""
    if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
        raise TypeError(f"{name_y} must be a list of numbers or of rows, got {type(y).__name__}")
    if len(y) and hasattr(y[0], "__len__"):
        ym = check_matrix(y, name_y)
        dm = check_matrix(d, name_d, rows=len(ym), cols=len(ym[0]))
        cols = len(ym[0])
        ys = [e for row in ym for e in row]
        ds = [e for row in dm for e in row]
        return ys, ds, lambda flat: [flat[i:i + cols] for i in range(0, len(flat), cols)]
    ys = check_vector(y, name_y)
    ds = check_vector(d, name_d, length=len(ys))
    return ys, ds, lambda flat: flat


def squared_error(y, d) -> float:
    """The squared error E = ½ Σ_k (y_k - d_k)² summed over every element (no averaging). The
    Introduction deck's loss [ŷ - y]² has no ½: the two differ by a factor the learning rate absorbs.

    ∂E/∂y_k = y_k - d_k, which is why the ½ is there.

    >>> squared_error([1.0, 2.0], [0.0, 0.0])
    2.5
    """
    ys, ds, _ = _check_pair(y, d, "y", "d")
    return 0.5 * math.fsum((a - b) * (a - b) for a, b in zip(ys, ds))


def squared_error_grad(y, d):
    """∂E/∂y = y - d for E = ½ Σ (y - d)², in the shape of y.

    >>> squared_error_grad([1.0, 2.0], [0.0, 0.5])
    [1.0, 1.5]
    """
    ys, ds, shape = _check_pair(y, d, "y", "d")
    return shape([a - b for a, b in zip(ys, ds)])


def mse(y, d, reduction: str = "mean"):
    """Mean squared error (1/n) Σ (y - d)² over all n elements, as torch.nn.functional.mse_loss.

    For a batch [M][P] the mean is over the batch AND the outputs: n = M·P. ``"none"`` returns
    the elementwise (y - d)² in the shape of y.

    >>> mse([1.0, 3.0], [0.0, 0.0]), mse([1.0, 3.0], [0.0, 0.0], reduction="sum")
    (5.0, 10.0)
    """
    ys, ds, shape = _check_pair(y, d, "y", "d")
    _check_reduction(reduction)
    sq = [(a - b) * (a - b) for a, b in zip(ys, ds)]
    return shape(sq) if reduction == "none" else _reduce(sq, reduction, len(sq))


def mse_grad(y, d, reduction: str = "mean", grad_output=1.0):
    """∂mse/∂y = 2 (y - d) / n (mean, n = M·P elements) or 2 (y - d) (sum), times grad_output.

    For ``"none"`` grad_output has the shape of y and the result is 2 (y - d) ⊙ grad_output.

    >>> mse_grad([[1.0, 3.0]], [[0.0, 0.0]])
    [[1.0, 3.0]]
    """
    ys, ds, shape = _check_pair(y, d, "y", "d")
    _check_reduction(reduction)
    if reduction == "none":
        go = _check_pair(y, grad_output, "y", "grad_output")[1]
    else:
        go = _grad_scales(grad_output, reduction, len(ys), len(ys))
    return shape([2.0 * (a - b) * g for a, b, g in zip(ys, ds, go)])


_LOG_FLOOR = -100.0  # torch clamps each log in binary cross-entropy at -100
# and the denominator p (1 - p) of its gradient at 1e-12, a float32 constant in torch's kernel
_BCE_EPS = struct.unpack("f", struct.pack("f", 1e-12))[0]


def _check_unit_interval(xs: list[float], name: str) -> None:
    for i, x in enumerate(xs):
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"{name}[{i}] = {x} must be a probability in [0, 1]")


def binary_cross_entropy(p, d, reduction: str = "mean"):
    """E = -(d log p + (1 - d) log(1 - p)) per element, as torch.nn.functional.binary_cross_entropy.

    p are predicted probabilities in [0, 1], d targets in [0, 1]. As in torch each log is
    clamped at -100, so p = 0 with d = 1 costs 100 rather than inf. log(1 - p) is evaluated as
    log1p(-p). Reduction over all elements as :func:`mse`.

    >>> round(binary_cross_entropy([0.5, 0.9], [1.0, 1.0]), 12)  # (log 2 + log(10/9)) / 2
    0.399253848109
    >>> binary_cross_entropy([0.0], [1.0])
    100.0
    """
    ps, ds, shape = _check_pair(p, d, "p", "d")
    _check_reduction(reduction)
    _check_unit_interval(ps, "p")
    _check_unit_interval(ds, "d")
    losses = []
    for pi, di in zip(ps, ds):
        log_p = max(math.log(pi), _LOG_FLOOR) if pi > 0.0 else _LOG_FLOOR
        log_q = max(math.log1p(-pi), _LOG_FLOOR) if pi < 1.0 else _LOG_FLOOR
        losses.append(-(di * log_p + (1.0 - di) * log_q))
    return shape(losses) if reduction == "none" else _reduce(losses, reduction, len(losses))


def binary_cross_entropy_grad(p, d, reduction: str = "mean", grad_output=1.0):
    """∂E/∂p = (p - d) / max(p (1 - p), ε), ε = fl32(1e-12), scaled by the reduction, as torch's backward.

    Away from p ∈ {0, 1} this is the exact derivative of -(d log p + (1 - d) log(1 - p)); the
    floor on the denominator is torch's and keeps the gradient finite at saturated outputs.

    >>> binary_cross_entropy_grad([0.5], [1.0])
    [-2.0]
    """
    ps, ds, shape = _check_pair(p, d, "p", "d")
    _check_reduction(reduction)
    _check_unit_interval(ps, "p")
    _check_unit_interval(ds, "d")
    if reduction == "none":
        go = _check_pair(p, grad_output, "p", "grad_output")[1]
    else:
        go = _grad_scales(grad_output, reduction, len(ps), len(ps))
    return shape([g * (pi - di) / max(pi * (1.0 - pi), _BCE_EPS) for pi, di, g in zip(ps, ds, go)])


def _check_distributions(p, d):
    pm = check_matrix(p, "p")
    if not pm or not pm[0]:
        raise ValueError("p must be a non-empty batch of probability rows [M][C]")
    dm = check_matrix(d, "d", rows=len(pm), cols=len(pm[0]))
    for i, (prow, drow) in enumerate(zip(pm, dm)):
        for c, (pc, dc) in enumerate(zip(prow, drow)):
            if not 0.0 <= pc <= 1.0:
                raise ValueError(f"p[{i}][{c}] = {pc} must be a probability in [0, 1]")
            if dc < 0.0:
                raise ValueError(f"d[{i}][{c}] = {dc} must be >= 0")
            if dc > 0.0 and pc == 0.0:
                raise ValueError(f"p[{i}][{c}] = 0 where d[{i}][{c}] > 0: the loss is infinite")
    return pm, dm


def categorical_cross_entropy(p, d, reduction: str = "mean"):
    """E_i = -Σ_c d_ic log p_ic for probability rows p [M][C] (e.g. a softmax output), targets d.

    d is one-hot or a distribution; terms with d_ic = 0 are 0 (0 log 0 = 0). ``"mean"`` averages
    over the M rows (as Keras), ``"none"`` returns [E_i]. Unlike Keras, p is neither clipped nor
    renormalised: the oracle reports the loss of exactly the p it is given.

    >>> categorical_cross_entropy([[0.25, 0.75]], [[0.0, 1.0]]) == -math.log(0.75)
    True
    """
    pm, dm = _check_distributions(p, d)
    _check_reduction(reduction)
    losses = [-math.fsum(dc * math.log(pc) for pc, dc in zip(prow, drow) if dc > 0.0) for prow, drow in zip(pm, dm)]
    return _reduce(losses, reduction, len(losses))


def categorical_cross_entropy_grad(p, d, reduction: str = "mean", grad_output=1.0) -> list[list[float]]:
    """∂E/∂p_ic = -d_ic / p_ic, divided by M for the mean, times grad_output (a list for none).

    >>> categorical_cross_entropy_grad([[0.25, 0.5]], [[0.0, 1.0]])
    [[0.0, -2.0]]
    """
    pm, dm = _check_distributions(p, d)
    _check_reduction(reduction)
    scales = _grad_scales(grad_output, reduction, len(pm), len(pm))
    return [
        [-s * dc / pc if dc > 0.0 else 0.0 for pc, dc in zip(prow, drow)]
        for prow, drow, s in zip(pm, dm, scales)
    ]
