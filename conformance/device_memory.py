"""One process at a time for a GPU's largest allocations.

``python -m report gpu-check`` runs the GPU tests beside a dozen conformance processes on one GPU.
A cross-entropy case past 2^31 elements holds 9-17 GB (logits and gradient), and so do the tests
of 64-bit offsets; a few of them at once, plus what each process's caching allocator keeps after
them, exceed the device (an H100 has 80 GB). ``exclusive()`` serializes them across processes
with an advisory file lock (the same file for every process of a machine) and hands the cached
memory back to the device before releasing it. Where there is no ``fcntl`` (Windows) it only
empties the cache.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

LOCK_ENV = "CONFORMANCE_DEVICE_LOCK"  # another lock file, e.g. one per GPU where a machine has several


def lock_path() -> str:
    return os.environ.get(LOCK_ENV) or os.path.join(tempfile.gettempdir(), "oracle-kernels-device-memory.lock")


@contextlib.contextmanager
def exclusive():
    """Hold the machine's device-memory lock for the block; on leaving, empty torch's CUDA cache."""
    try:
        import fcntl
    except ImportError:
        fcntl = None
    with open(lock_path(), "a") as handle:
        if fcntl:
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            torch = sys.modules.get("torch")
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
            if fcntl:
                fcntl.flock(handle, fcntl.LOCK_UN)
