"""The peers' adapters, the adapter template and ``python -m conformance ecosystem``."""
import importlib.util

import pytest

from conformance import ecosystem, report
from conformance.examples.adapter_template import MyBackend
from conformance.operations import OPERATIONS
from conformance.runner import PROFILES, run_check


def test_the_adapter_template_passes_and_states_what_it_declines(tmp_path):
    result = run_check(MyBackend(), "conformance.examples.adapter_template:MyBackend",
                       OPERATIONS["cross_entropy[mean]"], "float32", PROFILES["ci"])
    assert result.status == "pass" and result.examples > 0
    z_loss = "z_loss: my kernel has no z-loss"
    assert result.declined[z_loss] > 0 and all(r.endswith("as torch does") for r in result.declined if r != z_loss)
    unsupported = run_check(MyBackend(), "t", OPERATIONS["cross_entropy[mean]"], "float64", PROFILES["ci"])
    assert unsupported.status == "not implemented" and "my kernel is for training formats" in unsupported.message
    report.write([result, unsupported], tmp_path, "ci")
    md = (tmp_path / "my-kernels.md").read_text()
    assert f"- {z_loss} ({result.declined[z_loss]} examples: `cross_entropy[mean]@float32`)" in md
    assert "- float64: my kernel is for training formats: `cross_entropy[mean]` (float64)." in md


def test_the_page_sets_backends_side_by_side_with_failures_by_option_class():
    rows = {"peer": [{"op": "softmax", "dtype": "float32", "status": "fail", "worst_ratio": 9e6, "message": "m",
                      "failures": [{"option_class": ["transposed layout"], "message": "wrong gradient"}]},
                     {"op": "softmax", "dtype": "bfloat16", "status": "not meaningful", "worst_ratio": None}],
            "torch16": [{"op": "softmax", "dtype": "bfloat16", "status": "pass", "worst_ratio": 0.5}]}
    meta = {"command": "python -m conformance ecosystem", "date": "d", "environment": "e", "profile": "ci",
            "minutes": 1.0}
    md = ecosystem.markdown(rows, meta)
    assert "| operation | dtype | `peer` | `torch16` |" in md
    assert "| `softmax` | float32 | **fail** 9e+06 |  |" in md and "| `softmax` | bfloat16 | n/m | pass 0.5 |" in md
    assert "- `peer` `softmax@float32` [transposed layout]: wrong gradient" in md
    assert "## Confirmed findings" in md  # copied from conformance/ecosystem_findings.md


def test_the_command_writes_only_where_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert ecosystem.main(["--backends", "reference", "--ops", "softmax"]) == 0
    page = tmp_path / ecosystem.DEFAULT_OUT
    assert "| `softmax` | float64 | pass 0 |" in page.read_text()
    assert ecosystem.main(["--backends", "reference", "--ops", "softmax", "--out", "elsewhere.md"]) == 0
    assert (tmp_path / "elsewhere.md").exists()
    # nothing checked (a float64-only backend asked for bfloat16): an error, not a green page
    assert ecosystem.main(["--backends", "reference", "--ops", "softmax", "--dtypes", "bfloat16",
                           "--out", "none.md"]) == 2


def test_backends_run_at_once_keep_their_columns_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert ecosystem.main(["--backends", "torch", "reference", "--ops", "softmax", "--dtypes", "float64",
                           "--jobs", "2", "--out", "page.md"]) == 0
    page = (tmp_path / "page.md").read_text()
    assert "| operation | dtype | `torch` | `reference` |" in page and "| `softmax` | float64 | pass" in page
    assert "CPU, torch" in page  # where it ran (a GPU's name on a GPU machine)
    with pytest.raises(SystemExit):
        ecosystem.main(["--backends", "reference", "--jobs", "0"])
    assert "--jobs must be at least 1" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("liger_kernel") is None, reason="pip install -e '.[peers]'")
def test_liger_runs_here_and_its_bfloat16_is_not_meaningful_under_the_interpreter():
    from conformance import interpreter
    from conformance.backends import load_backend

    liger = load_backend("liger")
    result = run_check(liger, "liger", OPERATIONS["linear_cross_entropy[mean]"], "float32", PROFILES["ci"])
    assert result.examples > 0
    # its one confirmed float32 failure (ECOSYSTEM.md, finding 7): Σ w rounded to 16-bit class weights' format
    assert all({"class_weight", "label_smoothing"} <= set(f["option_class"])
               and {"float16 class_weight", "bfloat16 class_weight"} & set(f["option_class"])
               for f in result.failures), result.failures
    bf16 = run_check(liger, "liger", OPERATIONS["linear_cross_entropy[mean]"], "bfloat16", PROFILES["ci"])
    assert bf16.status == ("not meaningful" if interpreter.active() else "pass")
    # bfloat16 class weights beside float32 logits are not meaningful under the interpreter either
    assert any("not meaningful here" in reason for reason in result.declined) == interpreter.active()


@pytest.mark.skipif(importlib.util.find_spec("liger_kernel") is None, reason="pip install -e '.[peers]'")
def test_liger_writing_its_gradient_into_the_logits_is_reported_as_such():
    """Documented: its forward stores the gradient in the logits when they require grad. The check
    of untouched inputs reports it (a known failure); the checks of values are not disturbed."""
    from conformance.backends import load_backend

    liger = load_backend("liger")
    untouched = run_check(liger, "liger", OPERATIONS["untouched[cross_entropy]"], "float32", PROFILES["ci"])
    assert untouched.status == "expected failure" and "modified its input 'logits'" in untouched.message
    grad = run_check(liger, "liger", OPERATIONS["cross_entropy_grad[mean]"], "float32", PROFILES["ci"])
    assert all(f["option_class"] for f in grad.failures)  # plain inputs pass (the failures are of other classes)


def test_a_backend_that_ends_its_process_is_reported_against_the_operation(tmp_path, monkeypatch):
    (tmp_path / "crashing_backend_xyz.py").write_text(
        "import os\n"
        "from conformance.backends.reference import ReferenceBackend\n"
        "class Crashing(ReferenceBackend):\n"
        "    name = 'crashing'\n"
        "    def log_softmax(self, x):\n"
        "        os._exit(139)  # as a kernel reading out of bounds under the interpreter does\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert ecosystem.main(["--backends", "crashing_backend_xyz:Crashing", "--ops", "softmax", "log_softmax",
                           "--out", "page.md"]) == 0
    page = (tmp_path / "page.md").read_text()
    assert "| `softmax` | float64 | pass 0 |" in page  # run again alone, after the process died
    assert "| `log_softmax` | all | **crashed** |" in page
