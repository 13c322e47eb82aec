"""Exercises with checkers: a task, and a check of the student's answer against the oracle.

    python -m reference.course exercise --list
    python -m reference.course exercise NAME                      states the task, with a template
    python -m reference.course exercise NAME --check FILE.py      checks FILE.py's function

or from Python: ``check("softmax", my_softmax)`` returns a list of problems (empty: all correct),
each saying what is wrong and where.
"""
from __future__ import annotations

import math
import random

from reference.activations import softmax as _softmax
from reference.linear import linear_act_backward
from reference.optimizers import Adam

TOL = 1e-9


def _close(a, b, tol=TOL):
    return abs(a - b) <= tol * max(1.0, abs(b))


def _check_nand(answer):
    """answer: weights [w0, w1, w2] of one step neuron computing NAND."""
    problems = []
    try:
        w0, w1, w2 = (float(v) for v in answer)
    except (TypeError, ValueError):
        return ["give three numbers [w0, w1, w2]"]
    for x1 in (0, 1):
        for x2 in (0, 1):
            xi = w0 + w1 * x1 + w2 * x2
            y, want = int(xi >= 0), 1 - (x1 & x2)
            if y != want:
                problems.append(f"input ({x1}, {x2}): ξ = {xi:g} gives y = {y}, NAND is {want}")
    return problems


def _check_softmax(f):
    problems = []
    cases = [[1.0, 2.0, 3.0], [0.0], [-5.0, 5.0], [1000.0, 999.0, 998.0], [-1000.0, -1001.0], [0.0, -math.inf, 1.0]]
    for xs in cases:
        try:
            got = list(f(list(xs)))
        except Exception as exc:  # noqa: BLE001 - a student's error is a finding, not a crash
            problems.append(f"softmax({xs}) raised {type(exc).__name__}: {exc}"
                            + ("  (subtract max(xs) before exp)" if isinstance(exc, OverflowError) else ""))
            continue
        want = _softmax(xs)
        if len(got) != len(want):
            problems.append(f"softmax({xs}) has {len(got)} entries, expected {len(want)}")
            continue
        for i, (g, w) in enumerate(zip(got, want)):
            if not (isinstance(g, float) and _close(g, w)):
                problems.append(f"softmax({xs})[{i}] = {g!r}, expected {w!r}")
                break
    return problems


def _check_adam_step(f):
    """f(w, g, m, v, t, lr, beta1, beta2, eps) -> (w, m, v) for lists, torch's form, t counted from 1."""
    problems = []
    rng = random.Random(0)
    w = [rng.uniform(-1, 1) for _ in range(4)]
    m, v = [0.0] * 4, [0.0] * 4
    ref_w = [list(w)]
    opt = Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for t in range(1, 4):
        g = [rng.uniform(-1, 1) for _ in range(4)]
        try:
            w, m, v = (list(a) for a in f(list(w), g, list(m), list(v), t, 0.01, 0.9, 0.999, 1e-8))
        except Exception as exc:  # noqa: BLE001
            return [f"step {t} raised {type(exc).__name__}: {exc}"]
        opt.step(ref_w, [g])
        st = opt.state[0]
        for name, got, want in (("m", m, st["m"]), ("v", v, st["v"]), ("w", w, ref_w[0])):
            bad = [i for i, (a, b) in enumerate(zip(got, want)) if not _close(a, b)]
            if bad or len(got) != len(want):
                i = bad[0] if bad else 0
                hint = {"m": "m = β1 m + (1 - β1) g", "v": "v = β2 v + (1 - β2) g²",
                        "w": "w -= lr · (m / (1 - β1^t)) / (√(v / (1 - β2^t)) + ε)"}[name]
                problems.append(f"step {t}: {name}[{i}] = {got[i] if i < len(got) else None!r}, expected {want[i]!r} ({hint})")
                return problems
    return problems


def _check_layer_backward(f):
    """f(x, W, b, grad_y) -> (dx, dW, db) for y = sigmoid(x W^T + b), x [M][K], W [N][K]."""
    rng = random.Random(1)
    x = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(2)]
    W = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(4)]
    b = [rng.uniform(-1, 1) for _ in range(4)]
    gy = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(2)]
    want = linear_act_backward(x, W, b, "sigmoid", gy)
    try:
        got = f([r[:] for r in x], [r[:] for r in W], b[:], [r[:] for r in gy])
    except Exception as exc:  # noqa: BLE001
        return [f"raised {type(exc).__name__}: {exc}"]
    problems = []
    for name, g, w in zip(("dx", "dW", "db"), got, want):
        rows_g = g if name != "db" else [g]
        rows_w = w if name != "db" else [w]
        if len(rows_g) != len(rows_w) or any(len(a) != len(c) for a, c in zip(rows_g, rows_w)):
            problems.append(f"{name} has the wrong shape: expected {len(rows_w)} x {len(rows_w[0])}")
            continue
        for i, (ra, rc) in enumerate(zip(rows_g, rows_w)):
            j = next((j for j, (a, c) in enumerate(zip(ra, rc)) if not _close(a, c)), None)
            if j is not None:
                where = f"[{j}]" if name == "db" else f"[{i}][{j}]"
                problems.append(f"{name}{where} = {ra[j]!r}, expected {rc[j]!r} (δ = grad_y · σ'(ξ); dx = δ W, dW = δ^T x, db = Σ_m δ)")
                break
    return problems


def _check_perceptron_update(f):
    """f(w, x, d, eta) -> new w: one step of the perceptron rule, w = [w0, w1, ..., wn]."""
    cases = [([0.0, 0.0, 0.0], [1.0, 1.0], 0, 1.0), ([-1.0, 1.0, 1.0], [1.0, 1.0], 1, 0.5),
             ([0.5, -1.0, 0.0], [1.0, 0.0], 1, 0.1), ([-0.5, 0.2, 0.2], [0.0, 1.0], 0, 1.0)]
    problems = []
    for w, x, d, eta in cases:
        xt = [1.0, *x]
        y = 1 if sum(a * b for a, b in zip(w, xt)) >= 0 else 0
        want = [wi + eta * (d - y) * xi for wi, xi in zip(w, xt)]
        try:
            got = list(f(list(w), list(x), d, eta))
        except Exception as exc:  # noqa: BLE001
            return [f"raised {type(exc).__name__}: {exc}"]
        if len(got) != len(want) or not all(_close(a, b) for a, b in zip(got, want)):
            problems.append(f"w = {w}, x = {x}, d = {d}, η = {eta}: got {got}, expected {want} "
                            f"(y = {y}; w ← w + η (d - y) (1, x))")
    return problems


EXERCISES = {
    "nand": ("Give weights [w0, w1, w2] of one step neuron (y = 1 iff w0 + w1 x1 + w2 x2 >= 0) computing NAND.",
             "ANSWER = [0.0, 0.0, 0.0]", "ANSWER", _check_nand),
    "softmax": ("Write softmax(xs) -> list of floats that does not overflow for xs = [1000, 999] and handles -inf.",
                "import math\n\ndef softmax(xs):\n    ...", "softmax", _check_softmax),
    "adam_step": ("Write adam_step(w, g, m, v, t, lr, beta1, beta2, eps) -> (w, m, v): one Adam step (torch's form, t from 1).",
                  "import math\n\ndef adam_step(w, g, m, v, t, lr, beta1, beta2, eps):\n    ...", "adam_step",
                  _check_adam_step),
    "layer_backward": ("Write layer_backward(x, W, b, grad_y) -> (dx, dW, db) for y = sigmoid(x W^T + b), "
                       "x [M][K], W [N][K], b [N], grad_y [M][N].",
                       "import math\n\ndef layer_backward(x, W, b, grad_y):\n    ...", "layer_backward",
                       _check_layer_backward),
    "perceptron_update": ("Write perceptron_update(w, x, d, eta) -> new weights [w0..wn] after one example "
                          "(step neuron, w0 the bias).",
                          "def perceptron_update(w, x, d, eta):\n    ...", "perceptron_update",
                          _check_perceptron_update),
}


def check(name, answer) -> list[str]:
    """Problems with ``answer`` (a function, or the weights for nand); [] when it is right."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; expected one of {', '.join(EXERCISES)}")
    return EXERCISES[name][3](answer)


def main(argv) -> int:
    import argparse
    import runpy

    parser = argparse.ArgumentParser(prog="python -m reference.course exercise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="the exercise")
    parser.add_argument("--list", action="store_true", help="list the exercises")
    parser.add_argument("--check", metavar="FILE.py", help="check the answer defined in this file")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name, (task, *_rest) in EXERCISES.items():
            print(f"{name:18s} {task}")
        return 0
    if args.name not in EXERCISES:
        parser.error(f"unknown exercise {args.name!r}; see --list")
    task, template, symbol, _ = EXERCISES[args.name]
    if not args.check:
        print(task)
        print(f"\nWrite it in a file, e.g. answer.py:\n\n{template}\n\nthen: python -m reference.course exercise "
              f"{args.name} --check answer.py")
        return 0
    namespace = runpy.run_path(args.check)
    if symbol not in namespace:
        print(f"{args.check} defines no {symbol}")
        return 1
    problems = check(args.name, namespace[symbol])
    for p in problems:
        print("wrong:", p)
    print("correct" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1
