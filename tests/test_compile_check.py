"""report.compile_check's command line (the compilation itself takes minutes: see its --help)."""
import pytest

from report import compile_check


def test_help_says_how_long_a_run_takes(capsys):
    with pytest.raises(SystemExit):
        compile_check.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "full run compiles ~1,700 variants in 12-16 minutes on 2 cores" in out and "--quick ~270" in out


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
               "_linear_act_dx_tma_kernel", "_cross_entropy_kernel", "_backward_kernel", "_prologue_kernel")
    assert all(counts.get(k, 0) > 0 for k in kernels), counts
    # --goals, what gpu-check's warm step compiles before the speed step: every kernel it times
    done = subprocess.run([sys.executable, "-m", "report.compile_check", "--goals", "--list"],
                          env=dict(os.environ, TRITON_INTERPRET="0"), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    goals = {line.split()[0]: int(line.split()[1]) for line in done.stdout.splitlines()}
    assert all(goals.get(k, 0) > 0 for k in kernels), goals


_BATCH_SIZES = """
import importlib, torch
from report import compile_check as cc
ce = importlib.import_module("triton_kernels.cross_entropy")
jobs = {}
with cc.recording(ce, ["_prologue_kernel", "_cross_entropy_kernel", "_backward_kernel"], jobs):
    for n_rows, ignore_index in ((4096, -100), (4095, -100), (2, -100), (4097, 0), (33, 7)):
        logits = torch.empty((n_rows, 1000), dtype=torch.bfloat16, requires_grad=True)
        target = torch.zeros((n_rows,), dtype=torch.int64)
        # the operator, which takes CPU tensors outside the interpreter (these are only shapes)
        loss = torch.ops.oracle_kernels.cross_entropy(logits, target, None, "mean", ignore_index, 0.0, 0.0,
                                                      ce._MAX_BLOCK_V, True, False)[0]
        loss.backward(torch.tensor(0.5))
la = importlib.import_module("triton_kernels.linear_act")
for batches in ((8192,), (8192, 8191, 8193)):  # the same tiles kept for each: one variant a tile
    linear = {}
    with cc._linear_recording(la, linear):
        for m in batches:
            x, w = torch.empty((m, 4096), dtype=torch.bfloat16), torch.empty((4096, 4096), dtype=torch.bfloat16)
            la._forward(x, w, None, "relu", 0.0, "tf32", "y")
    jobs[batches] = len(linear)
print(sorted(j["name"] for k, j in jobs.items() if isinstance(j, dict)), jobs[(8192,)], jobs[(8192, 8191, 8193)])
"""


def test_batch_sizes_and_ignore_index_compile_no_new_variants():
    # Triton specializes integer arguments on their divisibility by 16 (and on 1); the kernels opt
    # out for the batch (n_rows, M) and ignore_index, so a new batch size reuses the compiled kernels.
    import ast
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _BATCH_SIZES], env=dict(os.environ, TRITON_INTERPRET="0"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    names, one_batch, three_batches = done.stdout.strip().splitlines()[-1].rsplit(" ", 2)
    names = ast.literal_eval(names)
    assert int(one_batch) == int(three_batches) > 1  # the linear forward's tiles, compiled once
    # one variant each: the same tile for every batch size past 1 (2 rows of 1000 a block)
    assert names.count("_cross_entropy_kernel") == names.count("_backward_kernel") == 1, names


def _compiled_facts(call: str):
    """The value of ``compile_check.<call>``, computed in a process without the interpreter (which
    these tests' own process runs under), so that kernels compile for sm_90."""
    import ast
    import os
    import subprocess
    import sys

    code = f"from report import compile_check as cc; print(cc.{call})"
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, TRITON_INTERPRET="0"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


def test_epilogue_costs_count_sass_instructions_for_sm_90():
    # Compiles 25 small kernels for sm_90 with the wheel's ptxas and nvdisasm (~15 s). The counts
    # are facts of the compiler: pinned where the library's choices set them (MUFU operations), and
    # bounded where a compiler release may move them by an instruction or two.
    costs = _compiled_facts("epilogue_costs()")
    assert costs["identity", "y"] == (0.0, 0.0)
    assert all(costs[a, e][1] == 0 for a in ("relu", "leaky_relu") for e in ("y", "g", "y+g"))
    # One exp and one reciprocal an output, each a single MUFU instruction (fastmath.py), shared by σ
    # and σ' (an eighth more is one a thread, not an output's).
    smooth = ("sigmoid", "tanh", "gelu", "gelu_tanh", "silu")
    assert all(round(costs[a, e][1]) == 2 for a in smooth for e in ("y", "g", "y+g"))
    assert costs["sigmoid", "y"][0] <= 8 and costs["gelu", "y+g"][0] <= 30  # 6 and 24 with triton 3.9


def test_row_costs_count_the_cross_entropy_loop_for_sm_90():
    # Compiles the main kernel for three row lengths (~10 s). One exp a logit where the row stays in
    # registers, two where it is chunked (the gradient pass recomputes it), each one MUFU operation
    # (fastmath.py), beside a row's few (log, 1/s, the target entry's exp: each thread issues them, so
    # ~0.03 a logit each for a row of 1024 on a warp); and the long rows within the copy's budget of
    # 32 instructions a logit at 4.2 TB/s, the rows of 1024 (a warp's each) within half of it.
    costs = _compiled_facts("row_costs(((4096, 10), (8192, 1024), (8192, 32000)))")
    short, long = costs[8192, 1024], costs[8192, 32000]
    assert (short["rows"], short["block_v"], short["threads"]) == (1, 1024, 32) and long["block_v"] == 8192
    assert 1 <= short["mufu_per_logit"] < 1.3 and 2 <= long["mufu_per_logit"] < 2.2
    assert long["per_logit"] < 32 and short["per_logit"] < 16  # 19.7 and 15.3 with triton 3.9
    # Rows of 10 logits a thread's each (ROW_A_THREAD), a block loaded and stored as one run: 43 a logit
    # with triton 3.9, 39 with 3.6 (54 loaded class by class), where the layout Triton picks for a
    # [128, 16] tile took 205. The loop counted is the full blocks' (the partial last one has its own).
    assert costs[4096, 10]["threads"] == costs[4096, 10]["rows"] and costs[4096, 10]["per_logit"] < 50
    for (n, v), c in costs.items():
        assert c["per_row"] == c["a_block"] * c["threads"] / c["rows"] and c["per_logit"] == c["per_row"] / v
        assert c["floor_ms"] == pytest.approx(n / 132 * c["per_row"] / 128 / 1.98e6)
