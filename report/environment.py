"""What the numbers were measured on: device, driver, library versions, code revision, date."""
from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _version(package: str):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _run(cmd: list) -> str | None:
    """First line of a command's output, or None when it is missing or fails."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=REPO)
    except (OSError, subprocess.SubprocessError):
        return None
    text = out.stdout.strip()
    return text.splitlines()[0].strip() if out.returncode == 0 and text else None


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def git_revision() -> str | None:
    """The commit the code was measured at, with "+dirty" when the working tree has changes.

    REPORT_GIT_REVISION overrides it, for a copy of the tree whose git metadata is not its own
    (a GPU machine that receives the working tree without the history)."""
    if os.environ.get("REPORT_GIT_REVISION"):
        return os.environ["REPORT_GIT_REVISION"]
    rev = _run(["git", "rev-parse", "--short=12", "HEAD"])
    if rev is None:
        return None
    status = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    return rev + ("+dirty" if status.returncode != 0 or status.stdout.strip() else "")


def collect(argv=None) -> dict:
    """The environment of this run; device fields are None on a machine without CUDA."""
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m report", *(argv if argv is not None else sys.argv[1:])]),
        "git": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        # other work on the machine slows the CPU numbers (and torch's threads) a lot
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "torch": None,
        "triton": _version("triton"),
        "liger_kernel": _version("liger-kernel"),
        "cuda": None,
        "device": None,
        "driver": None,
        "sm_count": None,
        "l2_bytes": None,
        "memory_bytes": None,
    }
    try:
        import torch
    except ImportError:
        return env
    env["torch"] = torch.__version__
    env["torch_threads"] = torch.get_num_threads()
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(
            cuda=torch.version.cuda,
            device=props.name,
            capability=f"{props.major}.{props.minor}",
            sm_count=props.multi_processor_count,
            l2_bytes=getattr(props, "L2_cache_size", None),
            memory_bytes=props.total_memory,
            driver=_run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]),
        )
    return env
