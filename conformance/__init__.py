"""Conformance suite: any implementation of the project's operations held to the float64 oracle.

Property-based tests (hypothesis) draw inputs from shared strategies (conformance.strategies),
compute the expected results with the ``reference`` package in float64 on exactly the inputs the
backend gets, and require every output element to lie within an error bound derived from the
format's unit roundoff and the operation's reduction length (conformance.tolerance,
conformance/TOLERANCE.md). Backends follow a small protocol (conformance.backends); reports give,
per operation and dtype, the worst error as a fraction of its bound.

    python -m conformance                       # every backend available here, ci profile
    python -m conformance --backend torch --ops 'cross_entropy*' --profile thorough
    python -m conformance export DIR            # golden vectors for other languages
    python -m conformance check-vectors DIR --command "./my_impl"
    python -m conformance ecosystem --out FILE  # other libraries' kernels side by side (conformance.ecosystem)
"""
from .backends import Backend, load_backend
from .operations import OPERATIONS
from .runner import PROFILES, reproduce, run, run_check

__all__ = ["Backend", "OPERATIONS", "PROFILES", "load_backend", "reproduce", "run", "run_check"]
