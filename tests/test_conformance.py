"""The conformance suite under plain pytest: one test per backend x operation x dtype.

The same checks as ``python -m conformance`` (conformance.runner.run_check, profile ``ci``):
backends that decline an operation are skipped, known failures are xfailed. Environment:
CONFORMANCE_BACKENDS (comma-separated names or package.module:Name; default every built-in
backend available here), CONFORMANCE_PROFILE (default ci).
"""
import os

import pytest

from conformance.backends import default_backends, load_backend
from conformance.runner import get_profile, run_check, select_operations

SPECS = [s for s in os.environ.get("CONFORMANCE_BACKENDS", "").split(",") if s] or default_backends()
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


@pytest.mark.parametrize(("spec", "op", "dtype"), list(_cases()))
def test_conformance(spec, op, dtype):
    result = run_check(_backend(spec), spec, op, dtype, PROFILE)
    if result.status == "not implemented":
        pytest.skip(result.message)
    if result.status == "expected failure":
        pytest.xfail(result.message)
    details = f"{result.message}\nminimal failing example; to reproduce:\n{result.reproducer}"
    assert result.status in ("pass", "unexpected pass"), details
    assert result.examples > 0
