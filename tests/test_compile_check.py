"""report.compile_check's command line (the compilation itself takes minutes: see its --help)."""
import pytest

from report import compile_check


def test_help_says_how_long_a_run_takes(capsys):
    with pytest.raises(SystemExit):
        compile_check.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "full run compiles ~1,600 variants in ~35 minutes on 2 cores" in out and "--quick ~270" in out


def test_refuses_the_interpreter(monkeypatch, capsys):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with pytest.raises(SystemExit):
        compile_check.main([])
    assert "unset TRITON_INTERPRET" in capsys.readouterr().err


def test_the_scenarios_reach_every_kernel():
    # The scenarios drive the library's private host code, which changes with the kernels: record
    # the launches (no compilation) in a process of its own, since this one runs the interpreter.
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "report.compile_check", "--quick", "--list"],
                          env=dict(os.environ, TRITON_INTERPRET="0"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    counts = {line.split()[0]: int(line.split()[1]) for line in done.stdout.splitlines()}
    kernels = ("_linear_act_fwd_kernel", "_linear_act_fwd_tma_kernel", "_linear_act_delta_kernel",
               "_cross_entropy_kernel", "_backward_kernel", "_prologue_kernel")
    assert all(counts.get(k, 0) > 0 for k in kernels), counts
