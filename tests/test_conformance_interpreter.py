"""conformance.interpreter: the probe of Triton's CPU interpreter and the "not meaningful" status."""
import pytest

pytest.importorskip("triton")

import torch  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.language.extra import libdevice  # noqa: E402

from conformance import interpreter, report  # noqa: E402
from conformance.backends.torch_backend import TorchBackend  # noqa: E402
from conformance.operations import OPERATIONS  # noqa: E402
from conformance.runner import PROFILES, run_check  # noqa: E402

needs_interpreter = pytest.mark.skipif(not interpreter.active(), reason="Triton is compiled for a GPU here")


class TritonLike(TorchBackend):
    """Eager torch declared as Triton code: what the runner does with it depends only on the flags."""

    name = "triton-like"
    runs_triton = True
    dtypes = ("float32", "bfloat16")


class TritonLikeWithWorkaround(TritonLike):
    interpreter_workarounds = ("bfloat16",)


@needs_interpreter
def test_the_probe_finds_the_interpreters_bfloat16_faults():
    found = interpreter.faults("bfloat16")
    assert found, "Triton's interpreter computed the probe's bfloat16 right: update conformance/interpreter.py"
    assert any("casts" in f for f in found)  # the cast truncates where the GPU rounds to nearest
    assert interpreter.faults("float32") == interpreter.faults("float64") == ()


@needs_interpreter
def test_bfloat16_checks_of_triton_code_are_not_meaningful_not_failures(tmp_path):
    softmax = OPERATIONS["softmax"]
    result = run_check(TritonLike(), "x", softmax, "bfloat16", PROFILES["ci"])
    assert result.status == "not meaningful" and not result.failed and result.examples == 0
    assert "interpreter computes bfloat16 wrongly" in result.message and "probe" in result.message
    assert run_check(TritonLike(), "x", softmax, "float32", PROFILES["ci"]).status == "pass"
    # A backend whose kernels avoid the faults (the project's own) is checked as usual.
    assert run_check(TritonLikeWithWorkaround(), "x", softmax, "bfloat16", PROFILES["ci"]).status == "pass"
    # Torch itself is not Triton code: its bfloat16 is not the interpreter's.
    assert interpreter.not_meaningful(TorchBackend(), "bfloat16") is None

    report.write([result], tmp_path, "ci")
    md = (tmp_path / "triton-like.md").read_text()
    assert "**Not meaningful here** (1 checks in bfloat16, not run): Triton's CPU interpreter" in md
    assert "| `softmax` |" not in md  # folded, not a row


@triton.jit
def _scaled_log1p(out_ptr, scale, N: tl.constexpr):
    """Third-party style: a float argument's .to() (a float32 scalar when compiled) and libdevice."""
    x = scale.to(tl.float32) * (tl.arange(0, N) + 1).to(tl.float32)
    tl.store(out_ptr + tl.arange(0, N), libdevice.log1p(x))


@needs_interpreter
def test_prepare_runs_third_party_triton_as_compiled_triton_would():
    interpreter.prepare()
    interpreter.prepare()  # idempotent: the patches wrap the interpreter once
    out = torch.empty(4)
    _scaled_log1p[(1,)](out, 0.5, N=4)
    assert torch.allclose(out, torch.log1p(0.5 * torch.arange(1, 5, dtype=torch.float32)))
