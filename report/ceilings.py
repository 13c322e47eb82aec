"""Ceilings measured in the same run as the kernels: copy bandwidth and matmul rate per precision.

    copy:         dst.copy_(src), bytes = read + write = 2 x buffer size        -> TB/s
    matmul_bf16:  C = A B, n x n x n bfloat16 (cuBLAS), FLOPs = 2 n^3          -> TFLOP/s
    matmul_tf32:  the same in float32 with TF32 tensor cores allowed
    matmul_fp32:  the same in float32, IEEE (TF32 off)

Every kernel row is reported as a fraction of one of these (see report.metrics), so the fractions
hold on whatever card the run is on. Inputs are random, never zeros: a matmul on zeros runs faster
than on data (seen on an H200: 13%).
"""
from __future__ import annotations

from .runner import measure, tf32_mode


def configs(quick: bool) -> list[dict]:
    """Sizes large enough to saturate an H100 (quick: smaller, for a sanity run)."""
    copy_elems = (1 << 26) if quick else (1 << 28)  # float32: 256 MiB or 1 GiB
    n = 4096 if quick else 8192
    return [
        {"name": "copy", "elements": copy_elems},
        {"name": "matmul_bf16", "n": n},
        {"name": "matmul_tf32", "n": n},
        {"name": "matmul_fp32", "n": n},
    ]


def count_cases(cfgs: list[dict]) -> int:
    return len(cfgs)


def run(device, cfgs: list[dict], progress) -> dict:
    """Time each ceiling; returns the section record."""
    import torch

    torch.manual_seed(0)
    rows = [_copy(device, progress, cfg) if cfg["name"] == "copy" else _matmul(device, progress, cfg) for cfg in cfgs]
    status = "ok" if all("ms" in r for r in rows) else "partial"
    return {"status": status, "notes": [], "rows": rows}


def _copy(device, progress, cfg: dict) -> dict:
    import torch

    src = torch.randn(cfg["elements"], device=device.kind)
    dst = torch.empty_like(src)
    row = {"name": "copy", "impl": "torch.copy_", "bytes": 2 * src.numel() * src.element_size()}
    return measure(device, progress, f"ceiling copy {row['bytes'] / 1e9:.2f} GB", row, lambda: dst.copy_(src))


def _matmul(device, progress, cfg: dict) -> dict:
    import torch

    name, n = cfg["name"], cfg["n"]
    dtype = torch.bfloat16 if name == "matmul_bf16" else torch.float32
    a, b = (torch.randn(n, n, device=device.kind, dtype=dtype) for _ in range(2))
    c = torch.empty(n, n, device=device.kind, dtype=dtype)
    row = {"name": name, "impl": "torch.mm", "n": n, "flops": 2 * n**3}
    with tf32_mode(name == "matmul_tf32"):
        return measure(device, progress, f"ceiling {name} {n}^3", row, lambda: torch.mm(a, b, out=c))
