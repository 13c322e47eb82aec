"""report.linear_sweep and report.host_time: their code paths and command lines. Without a GPU the
linear kernels run under Triton's interpreter with one tile (nothing for the autotuner to time), so
only the structure of the tables is checked here, not the times."""
import json

import pytest

from report import host_time, linear_sweep
from report.timing import Device


def test_each_table_names_the_kernel_that_ran_and_its_tile():
    doc = linear_sweep.sweep([(40, 24, 36)], ["bf16", "fp32"], ["relu"], list(linear_sweep.KERNELS),
                             list(linear_sweep.EPILOGUES), Device("cpu", warmup_ms=0, rep_ms=0), budget_s=600,
                             progress=lambda line: None)
    bf16, fp32 = doc["groups"]
    assert bf16["matmul"]["ms"] > 0 and bf16["flops"] == 2 * 40 * 24 * 36
    assert [(t["epilogue"], t["kernel"]) for t in bf16["tables"]] == [
        ("y", "tma"), ("y", "portable"), ("y+g", "tma"), ("y+g", "portable")]
    assert [t["kernel"] for t in fp32["tables"]] == ["portable", "portable"]  # IEEE is never TMA
    for t in bf16["tables"] + fp32["tables"]:
        # No TMA on a CPU: the portable kernel ran, with the interpreter's single tile, untimed.
        assert t["kernel_ran"] == "portable" and t["candidates"] == []
        assert set(t["best"]) == {"BLOCK_M", "BLOCK_N", "BLOCK_K", "stages", "warps", "group"}
        assert "neighbours" not in t  # nothing was timed, so nothing to time beside
    assert "(the portable kernel ran)" in linear_sweep.table(doc)


def test_a_spent_budget_is_listed_not_hidden():
    doc = linear_sweep.sweep([(8, 16, 8)], ["bf16"], ["relu"], ["portable"], ["y"],
                             Device("cpu", warmup_ms=0, rep_ms=0), budget_s=0, progress=lambda line: None)
    assert "skipped" in doc["groups"][0]["tables"][0]
    assert "budget" in linear_sweep.table(doc)


def test_the_table_ranks_the_autotuner_timings():
    cfg = {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "stages": 3, "warps": 8}
    doc = {"groups": [{"m": 1, "k": 1, "n": 1, "dtype": "bf16", "flops": 2e9, "matmul": {"ms": 0.2}, "tables": [
        {"activation": "relu", "epilogue": "y", "kernel": "tma", "kernel_ran": "tma", "best": cfg,
         "candidates": [{"config": cfg, "ms": 0.25, "ms_p20": 0.24, "ms_p80": 0.26}]}]}]}
    text = linear_sweep.table(doc)
    assert "| 128x256x64 | 3 | 8 | 0.2500 | 0.2400-0.2600 | 80% |" in text and "10 TFLOP/s" in text


def test_the_winners_neighbours_change_one_thing_each():
    import importlib

    la = importlib.import_module("triton_kernels.linear_act")
    for tma in (True, False):
        winner = la._configs(la._TMA_TILES, tma=True)[0] if tma else la._configs(la._PORTABLE_TILES)[0]
        before = dict(winner.kwargs)
        neighbours = linear_sweep._neighbours(winner)
        assert winner.kwargs == before  # the autotuner's own config is not changed
        changes = [{k: v for k, v in n.kwargs.items() if before.get(k) != v} for n in neighbours]
        assert changes == [{"GROUP": 4}, {"GROUP": 16}] + [{"FLATTEN": not before.get("FLATTEN")}] * tma
        for n in neighbours:
            assert (n.num_stages, n.num_warps, n.maxnreg, n.pre_hook) == (
                winner.num_stages, winner.num_warps, winner.maxnreg, winner.pre_hook)
        best = linear_sweep._config_dict(winner)
        assert [linear_sweep._change(linear_sweep._config_dict(n), best) for n in [winner, *neighbours]] == [
            f"none: the winner again, {linear_sweep._name(best)}", "groups of 4 row tiles (not 8)",
            "groups of 16 row tiles (not 8)"] + ["loops not flattened"] * tma


def test_the_table_shows_the_winner_beside_its_neighbours():
    cfg = {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "stages": 3, "warps": 8, "group": 8, "flattened": True}
    timed = lambda c, ms: {"config": c, "ms": ms, "ms_p20": ms, "ms_p80": ms}  # noqa: E731
    doc = {"groups": [{"m": 1, "k": 1, "n": 1, "dtype": "bf16", "flops": 2e9, "matmul": {"ms": 0.2}, "tables": [
        {"activation": "relu", "epilogue": "y", "kernel": "tma", "kernel_ran": "tma", "best": cfg,
         "candidates": [timed(cfg, 0.25)],
         "neighbours": [timed(dict(cfg, group=16), 0.24), timed(cfg, 0.25), timed(dict(cfg, flattened=False), 0.4)]}]}]}
    text = linear_sweep.table(doc)
    assert "| groups of 16 row tiles (not 8) | 0.2400 | 0.2400-0.2400 | 83% |" in text
    assert "| none: the winner again, 128x256x64 s3 w8 | 0.2500 |" in text
    assert "| loops not flattened | 0.4000 |" in text


def test_linear_sweep_command_line(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    assert linear_sweep.main(["--shapes", "24x16x20", "--dtypes", "bf16", "--activations", "gelu_tanh",
                              "--kernels", "portable", "--epilogues", "y+g", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["environment"]["command"].startswith("python -m report linear-sweep")
    assert doc["groups"][0]["tables"][0]["activation"] == "gelu_tanh"
    assert "### bf16 M=24 K=16 N=20" in capsys.readouterr().out
    for bad in (["--shapes", "8x8"], ["--shapes", "0x8x8"], ["--dtypes", "int8"], ["--kernels", "cublas"],
                ["--activations", "softplus"]):
        with pytest.raises(SystemExit):
            linear_sweep.main(bad)


def test_host_time_needs_a_gpu_and_says_so(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the command would measure")
    with pytest.raises(SystemExit):
        host_time.main([])
    assert "needs a CUDA device" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        host_time.main(["--calls", "0"])


def test_host_time_table():
    rows = [{"case": "ce", "impl": "ours", "do_bench_ms": 0.94, "do_bench_p20_ms": 0.88, "do_bench_p80_ms": 0.99,
             "host_us": 1001.4}]
    assert "| ce | ours | 0.9400 (0.8800-0.9900) | 1001 |" in host_time.table(rows)


def test_host_time_lists_what_a_call_launches():
    # on a GPU the kernels by their device time; without one the same code lists the CPU operators
    import torch

    x = torch.randn(64, 64)
    rows = host_time.kernel_times(lambda: (x @ x).relu().sum(), 3, cuda=False)
    names = [r["kernel"] for r in rows]
    assert {"aten::mm", "aten::sum"} <= set(names) and all(r["us"] > 0 for r in rows)
    assert [r["us"] for r in rows] == sorted((r["us"] for r in rows), reverse=True)
    assert next(r for r in rows if r["kernel"] == "aten::mm")["launches"] == 1.0
    text = host_time.kernels_text(rows, lines=2)
    assert len(text.splitlines()) == 3 and text.splitlines()[-1].endswith(f"in all ({len(rows)} kernels)")


def test_tiles_name_their_quarter_epilogue():
    tile = {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "stages": 4, "warps": 8}
    assert linear_sweep._name(tile) == "128x256x64 s4 w8"
    assert linear_sweep._name(dict(tile, epilogue_parts=4)) == "128x256x64 (epilogue in quarters) s4 w8"
    assert linear_sweep._name(dict(tile, epilogue_parts=2)) == "128x256x64 s4 w8"
    assert (linear_sweep._name(dict(tile, epilogue_parts=4, programs_per_sm=2))
            == "128x256x64 (epilogue in quarters) (2 programs an SM) s4 w8")



_COMPILE_FIRST = """
import importlib
from report import compile_check, linear_sweep
la = importlib.import_module("triton_kernels.linear_act")
la._tma_capable = lambda t: True  # as on an H100 (these CPU tensors are only shapes)
compiling = compile_check.compile_jobs
compile_check.compile_jobs = lambda jobs, processes: [{} for _ in jobs]  # recorded only
goal = linear_sweep._compile_tables([("bf16", (8192, 4096, 4096), "relu", "y", "tma")], 1, device="cpu")
compile_check.compile_jobs = compiling
small = [("bf16", (256, 128, 256), "relu", "y", kernel) for kernel in linear_sweep.KERNELS]
done = linear_sweep._compile_tables(small, 2, device="cpu")
print((goal["variants"], done["variants"], done["errors"], compile_check.triton_cache_entries()))
"""


def test_every_tables_candidates_compile_at_once_into_tritons_cache(tmp_path):
    # Before timing, every table's candidate tiles (each config the pruner keeps) are recorded on
    # empty tensors of its shape and compiled for sm_90 into Triton's cache, where the autotuner's
    # JIT finds them.
    import ast
    import os
    import subprocess
    import sys

    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _COMPILE_FIRST], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    goal_tiles, variants, errors, entries = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert goal_tiles > 4  # at a goal shape the pruner keeps many tiles: every one is compiled
    assert variants == 2 and errors == [None, None]  # one tile each kept at 256 x 128 x 256, TMA and portable
    assert entries >= 2


def test_the_table_says_what_compiling_cost():
    doc = {"groups": [], "compiling": {"variants": 96, "seconds": 41.2, "errors": 1, "while_timing": 12}}
    assert linear_sweep.table(doc).endswith("Compiled before timing: 96 kernel variants in 41 s (1 with a tile that "
                                            "did not compile); 12 more while timing (Triton's cache entries).")
    assert "Compiled" not in linear_sweep.table({"groups": [], "compiling": {"skipped": "not an sm_90 GPU"}})
