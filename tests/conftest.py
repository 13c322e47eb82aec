"""Shared test set-up: Triton runs under its CPU interpreter when there is no GPU."""
import os

import pytest

try:  # decide before triton is imported anywhere
    import torch

    HAS_CUDA = torch.cuda.is_available()
    if not HAS_CUDA:
        os.environ.setdefault("TRITON_INTERPRET", "1")
except ImportError:  # the reference tests need no torch
    HAS_CUDA = False


@pytest.fixture(params=[
    pytest.param("cpu", marks=pytest.mark.skipif(HAS_CUDA, reason="CPU tensors run under the interpreter only")),
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")]),
])
def device(request):
    """A test taking ``device`` runs on the CPU under the interpreter where there is no GPU, and on
    the GPU as a gpu-marked test (the package chooses the interpreter at import)."""
    return request.param


class Guarded:
    """``alloc(t)`` for a freshly allocated output t: a NaN-filled tensor like it (an element a kernel
    forgets to write fails), in a buffer padded on both sides with canaries; ``breaches()`` says
    which were overwritten. Under Triton's interpreter a kernel writing out of bounds writes into
    host memory: into a bare tensor's neighbours that aborts the whole test process ("corrupted
    size vs. prev_size"); into the padding it fails the test with a message. Integer, meta, strided
    and requires-grad tensors (not kernel outputs) are only poisoned."""

    CANARY = -1152.0  # exact in every float format, and a value no kernel here writes by accident

    def __init__(self):
        self.buffers = []

    def alloc(self, like):
        if not like.is_floating_point() or like.device.type == "meta":
            return like
        if not like.is_contiguous() or like.requires_grad:
            like.detach().fill_(float("nan"))
            return like
        # A tile of rows past the end or before the start; whole 64-element blocks, so that the
        # buffer keeps the 16-byte alignment of a fresh allocation (TMA descriptors need it).
        pad = -(-(like.numel() + 4096) // 64) * 64
        buf = torch.full((2 * pad + like.numel(),), self.CANARY, dtype=like.dtype, device=like.device)
        self.buffers.append((buf, pad, tuple(like.shape)))
        return buf[pad:pad + like.numel()].view(like.shape).fill_(float("nan"))

    def breaches(self) -> list[str]:
        out = []
        for buf, pad, shape in self.buffers:
            before = int((buf[:pad] != self.CANARY).sum())
            after = int((buf[buf.numel() - pad:] != self.CANARY).sum())
            if before or after:
                out.append(f"a kernel wrote outside an output buffer of shape {shape}: {before} elements "
                           f"before its start, {after} past its end")
        return out


@pytest.fixture
def guarded_alloc():
    """Guarded.alloc for the test; the test fails if a kernel wrote outside a buffer it handed out."""
    guard = Guarded()
    yield guard.alloc
    if guard.breaches():
        pytest.fail("; ".join(guard.breaches()), pytrace=False)


@pytest.fixture
def large_outputs():
    """large_outputs(min_numel): a context manager listing (operator, shape) for every tensor of at
    least min_numel elements that an operator returns inside it (a dispatch mode: calls go through
    the custom operators, and autograd's own allocations in the backward are seen too)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Record(TorchDispatchMode):
        def __init__(self, min_numel):
            super().__init__()
            self.min_numel, self.seen = min_numel, []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor) and t.numel() >= self.min_numel and t._base is None:
                    self.seen.append((str(func.overloadpacket), tuple(t.shape)))
            return out

    return Record


@pytest.fixture
def launch_metadata(monkeypatch):
    """launch_metadata(module, name): replace a Triton kernel of ``module`` by a recorder that
    launches nothing and appends, for each launch, what the kernel's own launch-metadata hook (the
    one profilers call) reports for its arguments; returns the list the reports go into."""
    from triton.runtime.autotuner import Autotuner

    reports = []

    def record(module, name):
        kernel = getattr(module, name)
        jit = kernel.fn if isinstance(kernel, Autotuner) else kernel
        # A JITFunction keeps the hook; under the interpreter an InterpretedFunction keeps its kwargs.
        hook = getattr(jit, "launch_metadata", None) or jit.kwargs["launch_metadata"]

        class Recorder:
            def __getitem__(self, grid):
                def launch(*args, **kwargs):
                    reports.append(hook(grid, None, {**dict(zip(kernel.arg_names, args)), **kwargs}))
                return launch

        monkeypatch.setattr(module, name, Recorder())
        return reports

    return record


@pytest.fixture(autouse=True)
def _device_memory(request):
    """Tests in the xdist group "device_memory" (tens of GB of GPU memory each) take the machine's
    device-memory lock, which the conformance suite's largest cases take too (gpu-check runs both
    at once on one GPU)."""
    marker = request.node.get_closest_marker("xdist_group")
    if marker is None or "device_memory" not in (*marker.args, *marker.kwargs.values()):
        yield
        return
    from conformance import device_memory

    with device_memory.exclusive():
        yield
