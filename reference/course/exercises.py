"""Exercises with checkers: a task, and a check of the student's answer against the oracle.

    python -m reference.course exercise --list
    python -m reference.course exercise NAME                      states the task, with a template
    python -m reference.course exercise NAME --check FILE.py      checks FILE.py's answer
    python -m reference.course exercise NAME --solution           prints a model solution

or from Python: ``check("softmax", my_softmax)`` returns a list of problems (empty: all correct),
each saying what is wrong, where, and why. The model solutions live apart, in ``solutions.py``.
"""
from __future__ import annotations

import math
import random
from numbers import Real
from typing import Callable, NamedTuple

from reference.activations import softmax as _softmax
from reference.boolean import StepNetwork
from reference.linear import linear_act_backward
from reference.optimizers import Adam

TOL = 1e-9


class Wrong(Exception):
    """One problem that ends a check (the answer cannot be examined further)."""


def _close(a, b, tol=TOL):
    return abs(a - b) <= tol * max(1.0, abs(b))


def _call(f, *args, what="the function"):
    """f(*args), or Wrong with one line for what a student's code typically gets wrong."""
    if not callable(f):
        raise Wrong(f"expected a function, got {type(f).__name__}")
    try:
        out = f(*args)
    except OverflowError as exc:
        raise Wrong(f"{what} raised OverflowError ({exc}): e^x overflows for x > 709") from None
    except Exception as exc:  # noqa: BLE001 - a student's error is a finding, not a crash
        raise Wrong(f"{what} raised {type(exc).__name__}: {exc}") from None
    if out is None:
        raise Wrong(f"{what} returned None: it has no return statement yet (is the template's ... still there?)")
    return out


def _number(value, what) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise Wrong(f"{what} is a {type(value).__name__}, expected a number")
    return float(value)


def _numbers(values, what, length=None) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise Wrong(f"{what} is a {type(values).__name__}, expected a list of numbers")
    out = [_number(v, f"{what}[{i}]") for i, v in enumerate(values)]
    if length is not None and len(out) != length:
        raise Wrong(f"{what} has {len(out)} entries, expected {length}")
    return out


# ---------------------------------------------------------------------------------------- the checkers
def _check_exam_neuron(answer):
    """answer: [w0, w1, w2, w3] of the exam neuron in bias form, y = 1 iff w0 + Σ w_i x_i >= 0."""
    w = _numbers(answer, "ANSWER", 4)
    students = [[2, 2, 2], [5, 0, 2], [0, 3, 1], [10, 0, 0], [0, 0, 6], [1, 1, 1]]
    problems = []
    for x in students:
        xi = math.fsum([w[0], *(wi * xi for wi, xi in zip(w[1:], x))])
        want = int(0.3 * x[0] + 0.8 * x[1] + 0.5 * x[2] >= 3 - 1e-12)
        y = int(xi >= -1e-12)  # ξ = 0 (pass) may round to just below 0
        if y != want:
            hint = " (the threshold 3 moves to the left side as the bias: w0 = -3)" if w[0] > 0 else ""
            problems.append(f"student x = {x}: ξ = {xi:g} gives y = {y}, the slide's neuron says {want}{hint}")
    return problems


def _check_nand(answer):
    """answer: weights [w0, w1, w2] of one step neuron computing NAND."""
    w0, w1, w2 = _numbers(answer, "ANSWER", 3)
    problems = []
    for x1 in (0, 1):
        for x2 in (0, 1):
            xi = w0 + w1 * x1 + w2 * x2
            y, want = int(xi >= 0), 1 - (x1 & x2)
            if y != want:
                problems.append(f"input ({x1}, {x2}): ξ = {xi:g} gives y = {y}, NAND is {want}")
    return problems


def _check_xor_network(answer):
    """answer: [hidden, output], hidden = two rows [w0, w1, w2], output = one row [w0, v1, v2]."""
    if not isinstance(answer, (list, tuple)) or len(answer) != 2:
        raise Wrong("ANSWER must be [hidden, output]: hidden two rows [w0, w1, w2], output one row [w0, v1, v2]")
    hidden = [_numbers(row, f"hidden[{j}]", 3) for j, row in enumerate(answer[0])]
    output = [_numbers(row, "output[0]", len(hidden) + 1) for row in answer[1]]
    if len(output) != 1:
        raise Wrong(f"the output layer has {len(output)} rows, expected one neuron")
    net = StepNetwork([hidden, output], n_inputs=2)
    return [f"input ({a}, {b}): the network gives {net([a, b])}, XOR is {a ^ b}"
            for a in (0, 1) for b in (0, 1) if net([a, b]) != a ^ b]


def _check_count_parameters(f):
    """f(sizes) -> number of weights and biases of an MLP with those layer sizes."""
    problems = []
    for sizes in ([3, 3, 2, 1], [2, 1], [64, 16, 10], [4, 5, 5, 5, 2]):
        got = _call(f, list(sizes), what=f"n_parameters({sizes})")
        want = sum((k + 1) * n for k, n in zip(sizes, sizes[1:]))
        if got != want:
            no_bias = sum(k * n for k, n in zip(sizes, sizes[1:]))
            hint = " (each neuron also has a bias w_j0)" if got == no_bias else " (Σ_l (n_{l-1} + 1) n_l)"
            problems.append(f"n_parameters({sizes}) = {got!r}, expected {want}{hint}")
    return problems


def _check_cross_entropy_bits(f):
    """f(p, d) -> -Σ_i d_i log2 p_i, in bits."""
    problems = []
    for p, d in (([0.775, 0.125, 0.1], [1, 0, 0]), ([0.02, 0.938, 0.042], [0, 1, 0]), ([0.5, 0.5], [0.5, 0.5])):
        got = _number(_call(f, list(p), list(d), what=f"cross_entropy_bits({p}, {d})"), "the result")
        want = -math.fsum(di * math.log2(pi) for pi, di in zip(p, d) if di)
        if not _close(got, want):
            if _close(got, want * math.log(2)):
                hint = "that is in nats (natural log); the slide counts bits: log2, i.e. divide by ln 2"
            elif _close(got, -want):
                hint = "the sign: log p <= 0, so the loss is -Σ d_i log2 p_i >= 0"
            else:
                hint = "-Σ_i d_i log2 p_i"
            problems.append(f"cross_entropy_bits({p}, {d}) = {got!r}, expected {want!r} ({hint})")
    return problems


def _check_chain_rule(f):
    """f(x) -> dy/dx for y = sin(x²)."""
    problems = []
    for x in (0.5, 1.0, -2.0, 3.0):
        got = _number(_call(f, x, what=f"dy_dx({x})"), "the result")
        want = 2 * x * math.cos(x * x)
        if not _close(got, want):
            hint = ("dy/dg = cos(g) must be multiplied by dg/dx = 2x" if _close(got, math.cos(x * x))
                    else "cos evaluated at g = x², not at x" if _close(got, 2 * x * math.cos(x))
                    else "dy/dx = dy/dg · dg/dx = cos(x²) · 2x")
            problems.append(f"dy_dx({x}) = {got!r}, expected {want!r} ({hint})")
    return problems


def _check_softmax(f):
    problems = []
    cases = [[1.0, 2.0, 3.0], [0.0], [-5.0, 5.0], [1000.0, 999.0, 998.0], [-1000.0, -1001.0], [0.0, -math.inf, 1.0]]
    for xs in cases:
        try:
            got = _call(f, list(xs), what=f"softmax({xs})")
            got = list(got) if hasattr(got, "__iter__") else got
        except Wrong as exc:
            hint = ""
            if min(xs) <= -1000 and "ZeroDivision" in str(exc):
                hint = " (every e^x underflows to 0, so the sum is 0: subtracting max(xs) prevents underflow too)"
            elif "Overflow" in str(exc):
                hint = " (subtract max(xs) before exp: softmax does not change, and no e^x exceeds 1)"
            problems.append(f"{exc}{hint}")
            continue
        if not isinstance(got, list):
            return [f"softmax({xs}) returned a {type(got).__name__}, expected a list of floats"]
        want = _softmax(xs)
        if len(got) != len(want):
            problems.append(f"softmax({xs}) has {len(got)} entries, expected {len(want)}")
            continue
        for i, (g, w) in enumerate(zip(got, want)):
            if not isinstance(g, float):
                problems.append(f"softmax({xs})[{i}] is a {type(g).__name__}, expected a float")
                break
            if not _close(g, w):
                hint = (" (e^x underflowed to 0 for every x and 0/0 is nan: subtract max(xs) first; it also fixes "
                        "overflow)" if math.isnan(g) else "")
                problems.append(f"softmax({xs})[{i}] = {g!r}, expected {w!r}{hint}")
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
        got = _numbers(_call(f, list(w), list(x), d, eta, what="perceptron_update"), "the new w")
        if len(got) != len(want) or not all(_close(a, b) for a, b in zip(got, want)):
            hint = " (w0 is the bias: its input is x0 = 1)" if len(got) == len(want) - 1 else ""
            problems.append(f"w = {w}, x = {x}, d = {d}, η = {eta}: got {got}, expected {want} "
                            f"(y = {y}; w ← w + η (d - y) (1, x)){hint}")
    return problems


def _check_layer_backward(f):
    """f(x, W, b, grad_y) -> (dx, dW, db) for y = sigmoid(x W^T + b), x [M][K], W [N][K]."""
    rng = random.Random(1)
    x = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(2)]
    W = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(4)]
    b = [rng.uniform(-1, 1) for _ in range(4)]
    gy = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(2)]
    want = linear_act_backward(x, W, b, "sigmoid", gy)
    got = _call(f, [r[:] for r in x], [r[:] for r in W], b[:], [r[:] for r in gy], what="layer_backward")
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Wrong(f"layer_backward returned a {type(got).__name__}, expected the tuple (dx, dW, db)")
    problems = []
    for name, g, w in zip(("dx", "dW", "db"), got, want):
        rows_g = [_numbers(g, name)] if name == "db" else [_numbers(r, f"{name}[{i}]") for i, r in enumerate(g)]
        rows_w = [w] if name == "db" else w
        if len(rows_g) != len(rows_w) or any(len(a) != len(c) for a, c in zip(rows_g, rows_w)):
            problems.append(f"{name} has the wrong shape: expected {len(rows_w)} x {len(rows_w[0])}")
            continue
        for i, (ra, rc) in enumerate(zip(rows_g, rows_w)):
            j = next((j for j, (a, c) in enumerate(zip(ra, rc)) if not _close(a, c)), None)
            if j is not None:
                where = f"[{j}]" if name == "db" else f"[{i}][{j}]"
                problems.append(f"{name}{where} = {ra[j]!r}, expected {rc[j]!r} (δ = grad_y ⊙ σ'(ξ); "
                                "dx = δ W, dW = δᵀ x, db = Σ_m δ)")
                break
    return problems


def _check_adam_step(f):
    """f(w, g, m, v, t, lr, beta1, beta2, eps) -> (w, m, v) for lists, torch's form, t counted from 1."""
    rng = random.Random(0)
    w = [rng.uniform(-1, 1) for _ in range(4)]
    m, v = [0.0] * 4, [0.0] * 4
    ref_w = [list(w)]
    opt = Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for t in range(1, 4):
        g = [rng.uniform(-1, 1) for _ in range(4)]
        out = _call(f, list(w), g, list(m), list(v), t, 0.01, 0.9, 0.999, 1e-8, what=f"adam_step at step {t}")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Wrong(f"adam_step returned a {type(out).__name__}, expected the tuple (w, m, v)")
        w, m, v = (_numbers(a, name, 4) for a, name in zip(out, ("w", "m", "v")))
        opt.step(ref_w, [g])
        st = opt.state[0]
        for name, got, want in (("m", m, st["m"]), ("v", v, st["v"]), ("w", w, ref_w[0])):
            i = next((i for i, (a, b) in enumerate(zip(got, want)) if not _close(a, b)), None)
            if i is not None:
                hint = {"m": "m = β1 m + (1 - β1) g", "v": "v = β2 v + (1 - β2) g²",
                        "w": "w -= lr · (m / (1 - β1^t)) / (√(v / (1 - β2^t)) + ε)"}[name]
                return [f"step {t}: {name}[{i}] = {got[i]!r}, expected {want[i]!r} ({hint})"]
    return []


class Exercise(NamedTuple):
    task: str
    template: str
    symbol: str  # the name the answer file defines
    checker: Callable


# In the order of the course.
EXERCISES = {
    "exam_neuron": Exercise(
        "The 'Modeling' deck's neuron passes a student iff 0.3 x1 + 0.8 x2 + 0.5 x3 >= 3. Give it in bias form: "
        "ANSWER = [w0, w1, w2, w3] with y = 1 iff w0 + w1 x1 + w2 x2 + w3 x3 >= 0.",
        "ANSWER = [0.0, 0.0, 0.0, 0.0]", "ANSWER", _check_exam_neuron),
    "nand": Exercise(
        "Give weights ANSWER = [w0, w1, w2] of one step neuron (y = 1 iff w0 + w1 x1 + w2 x2 >= 0) computing NAND.",
        "ANSWER = [0.0, 0.0, 0.0]", "ANSWER", _check_nand),
    "xor_network": Exercise(
        "Give a 2-2-1 network of step neurons computing XOR: ANSWER = [hidden, output], hidden two rows "
        "[w0, w1, w2], output one row [w0, v1, v2] over the hidden outputs.",
        "ANSWER = [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]]", "ANSWER", _check_xor_network),
    "perceptron_update": Exercise(
        "Write perceptron_update(w, x, d, eta) -> new weights [w0..wn] after one example (step neuron, w0 the bias).",
        "def perceptron_update(w, x, d, eta):\n    ...", "perceptron_update", _check_perceptron_update),
    "count_parameters": Exercise(
        "Write n_parameters(sizes) -> the number of weights and biases of an MLP with layer sizes "
        "[n_0, ..., n_L] (the 'Introduction' deck's 3-3-2-1 network has 23).",
        "def n_parameters(sizes):\n    ...", "n_parameters", _check_count_parameters),
    "chain_rule": Exercise(
        "Write dy_dx(x) -> the derivative of y = sin(x²) (the 'Modeling' deck's chain-rule example).",
        "import math\n\ndef dy_dx(x):\n    ...", "dy_dx", _check_chain_rule),
    "cross_entropy_bits": Exercise(
        "Write cross_entropy_bits(p, d) -> -Σ_i d_i log2 p_i, the categorical cross-entropy in bits as on the "
        "'Modeling' deck's slide (p predicted, d desired probabilities).",
        "import math\n\ndef cross_entropy_bits(p, d):\n    ...", "cross_entropy_bits", _check_cross_entropy_bits),
    "softmax": Exercise(
        "Write softmax(xs) -> list of floats that neither overflows (xs = [1000, 999]) nor underflows "
        "(xs = [-1000, -1001]) and handles -inf.",
        "import math\n\ndef softmax(xs):\n    ...", "softmax", _check_softmax),
    "layer_backward": Exercise(
        "Write layer_backward(x, W, b, grad_y) -> (dx, dW, db) for y = sigmoid(x W^T + b), x [M][K], W [N][K], "
        "b [N], grad_y [M][N] (the matrix form is in reference/core.py's docstring).",
        "import math\n\ndef layer_backward(x, W, b, grad_y):\n    ...", "layer_backward", _check_layer_backward),
    "adam_step": Exercise(
        "Write adam_step(w, g, m, v, t, lr, beta1, beta2, eps) -> (w, m, v): one Adam step (torch's form, t from 1).",
        "import math\n\ndef adam_step(w, g, m, v, t, lr, beta1, beta2, eps):\n    ...", "adam_step",
        _check_adam_step),
}


def check(name, answer) -> list[str]:
    """Problems with ``answer`` (a function, or the weights for the ANSWER exercises); [] when it is right."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; expected one of {', '.join(EXERCISES)}")
    try:
        return EXERCISES[name].checker(answer)
    except Wrong as exc:
        return [str(exc)]


def _load(path: str, name: str):
    """The answer FILE.py defines, or Wrong with one line (no file, untouched template, error, no symbol)."""
    import pathlib
    import runpy

    exercise, file = EXERCISES[name], pathlib.Path(path)
    if not file.is_file():
        raise Wrong(f"no file {path}: write your answer there first (the template: python -m reference.course "
                    f"exercise {name})")
    if file.read_text(encoding="utf-8").strip() == exercise.template.strip():
        raise Wrong(f"{path} is still the untouched template: fill in your answer")
    try:
        namespace = runpy.run_path(str(file))
    except SyntaxError as exc:
        raise Wrong(f"{path} line {exc.lineno}: SyntaxError: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - the student's file, not our bug
        raise Wrong(f"{path} could not run: {type(exc).__name__}: {exc}") from None
    if exercise.symbol not in namespace:
        raise Wrong(f"{path} defines no {exercise.symbol}")
    return namespace[exercise.symbol]


def main(argv) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m reference.course exercise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="the exercise")
    parser.add_argument("--list", action="store_true", help="list the exercises")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="FILE.py", help="check the answer defined in this file")
    group.add_argument("--solution", action="store_true", help="print a model solution")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name, exercise in EXERCISES.items():
            print(f"{name:18s} {exercise.task}")
        return 0
    if args.name not in EXERCISES:
        parser.error(f"unknown exercise {args.name!r}; see --list")
    exercise = EXERCISES[args.name]
    if args.solution:
        from .solutions import SOLUTIONS

        print(SOLUTIONS[args.name])
        return 0
    if not args.check:
        print(exercise.task)
        print(f"\nWrite it in a file, e.g. answer.py:\n\n{exercise.template}\n\nthen: python -m reference.course "
              f"exercise {args.name} --check answer.py")
        return 0
    try:
        problems = check(args.name, _load(args.check, args.name))
    except Wrong as exc:
        print(exc)
        return 2
    for p in problems:
        print("wrong:", p)
    print("correct" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1
