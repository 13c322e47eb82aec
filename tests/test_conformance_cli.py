"""python -m conformance: reports, exit status, reproducers, third-party backends, known failures."""
import json
import subprocess
import sys

from pathlib import Path

import pytest

from conformance.backends import Backend, load_backend, validate
from conformance.backends.reference import ReferenceBackend
from conformance.cli import main
from conformance.operations import OPERATIONS
from conformance.runner import PROFILES, run_check
from conformance.tolerance import get_precision


class PartialBackend(Backend):
    """A third-party list backend: a correct softmax, a linear whose bias is off by one place,
    no log_softmax at all, and an activation that declines every name but relu."""

    name = "partial"

    def softmax(self, x):
        return ReferenceBackend().softmax(x)

    def linear(self, x, weight, bias=None):
        shifted = None if bias is None else bias[1:] + bias[:1]
        return ReferenceBackend.linear(x, weight, shifted)

    def activation(self, name, x, **params):
        if name != "relu":
            raise NotImplementedError(name)
        return [max(v, 0.0) for v in x]


class KnownBadLinear(PartialBackend):
    name = "known-bad"
    known_failures = ("linear",)


class WritesIntoItsInput(Backend):
    name = "writer"

    def softmax(self, x):
        out = ReferenceBackend().softmax(x)
        if x:
            x[0][0] = 0.5  # a backend must not modify its arguments
        return out


def test_list_prints_every_operation(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(op_id in out for op_id in OPERATIONS)


def test_run_writes_markdown_and_json_reports(tmp_path, capsys):
    code = main(["--backend", "reference", "--ops", "softmax", "linear_act[relu]", "--report-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "[   2/2] reference" in out  # the progress display
    report = json.loads((tmp_path / "reference.json").read_text())
    assert report["profile"] == "ci" and report["summary"]["pass"] == 2
    rows = {r["id"]: r for r in report["results"]}
    # The random examples, then the boundary cases but one: the oracle declines the NaN and +inf rows.
    boundary = len(OPERATIONS["softmax"].boundary(PROFILES["ci"].edges, get_precision("float64")))
    examples = PROFILES["ci"].examples + boundary - 1
    assert rows["softmax@float64"]["examples"] == examples and rows["softmax@float64"]["skipped"] == 1
    assert rows["linear_act[relu]@float64"]["worst_ratio"] == 0.0  # the oracle against itself
    assert set(rows["linear_act[relu]@float64"]["bands"]) == {"<=16", "<=256", "<=4096", ">4096"}
    md = (tmp_path / "reference.md").read_text()
    assert f"| `softmax` | float64 | pass | {examples} (+1 declined) | 0 | <=16 0/0, <=256 0/0," in md


def test_third_party_backend_failure_exits_1_with_a_reproducer(tmp_path, capsys):
    code = main(["--backend", "test_conformance_cli:PartialBackend", "--ops", "softmax", "log_softmax", "linear",
                 "activation[relu]", "activation[tanh]", "--report-dir", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    report = {r["op"]: r for r in json.loads((tmp_path / "partial.json").read_text())["results"]}
    assert report["softmax"]["status"] == "pass"
    assert report["activation[relu]"]["status"] == "pass"
    assert report["log_softmax"]["status"] == "not implemented"  # no method
    assert report["activation[tanh]"]["status"] == "not implemented"  # declined every example
    assert report["linear"]["status"] == "fail"
    assert "FAIL partial linear@float64" in out and "minimal failing example" in out
    md = (tmp_path / "partial.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert [row.split("|")[3].strip() for row in rows] == ["**fail**", "pass", "pass"]  # failures first
    assert "**Not implemented** (2 checks; " in md  # summarized, one line per reason
    assert "\n- no method: `log_softmax`.\n- declined every example: tanh: `activation[tanh]`." in md
    assert "Device: **cpu**" in md and '"+k declined": examples the backend declined' in md
    snippet = report["linear"]["reproducer"]
    assert snippet in out
    namespace = {}
    with pytest.raises(AssertionError):  # the snippet reproduces the failure on its own
        exec(snippet, namespace)
    # The first boundary case caught it: the smallest layer, of 1 input (no shrinking needed).
    weight = namespace["case"]["arrays"]["weight"]
    assert len(weight[0]) == 1


def test_known_failures_are_expected_not_fatal(tmp_path, capsys):
    code = main(["--backend", "test_conformance_cli:KnownBadLinear", "--ops", "linear", "softmax",
                 "--report-dir", str(tmp_path)])
    assert code == 0
    # said where the summary prints it
    assert "(expected failure: a known difference from the oracle" in capsys.readouterr().out
    md = (tmp_path / "known-bad.md").read_text()
    assert "| `linear` | float64 | expected failure |" in md and "## Failures" in md
    result = run_check(KnownBadLinear(), "known", OPERATIONS["softmax"], "float64", PROFILES["ci"])
    assert result.status == "pass"
    KnownBadLinear.known_failures = ("softmax@float64",)
    try:
        result = run_check(KnownBadLinear(), "known", OPERATIONS["softmax"], "float64", PROFILES["ci"])
        assert result.status == "unexpected pass" and result.failed  # strict: a stale entry is noticed
        assert main(["--backend", "test_conformance_cli:KnownBadLinear", "--ops", "softmax", "--dtypes", "fp64",
                     "--out", str(tmp_path)]) == 1
        assert "FAIL known-bad softmax@float64: listed as a known failure but passed" in capsys.readouterr().out
    finally:
        KnownBadLinear.known_failures = ("linear",)


def test_a_backend_writing_into_its_input_fails_the_untouched_check_only():
    """Its results are right, computed before the write: the checks of values pass."""
    result = run_check(WritesIntoItsInput(), "writer", OPERATIONS["untouched[softmax]"], "float64", PROFILES["ci"])
    assert result.status == "fail" and "modified its input 'x'" in result.message
    assert run_check(WritesIntoItsInput(), "writer", OPERATIONS["softmax"], "float64", PROFILES["ci"]).status == "pass"


def test_reports_go_to_an_ignored_folder_unless_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--backend", "reference", "--ops", "softmax", "--dtypes", "fp64"]) == 0
    assert (tmp_path / "out" / "conformance" / "reference.md").exists()
    assert capsys.readouterr().out.rstrip().endswith(f"reports in {Path('out', 'conformance')}: reference.md")
    assert main(["--backend", "reference", "--ops", "softmax", "--out", "elsewhere"]) == 0
    assert (tmp_path / "elsewhere" / "reference.md").exists()


def test_dtypes_take_long_and_short_names():
    from conformance.cli import _run_parser

    assert _run_parser().parse_args(["--dtypes", "bf16", "float32", "fp16", "bfloat16"]).dtypes == \
        ["bfloat16", "float32", "float16", "bfloat16"]


def test_unknown_dtype_is_a_usage_error_naming_the_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dtypes", "int8"])
    assert exit_info.value.code == 2
    assert "argument --dtypes: unknown dtype 'int8'; expected one of float64/fp64" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--ops", "no_such_op"], ["--profile", "nightly"],
                                  ["--backend", "no_such_module_xyz:Backend", "--ops", "softmax"]])
def test_bad_usage_exits_2(argv, capsys):
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_load_backend_rejects_protocol_violations():
    class BadDtype(Backend):
        dtypes = ("float8",)

    assert isinstance(load_backend(f"{__name__}:PartialBackend"), PartialBackend)
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        validate(BadDtype(), "bad")
    with pytest.raises(ValueError, match="expected a built-in name"):
        load_backend("no-colon-here")


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "conformance", "--list"], capture_output=True, text=True, check=True)
    assert "cross_entropy_grad[all_ignored]" in out.stdout


def test_long_reproducers_go_to_their_own_file(tmp_path):
    from conformance import report
    from conformance.runner import CheckResult

    long = CheckResult("big", "mlp_backward", "float32", "fail", message="bad", reproducer="x = 1\n" * 1000)
    short = CheckResult("big", "softmax", "float32", "fail", message="bad", reproducer="x = 1\n")
    paths = report.write([long, short], tmp_path, "ci")
    script = tmp_path / "big-mlp_backward-float32.py"
    assert script in paths and script.read_text() == long.reproducer
    md = (tmp_path / "big.md").read_text()
    assert "`big-mlp_backward-float32.py`" in md and "```python\nx = 1\n```" in md


@pytest.mark.parametrize("argv", [["--backend", "reference", "--dtypes", "bf16"],
                                  ["--backend", "test_conformance_cli:PartialBackend", "--ops", "cross_entropy*"]])
def test_a_run_that_checks_nothing_exits_2(argv, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path)]) == 2
    assert "error: no" in capsys.readouterr().err


def test_a_backend_module_that_is_not_importable_says_how_to_fix_it(tmp_path, monkeypatch, capsys):
    assert main(["--backend", "no_such_pkg_xyz.mod:Backend", "--ops", "softmax", "--out", str(tmp_path)]) == 2
    assert "must be importable from here" in capsys.readouterr().err
    (tmp_path / "needs_dep_xyz.py").write_text("import missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="'needs_dep_xyz' imports 'missing_dependency_xyz', which is not installed"):
        load_backend("needs_dep_xyz:Backend")


class SoftmaxBadAtInfAndOnLongRows(Backend):
    """softmax of a row holding +inf is 0 (torch's rule: NaN), and rows holding a logit below -50 are off by 1e-3."""

    name = "two-bugs"

    def softmax(self, x):
        out = []
        for row in x:
            if any(v == float("inf") or v != v for v in row):
                out.append([0.0] * len(row))
            else:
                out.append([p + (1e-3 if min(row) < -50.0 else 0.0) for p in ReferenceBackend().softmax([row])[0]])
        return out


class MseOffByTheLargestValue(Backend):
    """mse with an error that grows with the largest |y|: shrinking ends at a milder case than the worst."""

    name = "growing"

    def mse(self, y, d, reduction="mean"):
        loss = ReferenceBackend.mse(y, d, reduction)
        err = 1e-9 * max(abs(v) for row in y for v in row) ** 2
        return [[v + err for v in row] for row in loss] if reduction == "none" else loss + err


def test_a_failing_option_class_does_not_hide_the_others(tmp_path, capsys):
    result = run_check(SoftmaxBadAtInfAndOnLongRows(), "test_conformance_cli:SoftmaxBadAtInfAndOnLongRows",
                       OPERATIONS["softmax"], "float64", PROFILES["ci"])
    assert result.status == "fail"
    classes = [f["option_class"] for f in result.failures]
    assert ["special values"] in classes  # the boundary case of +inf rows
    finite = [f for f in result.failures if "special values" not in f["option_class"]]
    assert finite, "the smallest finite failing example was not searched for"
    namespace = {}
    with pytest.raises(AssertionError):  # its reproducer fails on finite inputs alone
        exec(finite[0]["reproducer"], namespace)
    assert min(map(min, namespace["case"]["arrays"]["x"])) < -50.0 and "inf" not in finite[0]["reproducer"]
    from conformance import report
    report.write([result], tmp_path, "ci")
    md = (tmp_path / "two-bugs.md").read_text()
    assert "**with special values** (the expected result at inf or NaN is torch's convention" in md


def test_the_worst_case_met_keeps_its_own_reproducer():
    result = run_check(MseOffByTheLargestValue(), "test_conformance_cli:MseOffByTheLargestValue",
                       OPERATIONS["mse"], "float64", PROFILES["ci"])
    assert result.status == "fail" and result.worst_reproducer
    assert result.worst_ratio > result.failures[0]["ratio"]
    namespace = {}
    with pytest.raises(AssertionError):
        exec(result.worst_reproducer, namespace)


def test_a_backend_name_with_a_dot_keeps_its_own_report(tmp_path):
    from conformance import report
    from conformance.runner import CheckResult

    paths = report.write([CheckResult("torch.compile", "softmax", "float32", "pass"),
                          CheckResult("torch", "softmax", "float32", "pass")], tmp_path, "ci")
    assert {p.name for p in paths} == {"torch.compile.md", "torch.compile.json", "torch.md", "torch.json"}
