"""What the kernels' host code shares: the dtypes they take, whether Triton interprets them, and
the GPU they launch on."""
import contextlib
import os

import torch

DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# Triton reads this when a kernel is defined; triton_kernels/__init__.py sets it, before importing
# the kernel modules, on a machine without a GPU.
INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"


def on_device(t):
    """Launch on t's GPU (Triton launches on the current device), or nowhere in particular on CPU."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()


def sm_count(device):
    """Streaming multiprocessors of a CUDA device: the grid of a persistent kernel. On the CPU
    (the interpreter) 3, so that a persistent kernel's programs each walk several tiles, unevenly."""
    return torch.cuda.get_device_properties(device).multi_processor_count if device.type == "cuda" else 3
