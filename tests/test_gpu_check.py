"""``python -m report gpu-check``: step isolation, the budget, partial results and rendering, on a CPU.

The steps' commands are replaced by a fake runner (no GPU here); what is tested is the orchestration
that a GPU lease depends on: a failing or slow step never stops the next, each step's outcome is on
disk as soon as it ends, and the budget decides what still runs.
"""
import json
import subprocess
import threading
import types

import pytest

from report import gpu_check, render, results
from report.gpu_check import Clock


class FakeClock(Clock):
    def __init__(self, budget_s):
        self.t = 0.0
        super().__init__(budget_s, now=lambda: self.t)


def fake_runner(behaviour, calls, clock=None, out=None):
    """A subprocess.run stand-in: ``behaviour[step]`` is (exit code, text, seconds) or "timeout"."""

    def run(cmd, stdout, stderr, timeout, cwd, env):
        step = _step_of(cmd)
        calls.append((step, timeout, json.loads((out / "gpu_check.json").read_text()) if out and
                      (out / "gpu_check.json").exists() else None))
        what = behaviour.get(step, (0, "", 1.0))
        if callable(what):
            what = what(cmd)
        if what == "timeout":
            raise subprocess.TimeoutExpired(cmd, timeout)
        code, text, seconds = what
        stdout.write(text)
        if clock is not None:
            clock.t += seconds
        return types.SimpleNamespace(returncode=code)

    return run


def _step_of(cmd):
    """The step a command belongs to, from the module it runs (paths may contain any word)."""
    if "-m" not in cmd:
        return "sanitizer"  # compute-sanitizer ... python -m report.gpu_check --sanitizer-workload
    module, rest = cmd[cmd.index("-m") + 1], cmd[cmd.index("-m") + 2:]
    if module == "report.gpu_check":
        return "env" if "--environment" in rest else "sanitizer"
    if module == "report":
        return "speed" if "--goals" in rest else "ce-sweep" if "ce-sweep" in rest else "render"
    return {"pytest": "tests", "conformance": "conformance", "report.compile_check": "warm"}[module]


def sanitizer_says(errors):
    """The sanitizer step's fake output: the workload, then each tool's summary."""
    def run(cmd):
        tool = next((t for t in gpu_check.SANITIZER_TOOLS if t in cmd), None)
        if tool == "memcheck":
            return (3 if errors else 0), f"========= ERROR SUMMARY: {errors} errors\n", 1.0
        if tool == "racecheck":
            return 0, "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)\n", 1.0
        return 0, "sanitizer workload: done\n", 1.0
    return run


@pytest.fixture
def sanitizer(monkeypatch):
    monkeypatch.setattr(gpu_check, "find_sanitizer", lambda: "/opt/cuda/bin/compute-sanitizer")


def test_without_a_gpu_every_gpu_step_is_skipped_with_its_reason(tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path), "--budget", "60"]) == 0
    doc = json.loads((tmp_path / "gpu_check.json").read_text())
    status = {r["step"]: r for r in doc["steps"]}
    assert status["env"]["status"] == "ok" and (tmp_path / "environment.json").exists()
    for name in ("tests", "conformance", "sanitizer", "warm", "speed"):
        assert status[name]["status"] == "skipped" and "no CUDA device" in status[name]["reason"]
    assert "no results.json" in status["render"]["reason"]
    assert "7 of 7 steps ok or skipped" in capsys.readouterr().out


def test_a_failing_or_hanging_step_does_not_stop_the_next(tmp_path, sanitizer):
    calls = []
    behaviour = {"tests": (1, "1 failed, 3 passed", 5.0), "conformance": "timeout", "sanitizer": sanitizer_says(0)}
    doc = gpu_check.run(tmp_path, 480, cuda=True, runner=fake_runner(behaviour, calls, None, tmp_path))
    status = {r["step"]: r["status"] for r in doc["steps"]}
    assert status["tests"] == "failed" and status["conformance"] == "timeout"
    assert status["sanitizer"] == status["warm"] == status["speed"] == "ok"
    assert "1 failed, 3 passed" in next(r for r in doc["steps"] if r["step"] == "tests")["summary"]
    order = [c[0] for c in calls]
    assert order[0] == "env" and set(order[1:-1]) == {"tests", "conformance", "sanitizer", "warm"}
    assert order[-1] == "speed"  # render has no results.json from this fake speed step: skipped
    # every step's outcome was on disk before the speed step started
    before_speed = next(c[2] for c in calls if c[0] == "speed")
    assert {r["step"] for r in before_speed["steps"]} == {"env", "tests", "conformance", "sanitizer", "warm"}


def test_the_correctness_checks_run_at_the_same_time(tmp_path, sanitizer):
    # tests, the conformance processes (shards of each dtype), the sanitizer and the warm-up: if any
    # of them waited for another, the barrier would time out and the run would show it
    shards = len(gpu_check.CONFORMANCE_DTYPES) * gpu_check.CONFORMANCE_SHARDS
    barrier = threading.Barrier(3 + shards, timeout=10)

    def together(cmd):
        if "-m" in cmd[:2]:  # each lane's first command (the sanitizer's tool runs come after it)
            barrier.wait()
        return sanitizer_says(0)(cmd)

    behaviour = dict.fromkeys(("tests", "conformance", "sanitizer", "warm"), together)
    doc = gpu_check.run(tmp_path, 480, steps=("tests", "conformance", "sanitizer", "warm"), cuda=True,
                        runner=fake_runner(behaviour, []))
    assert all(r["status"] == "ok" for r in doc["steps"]) and len(doc["steps"]) == 4
    assert not barrier.broken
    conformance = next(r for r in doc["steps"] if r["step"] == "conformance")
    assert conformance["logs"] == [f"conformance-{d}-{k}.log" for d in gpu_check.CONFORMANCE_DTYPES
                                   for k in range(gpu_check.CONFORMANCE_SHARDS)]


def test_the_conformance_shards_deal_out_every_operation_once(tmp_path):
    from conformance.operations import OPERATIONS

    lanes = gpu_check.commands("conformance", tmp_path, 240)
    assert len(lanes) == len(gpu_check.CONFORMANCE_DTYPES) * gpu_check.CONFORMANCE_SHARDS
    for dtype in gpu_check.CONFORMANCE_DTYPES:
        dealt = []
        for k in range(gpu_check.CONFORMANCE_SHARDS):
            (cmd,) = lanes[f"conformance-{dtype}-{k}.log"]
            ops = cmd[cmd.index("--ops") + 1:cmd.index("--out")]
            assert ops and cmd[cmd.index("--dtypes") + 1] == dtype
            assert cmd[-1] == str(tmp_path / "conformance" / dtype / str(k))
            dealt += ops
        assert sorted(dealt) == sorted(OPERATIONS)


def test_the_budget_caps_each_step_and_skips_what_no_longer_fits(tmp_path):
    calls = []
    clock = FakeClock(200)
    behaviour = {"tests": (0, "4 passed", 150.0)}
    doc = gpu_check.run(tmp_path, 200, steps=("tests", "speed", "render"), cuda=True, clock=clock,
                        runner=fake_runner(behaviour, calls, clock))
    assert calls[0][:2] == ("tests", pytest.approx(150))  # its cap, not the whole budget less the reserve
    status = {r["step"]: r for r in doc["steps"]}
    # 200 - 150 leaves 50 s, less the render reserve: too little for the speed step's minimum
    assert status["speed"]["status"] == "skipped" and "25 s of the budget left" in status["speed"]["reason"]
    assert status["render"]["status"] == "skipped"


def test_the_sweep_runs_only_when_named_and_is_kept_time_for(tmp_path):
    doc = gpu_check.run(tmp_path / "default", 480, cuda=False)
    ran = [r["step"] for r in doc["steps"]]  # a stage's steps end in any order
    assert sorted(ran) == sorted(gpu_check.DEFAULT_STEPS)
    assert "ce-sweep" not in gpu_check.DEFAULT_STEPS and "ce-sweep" in gpu_check.STEP_NAMES
    calls = []
    clock = FakeClock(400)
    table = "| configuration | ms |\n|---|---|\n| BLOCK_V=2048 ROWS=8 | 0.41 |\n| default | 0.55 |\n"
    behaviour = {"speed": (0, "", 200.0), "ce-sweep": (0, table, 100.0)}
    out = tmp_path / "sweep"
    doc = gpu_check.run(out, 400, steps=("speed", "ce-sweep", "render"), cuda=True, clock=clock,
                        runner=fake_runner(behaviour, calls, clock))
    timeouts = {step: timeout for step, timeout, _ in calls}
    assert timeouts["speed"] == pytest.approx(400 - 150 - gpu_check.RENDER_RESERVE_S)  # both kept back
    assert timeouts["ce-sweep"] == pytest.approx(150)
    sweep = next(r for r in doc["steps"] if r["step"] == "ce-sweep")
    assert sweep["status"] == "ok" and sweep["summary"] == "| BLOCK_V=2048 ROWS=8 | 0.41 | / | default | 0.55 |"


def test_sanitizer_errors_are_counted_and_fail_the_step(tmp_path, sanitizer):
    tool_output = {  # as the two tools end their reports
        "memcheck": (3, "========= Invalid __global__ read of size 2 bytes\n========= ERROR SUMMARY: 2 errors\n"),
        "racecheck": (3, "========= RACECHECK SUMMARY: 1 hazard displayed (1 error, 0 warnings)\n"),
    }

    def sanitized(cmd):
        tool = next((t for t in gpu_check.SANITIZER_TOOLS if t in cmd), None)
        code, text = tool_output[tool] if tool else (0, "sanitizer workload: done\n")
        return code, text, 1.0

    doc = gpu_check.run(tmp_path, 480, steps=("sanitizer",), cuda=True,
                        runner=fake_runner({"sanitizer": sanitized}, []))
    (record,) = doc["steps"]
    assert record["status"] == "failed" and record["sanitizer_errors"] == 3 and record["sanitizer_runs"] == 2
    # a run of the tools that printed no summary checked nothing: not a pass
    doc = gpu_check.run(tmp_path, 480, steps=("sanitizer",), cuda=True,
                        runner=fake_runner({"sanitizer": (0, "", 1.0)}, []))
    assert doc["steps"][0]["status"] == "failed" and doc["steps"][0]["sanitizer_errors"] is None


def test_the_sanitizer_step_says_when_the_tool_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "find_sanitizer", lambda: None)
    doc = gpu_check.run(tmp_path, 480, steps=("sanitizer",), cuda=True, runner=fake_runner({}, []))
    assert doc["steps"][0]["status"] == "skipped" and "compute-sanitizer is not on this machine" in \
        doc["steps"][0]["reason"]


def test_render_shows_the_steps_and_the_sanitizer_goal(tmp_path, sanitizer):
    # the speed step's results (a test fixture here) gain the steps before rendering
    sample = results.load("tests/data/report_sample_results.json")
    (tmp_path / "report").mkdir()
    results.save(sample, tmp_path / "report" / "results.json")
    gpu_check.run(tmp_path, 480, steps=("sanitizer", "render"), cuda=True,
                  runner=fake_runner({"sanitizer": sanitizer_says(0)}, []))
    doc = results.load(tmp_path / "report" / "results.json")
    assert [r["step"] for r in doc["environment"]["gpu_check"]] == ["sanitizer"]
    goals = {r[1]: r for r in render.targets(doc)}
    sanitizer_goal = next(r for name, r in goals.items() if name.startswith("compute-sanitizer"))
    assert sanitizer_goal[2] == "0" and sanitizer_goal[4] == "yes"
    assert "### python -m report gpu-check" in render.render(doc, {})


@pytest.mark.parametrize("argv,message", [
    (["--budget", "60"], "--out: required"),
    (["--out", "x", "--budget", "0"], "--budget: expected a positive"),
    (["--out", "x", "--steps", "tests,bogus"], "--steps: expected some of"),
])
def test_bad_arguments_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu_check.main(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_the_report_cli_dispatches_gpu_check(tmp_path):
    import report.__main__ as cli

    assert cli.main(["gpu-check", "--out", str(tmp_path), "--steps", "env", "--budget", "30"]) == 0
    assert (tmp_path / "environment.json").exists()


def test_wheels_are_installed_for_the_steps_only(tmp_path, monkeypatch, capsys):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "liger_kernel-0.8.5-py3-none-any.whl").write_bytes(b"")
    calls = []

    def pip(cmd, **kwargs):
        calls.append(cmd)
        return types.SimpleNamespace(returncode=0, stderr="")

    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert gpu_check.install_wheels(tmp_path / "w", tmp_path / "site", runner=pip)
    (cmd,) = calls
    assert cmd[1:4] == ["-m", "pip", "install"] and "--no-index" in cmd and "--no-deps" in cmd
    assert cmd[-1].endswith("liger_kernel-0.8.5-py3-none-any.whl")
    import os
    assert os.environ["PYTHONPATH"] == os.pathsep.join([str(tmp_path / "site"), "/elsewhere"])
    failing = lambda cmd, **kwargs: types.SimpleNamespace(returncode=1, stderr="no such wheel")  # noqa: E731
    assert not gpu_check.install_wheels(tmp_path / "w", tmp_path / "site", runner=failing)
    assert "no such wheel" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        gpu_check.main(["--out", str(tmp_path), "--wheels", str(tmp_path / "missing")])
    assert "--wheels: no *.whl files" in capsys.readouterr().err


def test_the_sanitizer_workload_runs_every_cross_entropy_path(monkeypatch):
    # The workload compute-sanitizer watches, run here under the interpreter: it must not fail on
    # the GPU for a reason of its own, and it must reach the short rows' unmasked full blocks.
    import importlib

    ce = importlib.import_module("triton_kernels.cross_entropy")
    kernel, launches = ce._cross_entropy_kernel, []

    class Recorder:
        def __getitem__(self, grid):
            def launch(**kwargs):
                launches.append(kwargs)
                return kernel[grid](**kwargs)
            return launch

    monkeypatch.setattr(ce, "_cross_entropy_kernel", Recorder())
    gpu_check.sanitizer_workload(small=True, dev="cpu")
    runs = [k for k in launches if k["RUN_V"] == 10]
    assert any(k["n_rows"] > 2 * k["ROWS"] and k["n_rows"] % k["ROWS"] for k in runs)  # full blocks, a partial one
    assert any(k["ROW_A_THREAD"] and k["RUN_V"] == 0 for k in launches)  # strided short rows
    assert any(not k["SINGLE_TILE"] for k in launches)  # chunked rows
