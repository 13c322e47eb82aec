"""The exercises' checkers accept right answers and say what is wrong with wrong ones."""
import math
import subprocess
import sys

from reference.course.exercises import EXERCISES, check


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    return [v / math.fsum(e) for v in e]


def adam_step(w, g, m, v, t, lr, b1, b2, eps):
    m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
    v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
    w = [wi - lr * (mi / (1 - b1 ** t)) / (math.sqrt(vi / (1 - b2 ** t)) + eps) for wi, mi, vi in zip(w, m, v)]
    return w, m, v


def layer_backward(x, W, b, gy):
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    xi = [[b[n] + sum(wk * xk for wk, xk in zip(W[n], row)) for n in range(len(W))] for row in x]
    d = [[g * sig(v) * (1 - sig(v)) for g, v in zip(grow, xrow)] for grow, xrow in zip(gy, xi)]
    dx = [[sum(d[m][n] * W[n][k] for n in range(len(W))) for k in range(len(W[0]))] for m in range(len(x))]
    dW = [[sum(d[m][n] * x[m][k] for m in range(len(x))) for k in range(len(W[0]))] for n in range(len(W))]
    db = [sum(d[m][n] for m in range(len(x))) for n in range(len(W))]
    return dx, dW, db


def perceptron_update(w, x, d, eta):
    xt = [1.0, *x]
    y = 1 if sum(a * b for a, b in zip(w, xt)) >= 0 else 0
    return [wi + eta * (d - y) * xi for wi, xi in zip(w, xt)]


def test_right_answers_pass():
    assert len(EXERCISES) >= 5
    assert check("nand", [1.5, -1.0, -1.0]) == []
    assert check("softmax", softmax) == []
    assert check("adam_step", adam_step) == []
    assert check("layer_backward", layer_backward) == []
    assert check("perceptron_update", perceptron_update) == []


def test_wrong_answers_are_explained():
    assert check("nand", [1.0, 1.0, -1.0]) == ["input (1, 1): ξ = 1 gives y = 1, NAND is 0"]
    naive = lambda xs: [math.exp(x) / sum(math.exp(y) for y in xs) for x in xs]  # noqa: E731
    assert any("OverflowError" in p and "max(xs)" in p for p in check("softmax", naive))
    no_bias_correction = lambda w, g, m, v, t, lr, b1, b2, eps: adam_step(w, g, m, v, 1, lr, b1, b2, eps)  # noqa: E731
    assert check("adam_step", no_bias_correction)[0].startswith("step 2: w[0]")  # m and v right, w wrong from step 2

    def no_sigmoid_derivative(x, W, b, gy):
        dx, dW, db = layer_backward(x, W, b, gy)
        return dx, dW, [2 * v for v in db]
    assert check("layer_backward", no_sigmoid_derivative)[0].startswith("db[0]")
    assert "expected" in check("perceptron_update", lambda w, x, d, eta: w)[0]


def test_cli_checks_a_file(tmp_path):
    answer = tmp_path / "answer.py"
    answer.write_text("ANSWER = [1.5, -1.0, -1.0]\n")
    run = subprocess.run([sys.executable, "-m", "reference.course", "exercise", "nand", "--check", str(answer)],
                         capture_output=True, text=True)
    assert run.returncode == 0 and "correct" in run.stdout
    answer.write_text("ANSWER = [0.0, 1.0, 1.0]\n")
    run = subprocess.run([sys.executable, "-m", "reference.course", "exercise", "nand", "--check", str(answer)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "wrong: input (1, 1)" in run.stdout
