"""The conformance suite under plain pytest, for a backend of your own: one test per operation x dtype.

    CONFORMANCE_BACKENDS=mypkg.backend:Mine python -m pytest tests/test_conformance.py

The same checks as ``python -m conformance`` (conformance.runner.run_check; CONFORMANCE_PROFILE,
default ci): backends that decline an operation are skipped, known failures are strict xfails.
Without CONFORMANCE_BACKENDS no check is generated: the built-in backends' checks are CI's main
job, ``python -m conformance``, and running them here too would do the same derandomized work
twice. What is tested here without it is how a check's status becomes a pytest outcome.
"""
import os

import pytest

from conformance.backends import load_backend
from conformance.runner import CheckResult, get_profile, run_check, select_operations

SPECS = [s for s in os.environ.get("CONFORMANCE_BACKENDS", "").split(",") if s]
PROFILE = get_profile(os.environ.get("CONFORMANCE_PROFILE", "ci"))
_BACKENDS = {}


def _backend(spec):
    if spec not in _BACKENDS:
        _BACKENDS[spec] = load_backend(spec)
    return _BACKENDS[spec]


def _cases():
    for spec in SPECS:
        for dtype in _backend(spec).dtypes:
            for op in select_operations():
                yield pytest.param(spec, op, dtype, id=f"{spec}-{op.id}@{dtype}")


def outcome(result: CheckResult) -> None:
    """Skip what the backend does not implement or what cannot be checked meaningfully here (a
    format Triton's interpreter computes wrongly), xfail an expected failure, fail any other failure
    (an unexpected pass included)."""
    if result.status in ("not implemented", "not meaningful"):
        pytest.skip(result.message)
    if result.status == "expected failure":
        pytest.xfail(result.message)
    assert not result.failed, f"{result.status}: {result.message}\n" + (
        f"minimal failing example; to reproduce:\n{result.reproducer}" if result.reproducer else "")
    assert result.examples > 0


@pytest.mark.skipif(not SPECS, reason="set CONFORMANCE_BACKENDS; the built-in backends run in `python -m conformance`")
@pytest.mark.parametrize(("spec", "op", "dtype"), list(_cases()) or [pytest.param(None, None, None, id="none")])
def test_conformance(spec, op, dtype):
    outcome(run_check(_backend(spec), spec, op, dtype, PROFILE))


@pytest.mark.parametrize(("status", "raises"), [
    ("pass", None), ("not implemented", pytest.skip.Exception), ("not meaningful", pytest.skip.Exception),
    ("expected failure", pytest.xfail.Exception),
    ("fail", AssertionError), ("improbable", AssertionError), ("unexpected pass", AssertionError)])
def test_statuses_become_pytest_outcomes(status, raises):
    result = CheckResult("b", "softmax", "float32", status, examples=3, message="why")
    if raises is None:
        outcome(result)
    else:
        with pytest.raises(raises, match="why"):
            outcome(result)
