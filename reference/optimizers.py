"""Gradient-based optimizers: how the weights w move given the gradient g = ∂E/∂w.

The simplest is gradient descent, w ← w - η g, with the learning rate η. Every optimizer here
refines it; each update rule is, by default, exactly ``torch.optim``'s (the tests train the same
network in torch and here and compare the weights after 50 steps to 1e-10). Where Keras (and
TensorFlow) or scikit-learn write an update differently, the difference is a named option:

* **η inside or outside the velocity** (SGD and RMSprop momentum), ``momentum_form``:
  torch ``"lr_outside"``: b ← μ b + g, w ← w - η b;  Keras and scikit-learn ``"lr_inside"``:
  v ← μ v - η g, w ← w + v.
* **ε inside or outside the square root** (RMSprop, Adagrad), ``eps_placement``: torch
  ``"outside_sqrt"``: g / (√s + ε);  Keras ``"inside_sqrt"``: g / √(s + ε).
* **Adam's ε after or before the bias correction**, ``eps_placement``: torch
  ``"after_bias_correction"``: m̂ / (√v̂ + ε);  Keras, TensorFlow, scikit-learn and the Adam
  paper's "efficient version" ``"before_bias_correction"``: η √(1-β2^t) / (1-β1^t) · m / (√v + ε).
* **Coupled or decoupled weight decay**, ``decoupled_weight_decay``: torch's default is coupled,
  g ← g + λ w (an L2 penalty (λ/2)||w||² in the loss);  ``True`` is AdamW's / SGDW's
  w ← (1 - η λ) w before the update.

With a constant learning rate ``lr_outside`` and ``lr_inside`` give the same weights (v = -η b);
they part as soon as η changes between steps (the ``decay`` schedule): a change of η takes effect
at once on the whole velocity in torch's form, but only on new gradients in Keras's.
The two ε placements differ noticeably only while √v or √s is comparable to ε.

Every optimizer accepts Keras-style time decay of the learning rate,

    η_t = η / (1 + decay · t),    t = 0, 1, 2, ... the number of steps taken before this one,

(torch: ``LambdaLR(opt, lambda t: 1 / (1 + decay * t))``; Adagrad's ``lr_decay``).

Usage: ``opt.step(params, grads)`` updates ``params``, a list of rows (lists of floats) in
place, from ``grads`` of the same shapes. The optimizer keeps its state (velocities, moments)
per row position, so pass the same rows in the same order at every step.

Reading the code: every class opens with its rule, ``_update``, the formulas of its docstring
line by line for one row of weights; the options, their checks and the state's set-up come
after it, the rules' ``sqrt`` and ``maximum`` after the classes, and the input checks at the end.

>>> w = [[1.0, -2.0]]
>>> opt = SGD(lr=0.5)
>>> opt.step(w, [[2.0, -4.0]]); w
[[0.0, 0.0]]
"""
from __future__ import annotations

import math
from numbers import Real


class Optimizer:
    """Common part of every optimizer: the learning rate schedule, weight decay and the step.

    ``lr`` η > 0; ``weight_decay`` λ >= 0, coupled (g ← g + λ w, torch's default) or, with
    ``decoupled_weight_decay=True``, decoupled (w ← (1 - η_t λ) w before the update, as AdamW);
    ``decay`` >= 0 gives η_t = η / (1 + decay · t).
    """

    def step(self, params, grads) -> None:
        """One update of every row w of ``params`` (in place) from its gradient row g in ``grads``:

            η_t = η / (1 + decay · t)       (t: the steps taken before this one)
            g ← g + λ w                     (coupled weight decay)  or
            w ← (1 - η_t λ) w               (decoupled weight decay),

        then the optimizer's own rule, ``_update``, with η_t.
        """
        _check_rows(params, grads)
        lr = self.current_lr()
        self.t += 1
        wd = self.weight_decay
        for i, (w, g) in enumerate(zip(params, grads)):
            if wd and self.decoupled_weight_decay:
                shrink = 1.0 - lr * wd
                w[:] = [shrink * wi for wi in w]
            elif wd:
                g = [gi + wd * wi for gi, wi in zip(g, w)]
            self._update(w, g, self._row_state(i, len(w)), lr)

    def current_lr(self) -> float:
        """η_t = η / (1 + decay · t) for the next step."""
        return self.lr / (1.0 + self.decay * self.t)

    def _update(self, w: list, g: list, state: dict, lr: float) -> None:
        """The optimizer's rule: move the row w (in place) given its gradient g, its state and η_t."""
        raise NotImplementedError

    # ------------------------------------------------------------------- options and state
    def __init__(self, lr: float, *, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
                 decay: float = 0.0):
        self.lr = _check(lr, "learning rate (lr)", low_open=True)
        self.weight_decay = _check(weight_decay, "weight_decay")
        if not isinstance(decoupled_weight_decay, bool):
            raise TypeError(f"decoupled_weight_decay must be a bool, got {type(decoupled_weight_decay).__name__}")
        self.decoupled_weight_decay = decoupled_weight_decay
        self.decay = _check(decay, "decay")
        self.t = 0  # steps taken
        self.state: dict[int, dict] = {}

    def _row_state(self, i: int, n: int) -> dict:
        """The state of row i (n weights), made by :meth:`_new_state` before the row's first step."""
        state = self.state.get(i)
        if state is None:
            state = self.state[i] = self._new_state(n)
        return state

    def _new_state(self, n: int) -> dict:
        """The state of a row of n weights before its first step (velocities, moments at 0)."""
        return {}


class SGD(Optimizer):
    """(Mini-batch) gradient descent with optional (Nesterov) momentum μ and dampening τ.

    Without momentum: w ← w - η_t g. With momentum, in torch's form (``momentum_form="lr_outside"``):

        b_1 = g_1,  b_t = μ b_{t-1} + (1 - τ) g_t;    w ← w - η_t d,   d = b_t  or  g_t + μ b_t (Nesterov)

    and in Keras's / scikit-learn's form (``"lr_inside"``; τ must be 0):

        v_0 = 0,  v_t = μ v_{t-1} - η_t g_t;           w ← w + v_t   or  w + μ v_t - η_t g_t (Nesterov)

    Full-batch gradient descent is this optimizer with one batch holding the whole training set.

    >>> w = [[1.0]]
    >>> opt = SGD(lr=0.1, momentum=0.9)
    >>> for _ in range(2): opt.step(w, [[1.0]])
    >>> round(w[0][0], 12)  # 1 - 0.1 * (1 + (0.9 + 1))
    0.71
    """

    def _update(self, w, g, state, lr):
        mu = self.momentum
        if not mu:                                   # w ← w - η_t g
            w[:] = [wi - lr * gi for wi, gi in zip(w, g)]
        elif self.momentum_form == "lr_outside":     # torch
            b = state.get("momentum_buffer")
            tau = self.dampening
            if b is None:                            # b_1 = g_1
                b = list(g)
            else:                                    # b_t = μ b_{t-1} + (1 - τ) g_t
                b = [mu * bi + (1.0 - tau) * gi for bi, gi in zip(b, g)]
            state["momentum_buffer"] = b
            d = [gi + mu * bi for gi, bi in zip(g, b)] if self.nesterov else b
            w[:] = [wi - lr * di for wi, di in zip(w, d)]    # w ← w - η_t d
        else:                                        # Keras, scikit-learn: v_t = μ v_{t-1} - η_t g_t
            v = state["velocity"] = [mu * vi - lr * gi for vi, gi in zip(state["velocity"], g)]
            if self.nesterov:                        # w ← w + μ v_t - η_t g_t
                w[:] = [wi + mu * vi - lr * gi for wi, vi, gi in zip(w, v, g)]
            else:                                    # w ← w + v_t
                w[:] = [wi + vi for wi, vi in zip(w, v)]

    # ------------------------------------------------------------------- options and state
    def __init__(self, lr: float = 0.01, momentum: float = 0.0, *, dampening: float = 0.0, nesterov: bool = False,
                 momentum_form: str = "lr_outside", weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, decay: float = 0.0):
        super().__init__(lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, decay=decay)
        self.momentum = _check(momentum, "momentum", high=1.0, high_open=True)
        self.dampening = _check(dampening, "dampening", high=1.0)
        self.nesterov = bool(nesterov)
        self.momentum_form = _check_choice(momentum_form, "momentum_form", ("lr_outside", "lr_inside"))
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("Nesterov momentum requires momentum > 0 and dampening = 0")
        if momentum_form == "lr_inside" and self.dampening != 0.0:
            raise ValueError("dampening exists only in the lr_outside (torch) momentum form")

    def _new_state(self, n):
        # torch's buffer has no value before the first step (b_1 = g_1); Keras's velocity starts at 0.
        return {"velocity": [0.0] * n} if self.momentum and self.momentum_form == "lr_inside" else {}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): moving averages of the gradient and of its square.

        m_t = β1 m_{t-1} + (1 - β1) g_t,        v_t = β2 v_{t-1} + (1 - β2) g_t²      (m_0 = v_0 = 0)

    With the bias corrections c1 = 1 - β1^t, c2 = 1 - β2^t (the averages start at 0):

        torch (``eps_placement="after_bias_correction"``):   w ← w - η_t · (m_t / c1) / (√(v_t / c2) + ε)
        Keras/TF/scikit-learn (``"before_bias_correction"``): w ← w - η_t √c2 / c1 · m_t / (√v_t + ε)

    i.e. the second adds ε to √v before the correction: written like the first, its ε is ε / √c2,
    larger than ε in the first steps (c2 = 1 - β2^t is small) and tending to ε.
    ``amsgrad=True`` uses v̂_t = max(v̂_{t-1}, v_t) in place of v_t.

    >>> w = [[1.0]]
    >>> Adam(lr=0.1).step(w, [[3.0]]); round(w[0][0], 9)  # the first step is about η sign(g)
    0.9
    """

    def _update(self, w, g, state, lr):
        b1, b2, eps = self.beta1, self.beta2, self.eps
        t = state["step"] = state["step"] + 1
        m = state["m"] = [b1 * mi + (1.0 - b1) * gi for mi, gi in zip(state["m"], g)]
        v = state["v"] = [b2 * vi + (1.0 - b2) * (gi * gi) for vi, gi in zip(state["v"], g)]
        if self.amsgrad:                             # v̂_t = max(v̂_{t-1}, v_t)
            v = state["v_max"] = [maximum(a, b) for a, b in zip(state["v_max"], v)]
        c1, c2 = 1.0 - b1 ** t, 1.0 - b2 ** t       # the bias corrections
        if self.eps_placement == "after_bias_correction":   # w ← w - η_t · (m / c1) / (√(v / c2) + ε)
            step, root_c2 = lr / c1, sqrt(c2)
            w[:] = [wi - step * (mi / (sqrt(vi) / root_c2 + eps)) for wi, mi, vi in zip(w, m, v)]
        else:                                               # w ← w - η_t √c2 / c1 · m / (√v + ε)
            step = lr * sqrt(c2) / c1
            w[:] = [wi - step * (mi / (sqrt(vi) + eps)) for wi, mi, vi in zip(w, m, v)]

    # ------------------------------------------------------------------- options and state
    def __init__(self, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, *, amsgrad: bool = False,
                 eps_placement: str = "after_bias_correction", weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, decay: float = 0.0):
        super().__init__(lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, decay=decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.beta1 = _check(betas[0], "betas[0]", high=1.0, high_open=True)
        self.beta2 = _check(betas[1], "betas[1]", high=1.0, high_open=True)
        self.eps = _check(eps, "eps")
        self.amsgrad = bool(amsgrad)
        self.eps_placement = _check_choice(
            eps_placement, "eps_placement", ("after_bias_correction", "before_bias_correction")
        )

    def _new_state(self, n):
        state = {"step": 0, "m": [0.0] * n, "v": [0.0] * n}
        if self.amsgrad:
            state["v_max"] = [0.0] * n
        return state


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW:

        w ← (1 - η_t λ) w,  then the Adam step,

    instead of adding λ w to the gradient, where Adam's per-weight scaling would weaken the decay
    of weights with large gradients. λ = ``weight_decay`` defaults to 0.01 as in torch.
    """

    def __init__(self, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8, *,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 eps_placement: str = "after_bias_correction", decay: float = 0.0):
        super().__init__(lr, betas, eps, amsgrad=amsgrad, eps_placement=eps_placement, weight_decay=weight_decay,
                         decoupled_weight_decay=True, decay=decay)


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running root mean square of its recent values.

        s_t = α s_{t-1} + (1 - α) g_t²                                  (s_0 = 0)
        centered: ḡ_t = α ḡ_{t-1} + (1 - α) g_t,  s'_t = s_t - ḡ_t²   (an estimate of the variance)
        r_t = √s'_t + ε  (torch, ``eps_placement="outside_sqrt"``)  or  √(s'_t + ε)  (Keras, ``"inside_sqrt"``)

    then w ← w - η_t g_t / r_t, or with momentum μ (buffer starting at 0):

        torch (``momentum_form="lr_outside"``):  b ← μ b + g_t / r_t;         w ← w - η_t b
        Keras (``"lr_inside"``):                 b ← μ b + η_t g_t / r_t;     w ← w - b

    >>> w = [[1.0]]
    >>> RMSprop(lr=0.01, alpha=0.99, eps=0.0).step(w, [[5.0]]); round(w[0][0], 12)  # 1 - 0.01 · 5 / √(0.01 · 25)
    0.9
    """

    def _update(self, w, g, state, lr):
        a, mu = self.alpha, self.momentum
        s = state["square_avg"] = [a * si + (1.0 - a) * (gi * gi) for si, gi in zip(state["square_avg"], g)]
        if self.centered:                            # ḡ_t = α ḡ_{t-1} + (1 - α) g_t,  s'_t = s_t - ḡ_t²
            g_avg = state["grad_avg"] = [a * bi + (1.0 - a) * gi for bi, gi in zip(state["grad_avg"], g)]
            s = [si - bi * bi for si, bi in zip(s, g_avg)]
        r = _root(s, self.eps, self.eps_placement)
        if not mu:                                   # w ← w - η_t g_t / r_t
            w[:] = [wi - lr * (gi / ri) for wi, gi, ri in zip(w, g, r)]
        elif self.momentum_form == "lr_outside":     # b ← μ b + g_t / r_t;  w ← w - η_t b
            b = state["momentum_buffer"] = [mu * bi + gi / ri for bi, gi, ri in zip(state["momentum_buffer"], g, r)]
            w[:] = [wi - lr * bi for wi, bi in zip(w, b)]
        else:                                        # b ← μ b + η_t g_t / r_t;  w ← w - b
            b = state["momentum_buffer"] = [mu * bi + lr * gi / ri
                                            for bi, gi, ri in zip(state["momentum_buffer"], g, r)]
            w[:] = [wi - bi for wi, bi in zip(w, b)]

    # ------------------------------------------------------------------- options and state
    def __init__(self, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, *, momentum: float = 0.0,
                 centered: bool = False, eps_placement: str = "outside_sqrt", momentum_form: str = "lr_outside",
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, decay: float = 0.0):
        super().__init__(lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, decay=decay)
        self.alpha = _check(alpha, "alpha", high=1.0, high_open=True)
        self.eps = _check(eps, "eps")
        self.momentum = _check(momentum, "momentum", high=1.0, high_open=True)
        self.centered = bool(centered)
        self.eps_placement = _check_choice(eps_placement, "eps_placement", ("outside_sqrt", "inside_sqrt"))
        self.momentum_form = _check_choice(momentum_form, "momentum_form", ("lr_outside", "lr_inside"))

    def _new_state(self, n):
        state = {"square_avg": [0.0] * n}
        if self.centered:
            state["grad_avg"] = [0.0] * n
        if self.momentum:
            state["momentum_buffer"] = [0.0] * n
        return state


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): per-weight learning rates shrinking with the gradients seen.

        s_t = s_{t-1} + g_t²     (s_0 = ``initial_accumulator_value``: torch 0, Keras 0.1)
        w ← w - η_t g_t / (√s_t + ε)    (torch, ``eps_placement="outside_sqrt"``)
        w ← w - η_t g_t / √(s_t + ε)    (Keras, ``"inside_sqrt"``)

    torch's ``lr_decay`` is this module's ``decay``: η_t = η / (1 + decay · t).

    >>> w = [[1.0]]
    >>> opt = Adagrad(lr=0.5, eps=0.0)
    >>> opt.step(w, [[3.0]]); opt.step(w, [[4.0]]); round(w[0][0], 12)  # 1 - 0.5 - 0.5 · 4/5
    0.1
    """

    def _update(self, w, g, state, lr):
        s = state["sum"] = [si + gi * gi for si, gi in zip(state["sum"], g)]
        r = _root(s, self.eps, self.eps_placement)
        w[:] = [wi - lr * (gi / ri) for wi, gi, ri in zip(w, g, r)]

    # ------------------------------------------------------------------- options and state
    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, *, initial_accumulator_value: float = 0.0,
                 eps_placement: str = "outside_sqrt", weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, decay: float = 0.0):
        super().__init__(lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, decay=decay)
        self.eps = _check(eps, "eps")
        self.initial_accumulator_value = _check(initial_accumulator_value, "initial_accumulator_value")
        self.eps_placement = _check_choice(eps_placement, "eps_placement", ("outside_sqrt", "inside_sqrt"))

    def _new_state(self, n):
        return {"sum": [self.initial_accumulator_value] * n}


# The rules call sqrt and maximum, not math.sqrt and max, so that a number type carrying more than its
# value (conformance.tolerance.Tracked: a value and its rounding-error bound) can bring its own; floats get
# exactly math.sqrt and max.
def sqrt(x):
    """√x: math.sqrt(x), or x.sqrt() for a number type math.sqrt does not take."""
    try:
        return math.sqrt(x)
    except TypeError:
        return x.sqrt()


def maximum(a, b):
    """max(a, b), or the ``maximum`` method of a number type that max cannot compare."""
    try:
        return max(a, b)
    except TypeError:
        return a.maximum(b) if hasattr(a, "maximum") else b.maximum(a)


def _root(s: list, eps: float, eps_placement: str) -> list:
    """The divisor of RMSprop and Adagrad, entrywise: r = √s + ε (torch, ``"outside_sqrt"``) or
    √(s + ε) (Keras, ``"inside_sqrt"``)."""
    if eps_placement == "outside_sqrt":
        return [sqrt(si) + eps for si in s]
    return [sqrt(si + eps) for si in s]


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def make_optimizer(name: str, lr: float, **options) -> Optimizer:
    """The optimizer called ``name`` (sgd, adam, adamw, rmsprop, adagrad) with learning rate ``lr``.

    >>> make_optimizer("adam", 0.01, betas=(0.8, 0.99)).beta1
    0.8
    >>> make_optimizer("lbfgs", 0.1)
    Traceback (most recent call last):
    ...
    ValueError: unknown optimizer 'lbfgs'; expected one of sgd, adam, adamw, rmsprop, adagrad
    """
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](lr, **options)


# ---------------------------------------------------------------------- input checks
def _check_rows(params, grads) -> None:
    """ValueError unless ``params`` and ``grads`` have the same number of rows of the same lengths."""
    if len(params) != len(grads):
        raise ValueError(f"params and grads must have the same number of rows, got {len(params)} and {len(grads)}")
    for i, (p, g) in enumerate(zip(params, grads)):
        if len(p) != len(g):
            raise ValueError(f"params[{i}] and grads[{i}] must have the same length, got {len(p)} and {len(g)}")


def _check(value, name: str, *, low: float = 0.0, high: float = math.inf, low_open: bool = False,
           high_open: bool = False) -> float:
    """``value`` as a float if it is a finite real number in the given range, else TypeError/ValueError."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not (math.isfinite(v) and lo_ok and hi_ok):
        if high == math.inf:
            expected = f"a finite number {'>' if low_open else '>='} {low:g}"
        else:
            expected = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return v


def _check_choice(value, name: str, choices: tuple) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
