"""report.ce_sweep: the candidates, the side-by-side run and its command line. Without a GPU the
kernels run under Triton's interpreter, so only the code is checked here, not the times."""
import json

import pytest

from report import ce_sweep
from report.timing import Device


def test_candidates_span_tiles_rows_warps_stages_and_programs():
    found = ce_sweep.candidates(32000)
    assert found[:4] == [{"block_v": 32768, "rows": 1, "warps": w, "stages": s, "per_sm": 1}
                         for s in (1, 3) for w in (16, 32)]  # first the whole row in registers, then pipelined
    fp32 = ce_sweep.candidates(32000, element_size=4)  # two rows in flight: 256 KB, more than shared memory
    assert [c["stages"] for c in fp32 if c["block_v"] == 32768] == [1, 1]
    found = found[4:]
    assert {c["block_v"] for c in found} == {1024, 2048, 4096, 8192, 16384}  # longer rows: chunks
    assert not any(c["block_v"] == 32768 for c in ce_sweep.candidates(50304))  # past one tile
    assert {"block_v": 8192, "rows": 1, "warps": 8, "stages": 3, "per_sm": 4} in found  # the default, pipelined
    assert {"block_v": 2048, "rows": 8, "warps": 16, "stages": 1, "per_sm": 2} in found  # several rows a program
    assert {"block_v": 8192, "rows": 1, "warps": 8, "stages": 1, "per_sm": 2} in found  # 16 warps an SM
    assert found[0] == {"block_v": 16384, "rows": 1, "warps": 16, "stages": 1, "per_sm": 2}  # the longest tile first
    for c in found:
        assert 4 <= c["rows"] * c["block_v"] // (32 * c["warps"]) <= 32 and c["rows"] * c["block_v"] <= 16384
        assert c["per_sm"] * c["warps"] in (16, 32)
    assert len(found) == len({tuple(c.items()) for c in found})
    tiny = ce_sweep.candidates(10)  # V = 10: many rows a program, the open question of the short rows
    assert tiny[0] == {"block_v": 16, "rows": 128, "warps": 4, "stages": 3, "per_sm": 4}  # the default, pipelined
    assert tiny[1]["row_a_thread"] is False  # then the alternatives
    assert tiny[2]["row_runs"] is False and tiny[3]["row_runs"] is False and tiny[3]["row_major_stores"] is False
    assert all(not {"row_a_thread", "row_major_stores", "row_runs"} & set(c) for c in tiny[4:])
    assert all(c["per_sm"] * c["warps"] in (8, 16) for c in tiny[4:])  # 128-255 registers a thread
    assert tiny and {c["block_v"] for c in tiny} == {16} and max(c["rows"] for c in tiny) == 1024
    assert {c["stages"] for c in tiny} == {1, 3}  # single tiles: the persistent loop's pipelining
    middle = ce_sweep.candidates(1000)  # the kernel's own choice is a one-warp program; the sweep tries others
    assert middle[0]["warps"] > 1 and {"block_v": 1024, "rows": 2, "warps": 4, "stages": 1, "per_sm": 8} in middle
    assert ce_sweep.candidates(2048)[0] == {"block_v": 2048, "rows": 1, "warps": 1, "stages": 1, "per_sm": 16}
    assert not ce_sweep.candidates(256, min_block=64)[0]["rows"] == 1
    short = ce_sweep.candidates(100, min_block=64)
    assert {c["block_v"] for c in short} == {64, 128} and all(c["stages"] != 2 for c in short if c["block_v"] == 128)


def test_the_sweep_checks_every_candidate_against_the_default():
    doc = ce_sweep.sweep(5, 100, "fp32", Device("cpu", warmup_ms=0, rep_ms=0), budget_s=600, min_block=128,
                         progress=lambda line: None)
    assert doc["compiling"]["skipped"].startswith("not an sm_90 GPU")  # the interpreter compiles nothing
    configs = [r["config"] for r in doc["rows"]]
    assert configs[0] == "default" and configs[1:] == ce_sweep.candidates(100, min_block=128)
    for r in doc["rows"]:
        assert r["ms"] > 0 and r["loss_rel_diff"] < 1e-6 and r["grad_max_diff"] < 1e-6, r
    assert doc["bytes"] == 2 * 5 * 100 * 4 + 8 * 5 and doc["copy"]["ms"] > 0
    # the kernel's own choice is back afterwards
    ce = ce_sweep.importlib.import_module("triton_kernels.cross_entropy")
    o = ce._Options("mean", -100, 0.0, 0.0, ce._MAX_BLOCK_V, False)
    assert ce._launch_config(5, 100, o, weighted=False, aligned=False, forward=True) == (128, 8, 4, True, 4, 1)


def test_the_former_layout_of_short_rows_runs_and_gives_the_same_results():
    import torch

    ce = ce_sweep.importlib.import_module("triton_kernels.cross_entropy")
    x = torch.randn(37, 10, requires_grad=True)
    target = torch.randint(0, 10, (37,))
    results = []
    former, by_class, direct = ce_sweep.candidates(10)[1:4]
    for config in (None, former, by_class, direct):
        with ce_sweep.launching(config):
            assert ce._ROW_A_THREAD == (0 if config is former else 16)
            assert ce._ROW_MAJOR_STORES == (config is not direct)
            assert ce._ROW_RUNS == (config in (None, former))
            loss = ce.cross_entropy(x, target)
            (grad,) = torch.autograd.grad(loss, x)
        results.append((loss, grad))
    assert ce._ROW_A_THREAD == 16 and ce._ROW_MAJOR_STORES and ce._ROW_RUNS  # restored
    for other in results[1:]:
        torch.testing.assert_close(results[0], other, rtol=1e-6, atol=1e-7)
    assert ce_sweep._name(former).endswith("(16 threads a row)")
    assert ce_sweep._name(direct).endswith("(class-major stores)")


def test_a_spent_budget_skips_all_but_the_default():
    doc = ce_sweep.sweep(3, 40, "bf16", Device("cpu", warmup_ms=0, rep_ms=0), budget_s=0, min_block=64,
                         progress=lambda line: None)
    assert "ms" in doc["rows"][0]
    assert len(doc["rows"]) > 1 and all("skipped" in r for r in doc["rows"][1:])
    assert "not timed" in ce_sweep.table(doc)
    assert doc["compiling"]["skipped"].startswith("no budget")  # nothing compiled ahead for the default alone


def test_command_line(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    assert ce_sweep.main(["--shape", "4x60", "--dtype", "bf16", "--min-block", "64", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["n"] == 4 and doc["v"] == 60 and doc["environment"]["command"].startswith("python -m report ce-sweep")
    assert "| configuration | call ms | replay ms | of copy |" in capsys.readouterr().out
    for bad in (["--shape", "8192"], ["--shape", "0x10"], ["--min-block", "100"]):
        with pytest.raises(SystemExit):
            ce_sweep.main(bad)


def test_candidates_are_ranked_by_their_replay_where_there_is_one():
    base = {"loss_rel_diff": 0.0, "grad_max_diff": 0.0, "tb_per_s": 1.0, "fraction_of_copy": 0.5}
    doc = {"dtype": "bf16", "n": 8, "v": 64, "copy": {"ms": 0.1}, "rows": [
        dict(base, config="default", ms=1.0, graph_ms=0.4),
        dict(base, config={"block_v": 64, "rows": 2, "warps": 4, "stages": 1}, ms=0.9, graph_ms=0.5)]}
    lines = [line for line in ce_sweep.table(doc).splitlines() if line.startswith("| ")][1:]
    assert lines[0].startswith("| default | 1.0000 | 0.4000 |")  # slower call, faster kernels: first
    assert "Compiled before timing" not in ce_sweep.table(doc)  # an older sweep's document says nothing
    doc["compiling"] = {"variants": 130, "seconds": 21.4, "while_timing": 0}
    assert ce_sweep.table(doc).endswith("Compiled before timing: 130 kernel variants in 21 s; 0 more while timing "
                                        "(Triton's cache entries).")


_COMPILE_FIRST = """
import importlib, torch
from report import ce_sweep
from report.compile_check import triton_cache_entries
ce = importlib.import_module("triton_kernels.cross_entropy")
logits = torch.empty((4096, 10), dtype=torch.bfloat16, requires_grad=True)
target = torch.zeros(4096, dtype=torch.int64)

def step():  # the operator, which takes CPU tensors outside the interpreter (these are only shapes)
    options = ("mean", -100, 0.0, 0.0, ce._MAX_BLOCK_V, True, False)
    torch.ops.oracle_kernels.cross_entropy(logits, target, None, *options)[0].backward()

pipelined = ce_sweep.candidates(10)[0]
broken = {**pipelined, "block_v": 24}  # not a power of two: tl.arange refuses it
done = ce_sweep.compile_candidates([None, pipelined, pipelined, broken], step, 2)
print((done["variants"], [e is None for e in done["errors"]], triton_cache_entries()))
"""


def test_candidates_compile_at_once_into_tritons_cache(tmp_path):
    # The sweep compiles every candidate before timing any: each config's launches are recorded,
    # each distinct variant compiled once for sm_90 into Triton's cache, where the JIT finds it.
    import ast
    import os
    import subprocess
    import sys

    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", _COMPILE_FIRST], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    variants, compiled, entries = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    # the prologue once, the main and backward kernels for each distinct config (the backward's
    # register cap follows the config's programs an SM), the broken one's too; the repeat adds none
    assert variants == 1 + 2 * 3
    assert compiled == [True, True, True, False]
    assert entries >= 4  # the four that compiled, in the cache the JIT reads
