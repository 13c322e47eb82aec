"""Golden vectors: export, the stdin/stdout protocol, and external programs checked against them."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.runner import select_operations
from conformance.tolerance import FLOAT32
from conformance.vectors import ProtocolError, check, encode_request, export, load, parse_responses

EXAMPLES = Path(__file__).resolve().parent.parent / "conformance" / "examples"
OPS = ["softmax", "log_softmax", "linear", "cross_entropy_grad[mean]", "optimizer_step[adam]", "mlp_backward"]


@pytest.fixture(scope="module")
def vectors(tmp_path_factory):
    directory = tmp_path_factory.mktemp("vectors")
    export(directory, select_operations(OPS), examples=5)
    return directory


def test_export_writes_one_file_per_operation_and_dtype(vectors):
    files = sorted(p.relative_to(vectors).as_posix() for p in vectors.rglob("*.json"))
    assert len(files) == 2 * len(OPS)
    assert "float32/cross_entropy_grad.mean.json" in files and "float64/optimizer_step.adam.json" in files
    assert "Protocol of check-vectors" in (vectors / "FORMAT.md").read_text()
    data = load(vectors / "float32" / "linear.json")
    assert data["op"] == "linear" and data["results"] == ["y"]
    assert set(data["array_arguments"]) == {"x", "weight", "bias"}
    assert len(data["cases"]) == 5
    for case in data["cases"]:
        x = case["arguments"]["x"]
        assert all(FLOAT32.round(v) == v for row in x for v in row)  # inputs exactly representable
        assert len(case["expected"]["y"]) == len(x) and case["bound"]["y"][0][0] > 0


def test_export_is_deterministic(vectors, tmp_path):
    export(tmp_path, select_operations(["cross_entropy_grad[mean]"]), dtypes=("float32",), examples=5)
    name = "float32/cross_entropy_grad.mean.json"
    assert (tmp_path / name).read_text() == (vectors / name).read_text()


def test_non_finite_values_are_strings_in_json(vectors):
    raw = "".join(p.read_text() for p in vectors.rglob("*softmax.json"))
    assert '"-inf"' in raw  # masked logits
    data = load(vectors / "float64" / "log_softmax.json")
    assert any(v == -math.inf for c in data["cases"] for row in c["expected"]["y"] for v in row)


def test_protocol_request_and_responses():
    text = encode_request("cross_entropy_grad[mean]", "float32",
                          {"logits": [[1.0, -math.inf]], "target": [0], "weight": None, "grad_output": 0.5,
                           "reduction": "mean", "label_smoothing": 0.1},
                          arrays={"logits", "target", "weight", "grad_output"})
    assert text.split("\n") == ["request cross_entropy_grad[mean] float32", "array logits 2 1 2", "1.0 -inf",
                                "array target 1 1", "0", "array grad_output 0", "0.5", "option reduction 1 mean",
                                "option label_smoothing 1 0.1", "end", ""]
    answers = parse_responses("unsupported\nresult\narray grad 2 1 2\n0.25 nan\narray loss 0 inf\nend\n")
    assert answers[0] == "unsupported"
    assert answers[1]["grad"][0][0] == 0.25 and math.isnan(answers[1]["grad"][0][1]) and answers[1]["loss"] == math.inf
    with pytest.raises(ProtocolError, match="ended in the middle"):
        parse_responses("result\narray y 1 3\n1 2\n")


def _statuses(results):
    return {(r.op, r.dtype): r.status for r in results}


def test_python_example_passes_what_it_implements(vectors):
    results = check(vectors, f'"{sys.executable}" "{EXAMPLES / "softmax.py"}"')
    status = _statuses(results)
    for dtype in ("float32", "float64"):
        assert status[("softmax", dtype)] == "pass" and status[("log_softmax", dtype)] == "pass"
        assert status[("linear", dtype)] == "not implemented"
    assert all(r.examples == 5 for r in results if r.status == "pass")


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_c_example_passes_through_the_cli(vectors, tmp_path, capsys):
    exe = tmp_path / "softmax"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(EXAMPLES / "softmax.c"), "-lm"], check=True)
    code = main(["check-vectors", str(vectors), "--command", str(exe), "--report-dir", str(tmp_path / "report")])
    assert code == 0
    report = json.loads((tmp_path / "report" / "external.json").read_text())
    assert report["summary"]["pass"] == 4 and report["summary"]["not implemented"] == 2 * len(OPS) - 4


def test_a_wrong_program_fails(vectors, tmp_path, capsys):
    wrong = tmp_path / "uniform.py"  # answers softmax with the uniform distribution
    wrong.write_text(
        "import sys\n"
        "t = sys.stdin.read().split()\n"
        "i = 0\n"
        "while i < len(t):\n"
        "    op = t[i + 1]; i += 3; dims = None\n"
        "    while t[i] != 'end':\n"
        "        if t[i] == 'option': i += 3 + int(t[i + 2]); continue\n"
        "        nd = int(t[i + 2]); d = [int(v) for v in t[i + 3:i + 3 + nd]]\n"
        "        dims = d if t[i + 1] == 'x' else dims; n = 1\n"
        "        for v in d: n *= v\n"
        "        i += 3 + nd + n\n"
        "    i += 1\n"
        "    if op != 'softmax': print('unsupported'); continue\n"
        "    print('result array y 2', dims[0], dims[1], ' '.join([str(1 / dims[1])] * (dims[0] * dims[1])), 'end')\n")
    code = main(["check-vectors", str(vectors), "--command", f'"{sys.executable}" "{wrong}"', "--ops", "softmax",
                 "--dtypes", "fp32", "--out", str(tmp_path / "report")])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAIL external softmax@float32" in out and "request softmax float32" in out  # the failing request
    assert "float64" not in out  # --dtypes fp32 is float32 only


def test_export_reports_progress(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--ops", "softmax", "linear", "--dtypes", "fp32", "--examples", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"[  1/2] {tmp_path / 'float32'}") and lines[1].startswith("[  2/2]")
    assert lines[2].startswith("wrote 2 vector files")


def test_a_crashing_or_garbled_program_fails(vectors, tmp_path):
    crash = check(vectors, f'"{sys.executable}" -c "import sys; sys.exit(3)"', select_operations(["softmax"]))
    assert all(r.status == "fail" and "exited with status 3" in r.message for r in crash)
    garbled = check(vectors, f'"{sys.executable}" -c "print(42)"', select_operations(["softmax"]))
    assert all(r.status == "fail" and "malformed output" in r.message for r in garbled)


COMMITTED = Path(__file__).resolve().parent.parent / "conformance" / "vectors"


def test_the_committed_small_set_is_what_export_writes(tmp_path):
    """conformance/vectors/ is `python -m conformance export conformance/vectors --examples 3`:
    regenerate it with that command when an operation, strategy or bound changes."""
    export(tmp_path, select_operations(["softmax", "linear_act[relu]"]), examples=3)
    for name in ("float32/softmax.json", "float64/linear_act.relu.json", "FORMAT.md"):
        assert (tmp_path / name).read_text() == (COMMITTED / name).read_text(), name
    size = sum(p.stat().st_size for p in COMMITTED.rglob("*"))
    assert size < 700_000  # small enough to commit and to read in any language


def test_the_committed_set_checks_an_external_program():
    results = check(COMMITTED, f'"{sys.executable}" "{EXAMPLES / "softmax.py"}"', select_operations(["*softmax"]))
    assert [r.status for r in results] == ["pass"] * 4


def test_large_adds_the_boundary_cases(tmp_path):
    export(tmp_path, select_operations(["cross_entropy[sum]"]), dtypes=("float32",), examples=1, size="large")
    data = load(tmp_path / "float32" / "cross_entropy.sum.json")
    widths = {len(c["arguments"]["logits"][0]) for c in data["cases"]}
    assert {16, 17, 257, 4097} <= widths
    assert any("probable_bound" in c for c in data["cases"])
    with pytest.raises(ValueError, match="unknown size"):
        export(tmp_path, [], size="huge")


def test_a_probable_bound_is_checked(tmp_path):
    """A result within the worst-case bound but beyond the probable one is 'improbable'."""
    case = {"arguments": {"x": [[0.0, 0.0]]}, "expected": {"y": [[0.5, 0.5]]}, "bound": {"y": [[1e-3, 1e-3]]},
            "probable_bound": {"y": [[1e-6, 1e-6]]}}
    (tmp_path / "float64").mkdir()
    (tmp_path / "float64" / "softmax.json").write_text(json.dumps(
        {"format": "conformance-vectors/1", "op": "softmax", "dtype": "float64", "arguments": ["x"],
         "array_arguments": ["x"], "results": ["y"], "cases": [case]}))
    status = {}
    for answer in ("0.5 0.5", "0.5001 0.5"):
        program = f'"{sys.executable}" -c "print(\'result array y 2 1 2 {answer} end\')"'
        status[answer] = check(tmp_path, program)[0].status
    assert status == {"0.5 0.5": "pass", "0.5001 0.5": "improbable"}


def test_a_command_that_cannot_start_is_one_error_naming_it(vectors, tmp_path, capsys):
    """Not one "fail" per vector file: the run stops at once with the command and the cause."""
    script = tmp_path / "answer.sh"
    script.write_text("#!/bin/sh\n")
    for command, cause in ((str(tmp_path / "missing"), "no such file"),
                           ("no_such_program_xyz --x", "not found on PATH"), (str(script), "not executable")):
        assert main(["check-vectors", str(vectors), "--command", command, "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and command.split()[0] in err and cause in err, err
