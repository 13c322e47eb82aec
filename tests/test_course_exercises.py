"""The exercises' checkers accept the model solutions, say why wrong answers are wrong, and the command
line answers a missing file, an untouched template or a broken answer with one line, never a traceback."""
import math
import runpy
import subprocess
import sys

import pytest

from reference.course.exercises import EXERCISES, check
from reference.course.solutions import SOLUTIONS


def solution(name, tmp_path):
    """The model solution's answer, loaded as a student's file would be."""
    path = tmp_path / f"{name}.py"
    path.write_text(SOLUTIONS[name], encoding="utf-8")
    return runpy.run_path(str(path))[EXERCISES[name].symbol]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "reference.course", "exercise", *map(str, args)],
                          capture_output=True, text=True)


def test_every_model_solution_passes(tmp_path):
    assert len(EXERCISES) >= 10 and set(SOLUTIONS) == set(EXERCISES)
    for name in EXERCISES:
        assert check(name, solution(name, tmp_path)) == [], name


def test_the_decks_numbers():
    assert check("exam_neuron", [-3.0, 0.3, 0.8, 0.5]) == []
    assert "w0 = -3" in check("exam_neuron", [3.0, 0.3, 0.8, 0.5])[0]
    assert len(check("count_parameters", lambda sizes: 23)) == 3  # right for 3-3-2-1 only
    no_bias = check("count_parameters", lambda s: sum(k * n for k, n in zip(s, s[1:])))
    assert "n_parameters([3, 3, 2, 1]) = 17, expected 23 (each neuron also has a bias w_j0)" == no_bias[0]
    assert check("xor_network", [[[-1.0, 2.0, 2.0], [3.0, -2.0, -2.0]], [[-2.0, 1.0, 1.0]]]) == []
    assert check("xor_network", [[[-1.0, 1.0, 1.0], [-2.0, 1.0, 1.0]], [[-1.0, 1.0, 0.0]]]) == [
        "input (1, 1): the network gives 1, XOR is 0"]  # only OR


def test_wrong_answers_are_explained(tmp_path):
    assert check("nand", [1.0, 1.0, -1.0]) == ["input (1, 1): ξ = 1 gives y = 1, NAND is 0"]
    naive = lambda xs: [math.exp(x) / sum(math.exp(y) for y in xs) for x in xs]  # noqa: E731
    problems = check("softmax", naive)
    assert any("OverflowError" in p and "max(xs)" in p for p in problems)
    assert any("underflows" in p and "max(xs)" in p for p in problems)  # [-1000, -1001]: 0/0
    nats = lambda p, d: -sum(di * math.log(pi) for pi, di in zip(p, d) if di)  # noqa: E731
    assert "nats" in check("cross_entropy_bits", nats)[0]
    assert "2x" in check("chain_rule", lambda x: math.cos(x * x))[0]
    assert "not at x" in check("chain_rule", lambda x: 2 * x * math.cos(x))[0]
    adam = solution("adam_step", tmp_path)
    no_bias_correction = lambda w, g, m, v, t, lr, b1, b2, eps: adam(w, g, m, v, 1, lr, b1, b2, eps)  # noqa: E731
    assert check("adam_step", no_bias_correction)[0].startswith("step 2: w[0]")  # m and v right, w wrong from step 2
    layer = solution("layer_backward", tmp_path)

    def doubled_db(x, W, b, gy):
        dx, dW, db = layer(x, W, b, gy)
        return dx, dW, [2 * v for v in db]
    assert check("layer_backward", doubled_db)[0].startswith("db[0]")
    assert "expected" in check("perceptron_update", lambda w, x, d, eta: w)[0]
    assert "x0 = 1" in check("perceptron_update", lambda w, x, d, eta: w[1:])[0]


@pytest.mark.parametrize("name, answer, message", [
    ("softmax", lambda xs: None, "returned None: it has no return statement yet"),
    ("softmax", lambda xs: 1.0, "returned a float, expected a list of floats"),
    ("softmax", lambda xs: [1] * len(xs), "[0] is a int, expected a float"),
    ("chain_rule", lambda x: "0.5", "the result is a str, expected a number"),
    ("nand", "1.5, -1, -1", "ANSWER is a str, expected a list of numbers"),
    ("nand", [1.5, -1.0], "ANSWER has 2 entries, expected 3"),
    ("xor_network", [[1, 2, 3]], "ANSWER must be [hidden, output]"),
    ("adam_step", lambda *a: a[0], "expected the tuple (w, m, v)"),
    ("count_parameters", 23, "expected a function, got int"),
])
def test_wrong_types_read_as_such(name, answer, message):
    problems = check(name, answer)
    assert len(problems) >= 1 and message in problems[0]


def test_cli_checks_a_file(tmp_path):
    answer = tmp_path / "answer.py"
    answer.write_text("ANSWER = [1.5, -1.0, -1.0]\n")
    run = cli("nand", "--check", answer)
    assert run.returncode == 0 and "correct" in run.stdout
    answer.write_text("ANSWER = [0.0, 1.0, 1.0]\n")
    run = cli("nand", "--check", answer)
    assert run.returncode == 1 and "wrong: input (1, 1)" in run.stdout


@pytest.mark.parametrize("content, message", [
    (None, "no file"),
    ("template", "is still the untouched template"),
    ("def softmax(xs:\n", "line 1: SyntaxError"),
    ("import numpyy\n", "could not run: ModuleNotFoundError"),
    ("def soft_max(xs):\n    return xs\n", "defines no softmax"),
])
def test_cli_answers_a_bad_file_in_one_line(tmp_path, content, message):
    answer = tmp_path / "answer.py"
    if content is not None:
        answer.write_text(EXERCISES["softmax"].template if content == "template" else content)
    run = cli("softmax", "--check", answer)
    assert run.returncode == 2 and run.stderr == ""
    assert run.stdout.count("\n") == 1 and message in run.stdout


def test_untouched_template_of_a_function_exercise_says_so_from_python(tmp_path):
    path = tmp_path / "answer.py"
    path.write_text(EXERCISES["layer_backward"].template, encoding="utf-8")
    namespace = runpy.run_path(str(path))
    assert "template's ... still there" in check("layer_backward", namespace["layer_backward"])[0]


def test_cli_prints_the_solution_only_on_request():
    task = cli("softmax")
    assert task.returncode == 0 and "m = max(xs)" not in task.stdout and "def softmax(xs):\n    ..." in task.stdout
    run = cli("softmax", "--solution")
    assert run.returncode == 0 and run.stdout.strip() == SOLUTIONS["softmax"].strip()
    listing = cli("--list").stdout.splitlines()
    assert [line.split()[0] for line in listing] == list(EXERCISES)
