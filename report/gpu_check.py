"""python -m report gpu-check: everything this project needs a GPU for, in one command and one budget.

    python -m report gpu-check --out DIR                    the default budget, 480 s
    python -m report gpu-check --out DIR --budget 300 --steps env,tests,speed,render

GPU time comes in short leases, so the steps run in order of value, each in its own processes with
a time limit taken from what is left of the budget; a step that fails or times out does not stop the
next. The correctness checks (tests, conformance, sanitizer) and the warm-up share a stage and run at
the same time; the speed step runs alone, then the render. Each step's output goes to
DIR/<step>.log as it runs and its outcome into DIR/gpu_check.json as soon as it ends, so a
run killed from outside still leaves what it finished.

    env          device, driver, CUDA, torch, triton, SMs, L2, clocks   -> environment.json
    tests        pytest -m gpu: more than 2^31 elements, the autotuned Hopper tiles
    conformance  python -m conformance --backend triton --profile gpu, CONFORMANCE_SHARDS processes
                 per dtype, each a share of the operations   -> conformance/<dtype>/<shard>/
    sanitizer    compute-sanitizer memcheck, then racecheck, over a few small calls of every
                 kernel family (report.gpu_check.sanitizer_workload), when the tool is on the machine
    warm         every kernel variant the speed step times (linear and cross-entropy) compiled in
                 parallel into Triton's cache, so that the speed step times kernels instead of
                 waiting for compilers (its record counts the cache's entries after each step)
    speed        python -m report --goals: ceilings, cross-entropy and linear + activation against
                 their peers, the teaching figure, sized to the budget left -> report/results.json
    ce-sweep     (only when named in --steps) python -m report ce-sweep: the cross-entropy's launch
                 configurations timed side by side at 8192 x 32000 bf16   -> ce_sweep.json
    render       the report of what the speed step finished               -> report/README.md, plots/

Without a CUDA device every step but env is skipped with the reason. The exit status is 0 when
no step failed (skipped steps are not failures), 1 otherwise.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .compile_check import triton_cache_entries
from .environment import REPO, cuda_available

DEFAULT_BUDGET_S = 480.0
RENDER_RESERVE_S = 25.0  # kept back for the render step, which needs only what speed wrote
STATUSES = ("ok", "failed", "timeout", "skipped")
SANITIZER_TOOLS = ("memcheck", "racecheck")


@dataclass(frozen=True)
class Step:
    """One step: ``cap_s`` is the most of the budget it may take, ``min_s`` the least worth starting.

    Steps of one ``stage`` run at the same time (the correctness checks share the GPU and its 16
    host cores; what they measure does not depend on timing); the speed step has a stage to itself.
    """

    name: str
    stage: int
    cap_s: float
    min_s: float
    needs_cuda: bool = True


STEPS = (
    Step("env", 0, 30, 5, needs_cuda=False),
    Step("tests", 1, 150, 30),
    Step("conformance", 1, 240, 30),
    Step("sanitizer", 1, 150, 40),
    Step("warm", 1, 90, 20),
    Step("speed", 2, float("inf"), 60),
    Step("ce-sweep", 3, 150, 40),
    Step("render", 4, RENDER_RESERVE_S, 5, needs_cuda=False),
)
# The conformance suite's float64 oracle is pure Python, one core a process, and on a GPU most of a
# check's time is Triton compiling a variant for each new row width (27-51 s a check on the H200,
# three processes reached 30 of 77 checks in 150 s): so each dtype's operations are dealt out to
# CONFORMANCE_SHARDS processes, twelve in all on the 16 cores.
CONFORMANCE_DTYPES = ("fp32", "fp16", "bf16")
CONFORMANCE_SHARDS = 4
STEP_NAMES = tuple(s.name for s in STEPS)
SPEED_STAGE = next(s.stage for s in STEPS if s.name == "speed")
# The sweep answers an open question rather than checking a goal: run only when asked for.
DEFAULT_STEPS = tuple(name for name in STEP_NAMES if name != "ce-sweep")


class Clock:
    """Seconds left of the budget (a class so that tests can replace the time source)."""

    def __init__(self, budget_s: float, now=time.monotonic):
        self.now = now
        self.deadline = now() + budget_s

    def left(self) -> float:
        return self.deadline - self.now()


# ---------------------------------------------------------------------------------------------
# What each step runs
# ---------------------------------------------------------------------------------------------
def _python(*args) -> list:
    return [sys.executable, *args]


def find_sanitizer() -> str | None:
    """compute-sanitizer on the PATH or in the usual CUDA location, else None."""
    for candidate in (shutil.which("compute-sanitizer"), "/usr/local/cuda/bin/compute-sanitizer"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def commands(step: str, out: Path, seconds: float) -> dict:
    """The commands of ``step``, given ``seconds`` of budget for it, as {log file name: [command, ...]}:
    the lists run at the same time, the commands of one list one after another."""
    if step == "env":
        return {"env.log": [_python("-m", "report.gpu_check", "--environment", str(out / "environment.json"))]}
    if step == "tests":
        # Autotuning compiles every tile of each test's kernels: spread the tests over processes, but
        # the tests over 2^31 elements (tens of GB each) one after another on one worker: on the
        # first H200 run of v2 three at once ran out of the card's 140 GB.
        parallel = (["-n", str(min(8, os.cpu_count() or 1)), "--dist", "loadgroup"]
                    if importlib.util.find_spec("xdist") else [])
        return {"tests.log": [_python("-m", "pytest", "-m", "gpu", "-q", "-rfEs", *parallel, "tests")]}
    if step == "conformance":
        from conformance.operations import OPERATIONS

        ids = list(OPERATIONS)  # dealt round-robin: each shard gets some of every kind of check
        return {f"conformance-{d}-{k}.log": [_python("-m", "conformance", "--backend", "triton", "--profile", "gpu",
                                                     "--dtypes", d, "--ops", *ids[k::CONFORMANCE_SHARDS],
                                                     "--out", str(out / "conformance" / d / str(k)))]
                for d in CONFORMANCE_DTYPES for k in range(CONFORMANCE_SHARDS)}
    if step == "sanitizer":
        tool = find_sanitizer()
        workload = _python("-m", "report.gpu_check", "--sanitizer-workload")
        # First without the tool: it compiles the kernels into Triton's cache, outside the slow runs.
        # racecheck only sees shared memory, which the matmul kernels use; it is slower: smaller calls.
        return {"sanitizer.log": [workload] + [
            [tool, "--tool", t, "--error-exitcode", "3", "--print-limit", "20", *workload,
             *(["--small"] if t == "racecheck" else [])] for t in SANITIZER_TOOLS]}
    if step == "warm":
        return {"warm.log": [_python("-m", "report.compile_check", "--warm", "--goals",
                                     "--jobs", str(os.cpu_count() or 1))]}
    if step == "speed":
        return {"speed.log": [_python("-m", "report", "--goals", "--budget", f"{max(seconds - 30, 1):.0f}",
                                      "--out", str(out / "report"))]}
    if step == "ce-sweep":
        return {"ce-sweep.log": [_python("-m", "report", "ce-sweep", "--budget", f"{max(seconds - 30, 1):.0f}",
                                         "--out", str(out / "ce_sweep.json"))]}
    if step == "render":
        return {"render.log": [_python("-m", "report", "--from", str(out / "report" / "results.json"),
                                       "--out", str(out / "report"))]}
    raise ValueError(f"step must be one of {STEP_NAMES}, got {step!r}")


def skip_reason(step: Step, cuda: bool, out: Path) -> str | None:
    """Why ``step`` cannot run on this machine, or None."""
    if step.needs_cuda and not cuda:
        return "no CUDA device on this machine"
    if step.name == "sanitizer" and find_sanitizer() is None:
        return "compute-sanitizer is not on this machine (it comes with the CUDA toolkit)"
    if step.name == "render" and not (out / "report" / "results.json").is_file():
        return "the speed step left no results.json to render"
    return None


# ---------------------------------------------------------------------------------------------
# Running the steps
# ---------------------------------------------------------------------------------------------
def _summarize(step: str, logs: list) -> dict:
    """The numbers a reader wants from a step's logs: test counts, sanitizer errors, the sweep's best."""
    out = {}
    if step in ("tests", "conformance"):
        tails = [" / ".join(line.strip() for line in log.strip().splitlines()[-2:]) for log in logs]
        out["summary"] = " | ".join(tails)
    if step == "ce-sweep":  # its table: the fastest configuration first, and the kernel's own
        rows = [line for log in logs for line in log.splitlines() if line.startswith("| ")][1:]
        out["summary"] = " / ".join(rows[:1] + [r for r in rows[1:] if r.startswith("| default ")])
    if step == "sanitizer":
        # memcheck ends with "ERROR SUMMARY: n errors", racecheck with "RACECHECK SUMMARY: ... (n errors, ...)"
        errors = [int(n) for log in logs
                  for n in re.findall(r"ERROR SUMMARY: (\d+) error|RACECHECK SUMMARY: .*\((\d+) error", log)
                  for n in n if n]
        out["sanitizer_errors"] = sum(errors) if errors else None
        out["sanitizer_runs"] = len(errors)
    return out


def _run_lane(cmds: list, log_path: Path, deadline: float, clock: Clock, env: dict, runner) -> tuple:
    """Run ``cmds`` one after another into ``log_path`` until ``deadline``; (status, exit codes)."""
    status, codes = "ok", []
    with open(log_path, "w") as log:
        for cmd in cmds:
            left = deadline - clock.now()
            if left <= 1:
                return "timeout", codes
            log.write(f"$ {' '.join(map(str, cmd))}\n")
            log.flush()
            try:
                done = runner(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=left, cwd=REPO, env=env)
            except subprocess.TimeoutExpired:
                log.write(f"\n[gpu-check: stopped after {left:.0f} s, the step's share of the budget]\n")
                return "timeout", codes
            except OSError as exc:
                log.write(f"\n[gpu-check: could not start: {exc}]\n")
                return "failed", codes
            codes.append(done.returncode)
            if done.returncode != 0:
                status = "failed"
    return status, codes


def run_step(step: Step, out: Path, clock: Clock, cuda: bool, runner=subprocess.run, reserve: float = 0.0) -> dict:
    """Run ``step`` within its share of the budget, less ``reserve`` seconds kept for later steps;
    return its record (never raises)."""
    record = {"step": step.name, "status": "skipped", "seconds": 0.0}
    reason = skip_reason(step, cuda, out)
    seconds = min(step.cap_s, clock.left() - reserve)
    if reason is None and seconds < step.min_s:
        reason = f"{max(seconds, 0):.0f} s of the budget left, the step needs at least {step.min_s:.0f} s"
    if reason is not None:
        record["reason"] = reason
        return record
    start = clock.now()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if step.name == "sanitizer":
        env["PYTORCH_NO_CUDA_MEMORY_CACHING"] = "1"  # every tensor its own allocation: exact bounds
    lanes = commands(step.name, out, seconds)
    with ThreadPoolExecutor(len(lanes)) as pool:
        done = list(pool.map(lambda lane: _run_lane(lane[1], out / lane[0], start + seconds, clock, env, runner),
                             lanes.items()))
    statuses = {status for status, _ in done}
    status = next(s for s in ("timeout", "failed", "ok") if s in statuses)
    record.update(status=status, seconds=round(clock.now() - start, 1), logs=list(lanes),
                  returncodes=[c for _, codes in done for c in codes])
    record.update(_summarize(step.name, [(out / name).read_text(errors="replace") for name in lanes]))
    if step.name == "sanitizer" and status == "ok" and record.get("sanitizer_runs") != len(SANITIZER_TOOLS):
        record["status"] = "failed"  # a tool that printed no summary checked nothing
    record["triton_cache_entries"] = triton_cache_entries()  # grows in a step that compiles what warm missed
    return record


def run(out: Path, budget_s: float, steps=DEFAULT_STEPS, cuda: bool | None = None, clock: Clock | None = None,
        runner=subprocess.run) -> dict:
    """Run ``steps`` stage by stage within ``budget_s``; write and return the gpu_check.json document."""
    out.mkdir(parents=True, exist_ok=True)
    cuda = cuda_available() if cuda is None else cuda
    clock = clock or Clock(budget_s)
    doc = {"budget_s": budget_s, "cuda": cuda, "steps": []}
    lock = threading.Lock()

    def one(step):
        # Kept back for the chosen steps after the speed step (which takes whatever is left), so
        # that neither it nor anything before it leaves them nothing.
        after = max(step.stage, SPEED_STAGE)
        reserve = sum(s.cap_s for s in STEPS if s.stage > after and s.name in steps)
        record = run_step(step, out, clock, cuda, runner, reserve)
        with lock:  # on disk as soon as it ends, whatever the other steps of its stage are doing
            doc["steps"].append(record)
            _write_atomically(out / "gpu_check.json", json.dumps(doc, indent=1) + "\n")
            print(_line(record), flush=True)

    for stage in sorted({s.stage for s in STEPS}):
        chosen = [s for s in STEPS if s.stage == stage and s.name in steps]
        if any(s.name == "render" for s in chosen):
            _attach_steps(out / "report" / "results.json", doc["steps"])
        with ThreadPoolExecutor(max(len(chosen), 1)) as pool:
            list(pool.map(one, chosen))
    return doc


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step: a run killed while writing leaves the previous version whole."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _attach_steps(path: Path, steps: list) -> None:
    """Put the steps so far into the speed step's results, so the rendered report shows them
    (the sanitizer's verdict among its goals)."""
    from . import results

    try:
        doc = results.load(path)
    except (OSError, ValueError):
        return  # no results to render: the render step says so
    doc["environment"]["gpu_check"] = steps
    results.save(doc, path)


def install_wheels(wheels: Path, target: Path, runner=subprocess.run) -> bool:
    """pip-install the wheels in ``wheels`` into ``target`` (no network, no dependencies: the
    machine has them) and put it first on PYTHONPATH for every step's processes."""
    files = sorted(str(w) for w in wheels.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
           "--upgrade", "--target", str(target), *files]
    done = runner(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"gpu-check: --wheels: pip could not install {', '.join(files)}:\n{done.stderr.strip()}", flush=True)
        return False
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(target), os.environ.get("PYTHONPATH")) if p)
    print(f"gpu-check: installed {len(files)} wheel(s) into {target}", flush=True)
    return True


def _line(record: dict) -> str:
    extra = record.get("reason") or record.get("summary") or ""
    if record.get("sanitizer_errors") is not None:
        extra = f"{record['sanitizer_errors']} errors in {record['sanitizer_runs']} tool runs"
    return f"gpu-check {record['step']:<12} {record['status']:<8} {record['seconds']:>6.0f} s  {extra}"


# ---------------------------------------------------------------------------------------------
# The env step and the sanitizer's workload (run in their own processes by the steps above)
# ---------------------------------------------------------------------------------------------
def write_environment(path: Path) -> None:
    """The run's environment plus nvidia-smi's clocks and the toolkit's versions, as JSON."""
    from .environment import collect

    env = collect(["gpu-check"])
    queries = {"clocks": "clocks.sm,clocks.max.sm,clocks.mem,clocks.max.mem,power.limit,temperature.gpu",
               "names": "name,pci.bus_id,compute_mode,persistence_mode"}
    for key, fields in queries.items():
        try:
            done = subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv"],
                                  capture_output=True, text=True, timeout=20)
            env[f"nvidia_smi_{key}"] = done.stdout.strip() or done.stderr.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            env[f"nvidia_smi_{key}"] = f"unavailable: {exc}"
    env["compute_sanitizer"] = find_sanitizer()
    path.write_text(json.dumps(env, indent=1, sort_keys=True) + "\n")
    print(json.dumps(env, indent=1, sort_keys=True))


def sanitizer_workload(small: bool = False, dev: str = "cuda") -> None:
    """A few small calls of every kernel family, for compute-sanitizer to watch.

    Cross-entropy: several rows per program (V = 10), one row per program (V = 1000, not a multiple
    of 16), rows streamed in chunks (V > block_v), with class weights, label smoothing, z-loss,
    ignored rows, each reduction, a rescaling backward and the in-place gradient; and rows of 10
    without smoothing, a thread's each, contiguous (one run a block) and strided. Linear +
    activation: the forward (both kernels, portable and TMA) with and without bias, and the
    backward (dx, dW, db) from each saved tensor (y, σ', recomputed) and with a frozen weight, in
    bf16, TF32 and fp32. Shapes give every kernel partial tiles at its edges and are small, so no
    autotuning. ``dev="cpu"`` runs the same calls under Triton's interpreter (tests).
    """
    import torch

    from triton_kernels import cross_entropy, linear_act

    gen = torch.Generator(device=dev).manual_seed(0)
    dtypes = (torch.bfloat16, torch.float32) if small else (torch.bfloat16, torch.float16, torch.float32)
    for v, block_v in ((10, None), (1000, None), (3001, 1024)):
        for dtype in dtypes:
            n = 37
            x = torch.randn(n, v, device=dev, generator=gen).to(dtype)
            target = torch.randint(0, v, (n,), device=dev, generator=gen)
            target[::5] = -100
            weight = torch.rand(v, device=dev, generator=gen) + 0.5
            opts = {} if block_v is None else {"block_v": block_v}
            for reduction in ("mean", "sum", "none"):
                logits = x.clone().requires_grad_()
                loss = cross_entropy(logits, target, weight=weight, reduction=reduction, label_smoothing=0.1,
                                     z_loss=1e-4, **opts)
                loss.backward(torch.full_like(loss, 0.5))
            inner = torch.zeros((), device=dev, dtype=dtype, requires_grad=True)
            logits = x + inner  # non-leaf: the in-place gradient needs it
            cross_entropy(logits, target, inplace_backward=True, **opts).backward()
    # Class indices without smoothing over rows of 10: a thread a row, a block of contiguous rows
    # loaded and stored as one run (full blocks without a row bound, then the partial one: 293 rows
    # are two blocks of 128 and 37), their layout permuted through shared memory; rows of stride 16
    # take the class-major loads instead.
    for dtype in dtypes:
        inner = torch.zeros((), device=dev, dtype=dtype, requires_grad=True)
        wide = torch.randn(293, 16, device=dev, generator=gen).to(dtype) + inner
        target = torch.randint(0, 10, (293,), device=dev, generator=gen)
        target[::7] = -100
        for logits in (wide[:, :10].contiguous(), wide[:, :10]):
            for reduction in ("mean", "none"):
                loss = cross_entropy(logits, target, reduction=reduction)
                torch.autograd.grad(loss, logits, torch.full_like(loss, 0.5))
    # Memory access differs by element size, bias, saved tensor (y for relu, σ' for gelu_tanh) and
    # frozen weight, not by the activation's arithmetic: two activations cover the families.
    activations = ("gelu_tanh",) if small else ("relu", "gelu_tanh")
    precisions = ((torch.bfloat16, None),) if small else (
        (torch.bfloat16, None), (torch.float32, True), (torch.float32, False))
    # 75 and 53 are no multiples of 16 bytes in any dtype (the portable forward); 72 and 56 are, so
    # on Hopper the TMA forward runs there (IEEE float32 excepted), with partial tiles all the same.
    shapes = ((97, 75, 53), (97, 72, 56))
    for (dtype, tf32), activation, (m, k, n) in ((p, a, s) for p in precisions for a in activations for s in shapes):
        x = torch.randn(m, k, device=dev, generator=gen).to(dtype)
        w = (torch.randn(n, k, device=dev, generator=gen) / k**0.5).to(dtype)
        b = torch.randn(n, device=dev, generator=gen).to(dtype)
        with torch.no_grad():
            linear_act(x, w, b, activation=activation, allow_tf32=tf32)
            linear_act(x, w, None, activation=activation, allow_tf32=tf32)
        for recompute, frozen in ((False, False), (True, False), (False, True)):
            leaves = [t.clone().requires_grad_(not (frozen and t is w)) for t in (x, w, b)]
            y = linear_act(*leaves, activation=activation, allow_tf32=tf32, recompute=recompute)
            y.backward(torch.randn(y.shape, device=dev, generator=gen).to(dtype))
    if dev == "cuda":
        torch.cuda.synchronize()
    print("sanitizer workload: done")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m report gpu-check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="directory for the logs, gpu_check.json and the report (required)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                   help=f"wall-clock budget for all steps (default: {DEFAULT_BUDGET_S:.0f})")
    p.add_argument("--steps", default=",".join(DEFAULT_STEPS),
                   help=f"comma-separated subset of {','.join(STEP_NAMES)}, run in that order "
                        f"(default: all but ce-sweep)")
    p.add_argument("--wheels", type=Path, metavar="DIR",
                   help="install the wheels in DIR (peers the machine lacks, e.g. Liger-Kernel) for this run "
                        "only, without network access, before the steps")
    p.add_argument("--environment", type=Path, help=argparse.SUPPRESS)  # the env step's own process
    p.add_argument("--sanitizer-workload", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--small", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.environment or args.sanitizer_workload:
        return args
    if args.out is None:
        p.error("--out: required (a directory for the logs and the report)")
    if args.wheels is not None and not sorted(args.wheels.glob("*.whl")):
        p.error(f"--wheels: no *.whl files in {args.wheels}")
    if not args.budget > 0:
        p.error(f"--budget: expected a positive number of seconds, got {args.budget:g}")
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEP_NAMES]
    if unknown or not steps:
        p.error(f"--steps: expected some of {','.join(STEP_NAMES)}, got {args.steps!r}")
    args.steps = steps
    return args


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.environment:
        write_environment(args.environment)
        return 0
    if args.sanitizer_workload:
        sanitizer_workload(args.small)
        return 0
    print(f"gpu-check: budget {args.budget:.0f} s, steps {','.join(args.steps)}, output in {args.out}", flush=True)
    if args.wheels is not None and not install_wheels(args.wheels, args.out / "site"):
        return 1
    doc = run(args.out, args.budget, args.steps)
    failed = [r["step"] for r in doc["steps"] if r["status"] in ("failed", "timeout")]
    print(f"gpu-check: {len(doc['steps']) - len(failed)} of {len(doc['steps'])} steps ok or skipped"
          + (f"; failed: {', '.join(failed)}" if failed else "") + f"; see {args.out / 'gpu_check.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
