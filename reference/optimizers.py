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

>>> w = [[1.0, -2.0]]
>>> opt = SGD(lr=0.5)
>>> opt.step(w, [[2.0, -4.0]]); w
[[0.0, 0.0]]
"""
from __future__ import annotations

import math
from numbers import Real


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


class Optimizer:
    """Common part of every optimizer: the learning rate schedule, weight decay and the step.

    ``lr`` η > 0; ``weight_decay`` λ >= 0, coupled (g ← g + λ w, torch's default) or, with
    ``decoupled_weight_decay=True``, decoupled (w ← (1 - η_t λ) w before the update, as AdamW);
    ``decay`` >= 0 gives η_t = η / (1 + decay · t).
    """

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

    def current_lr(self) -> float:
        """η_t = η / (1 + decay · t) for the next step."""
        return self.lr / (1.0 + self.decay * self.t)

    def step(self, params, grads) -> None:
        """One update of every row of ``params`` (in place) from the gradient rows ``grads``."""
        if len(params) != len(grads):
            raise ValueError(f"params and grads must have the same number of rows, got {len(params)} and {len(grads)}")
        for i, (p, g) in enumerate(zip(params, grads)):
            if len(p) != len(g):
                raise ValueError(f"params[{i}] and grads[{i}] must have the same length, got {len(p)} and {len(g)}")
        lr = self.current_lr()
        self.t += 1
        wd = self.weight_decay
        for i, (p, g) in enumerate(zip(params, grads)):
            if wd:
                if self.decoupled_weight_decay:
                    shrink = 1.0 - lr * wd
                    p[:] = [shrink * pi for pi in p]
                else:
                    g = [gi + wd * pi for gi, pi in zip(g, p)]
            state = self.state.get(i)
            if state is None:
                state = self.state[i] = {}
            self._update(p, g, state, lr)

    def _update(self, p: list, g: list, state: dict, lr: float) -> None:
        raise NotImplementedError


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

    def _update(self, p, g, state, lr):
        mu = self.momentum
        if mu == 0.0:
            p[:] = [pi - lr * gi for pi, gi in zip(p, g)]
            return
        if self.momentum_form == "lr_outside":
            buf = state.get("momentum_buffer")
            if buf is None:  # torch starts the buffer at g, not at (1 - τ) g
                buf = state["momentum_buffer"] = list(g)
            else:
                c = 1.0 - self.dampening
                buf[:] = [mu * b + c * gi for b, gi in zip(buf, g)]
            d = [gi + mu * b for gi, b in zip(g, buf)] if self.nesterov else buf
            p[:] = [pi - lr * di for pi, di in zip(p, d)]
        else:
            v = state.setdefault("velocity", [0.0] * len(p))
            v[:] = [mu * vi - lr * gi for vi, gi in zip(v, g)]
            if self.nesterov:
                p[:] = [pi + mu * vi - lr * gi for pi, vi, gi in zip(p, v, g)]
            else:
                p[:] = [pi + vi for pi, vi in zip(p, v)]


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): moving averages of the gradient and of its square.

        m_t = β1 m_{t-1} + (1 - β1) g_t,        v_t = β2 v_{t-1} + (1 - β2) g_t²      (m_0 = v_0 = 0)

    With the bias corrections c1 = 1 - β1^t, c2 = 1 - β2^t (the averages start at 0):

        torch (``eps_placement="after_bias_correction"``):   w ← w - η_t · (m_t / c1) / (√(v_t / c2) + ε)
        Keras/TF/scikit-learn (``"before_bias_correction"``): w ← w - η_t √c2 / c1 · m_t / (√v_t + ε)

    i.e. the second adds ε to √v before the correction: written like the first, its ε is ε / √c2,
    larger than ε in the first steps (c2 = 1 - β2^t is small) and tending to ε. ``amsgrad=True`` uses v̂_t = max(v̂_{t-1}, v_t) in place of v_t.

    >>> w = [[1.0]]
    >>> Adam(lr=0.1).step(w, [[3.0]]); round(w[0][0], 9)  # the first step is about η sign(g)
    0.9
    """

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

    def _update(self, p, g, state, lr):
        b1, b2, eps = self.beta1, self.beta2, self.eps
        if not state:
            state.update(step=0, m=[0.0] * len(p), v=[0.0] * len(p))
            if self.amsgrad:
                state["v_max"] = [0.0] * len(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["m"], state["v"]
        keep1, keep2 = 1.0 - b1, 1.0 - b2  # the weights of the new gradient (not c1, c2 above)
        m[:] = [b1 * mi + keep1 * gi for mi, gi in zip(m, g)]
        v[:] = [b2 * vi + keep2 * (gi * gi) for vi, gi in zip(v, g)]
        if self.amsgrad:
            v_max = state["v_max"]
            v_max[:] = [max(a, b) for a, b in zip(v_max, v)]
            v = v_max
        bc1 = 1.0 - b1 ** t
        sqrt_bc2 = math.sqrt(1.0 - b2 ** t)
        sqrt = math.sqrt
        if self.eps_placement == "after_bias_correction":
            step = lr / bc1
            p[:] = [pi - step * (mi / (sqrt(vi) / sqrt_bc2 + eps)) for pi, mi, vi in zip(p, m, v)]
        else:
            step = lr * sqrt_bc2 / bc1
            p[:] = [pi - step * (mi / (sqrt(vi) + eps)) for pi, mi, vi in zip(p, m, v)]


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

    def _update(self, p, g, state, lr):
        a, c, eps = self.alpha, 1.0 - self.alpha, self.eps
        if not state:
            state["square_avg"] = [0.0] * len(p)
            if self.centered:
                state["grad_avg"] = [0.0] * len(p)
            if self.momentum:
                state["momentum_buffer"] = [0.0] * len(p)
        s = state["square_avg"]
        s[:] = [a * si + c * (gi * gi) for si, gi in zip(s, g)]
        if self.centered:
            gbar = state["grad_avg"]
            gbar[:] = [a * bi + c * gi for bi, gi in zip(gbar, g)]
            s = [si - bi * bi for si, bi in zip(s, gbar)]
        sqrt = math.sqrt
        if self.eps_placement == "outside_sqrt":
            r = [sqrt(si) + eps for si in s]
        else:
            r = [sqrt(si + eps) for si in s]
        mu = self.momentum
        if not mu:
            p[:] = [pi - lr * (gi / ri) for pi, gi, ri in zip(p, g, r)]
        elif self.momentum_form == "lr_outside":
            buf = state["momentum_buffer"]
            buf[:] = [mu * bi + gi / ri for bi, gi, ri in zip(buf, g, r)]
            p[:] = [pi - lr * bi for pi, bi in zip(p, buf)]
        else:
            buf = state["momentum_buffer"]
            buf[:] = [mu * bi + lr * gi / ri for bi, gi, ri in zip(buf, g, r)]
            p[:] = [pi - bi for pi, bi in zip(p, buf)]


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

    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, *, initial_accumulator_value: float = 0.0,
                 eps_placement: str = "outside_sqrt", weight_decay: float = 0.0,
                 decoupled_weight_decay: bool = False, decay: float = 0.0):
        super().__init__(lr, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, decay=decay)
        self.eps = _check(eps, "eps")
        self.initial_accumulator_value = _check(initial_accumulator_value, "initial_accumulator_value")
        self.eps_placement = _check_choice(eps_placement, "eps_placement", ("outside_sqrt", "inside_sqrt"))

    def _update(self, p, g, state, lr):
        s = state.get("sum")
        if s is None:
            s = state["sum"] = [self.initial_accumulator_value] * len(p)
        s[:] = [si + gi * gi for si, gi in zip(s, g)]
        eps, sqrt = self.eps, math.sqrt
        if self.eps_placement == "outside_sqrt":
            p[:] = [pi - lr * (gi / (sqrt(si) + eps)) for pi, gi, si in zip(p, g, s)]
        else:
            p[:] = [pi - lr * (gi / sqrt(si + eps)) for pi, gi, si in zip(p, g, s)]


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
