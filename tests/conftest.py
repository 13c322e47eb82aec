"""Shared test set-up: Triton runs under its CPU interpreter when there is no GPU."""
import os

try:  # decide before triton is imported anywhere
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")
except ImportError:  # the reference tests need no torch
    pass
