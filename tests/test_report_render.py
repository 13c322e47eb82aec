"""Rendering the report from the recorded SYNTHETIC sample results (tests/data): tables, derived
numbers, targets, footnotes, plots. No number here is a measurement."""
import copy
from pathlib import Path

import pytest

from report import plots, render, results
from report.metrics import tb_per_s, tflop_per_s

SAMPLE = Path(__file__).parent / "data" / "report_sample_results.json"


@pytest.fixture(scope="module")
def sample():
    return results.load(SAMPLE)


@pytest.fixture(scope="module")
def text(sample):
    return render.render(sample, {})


def _table_line(text: str, *cells: str) -> str:
    """The one table line that starts with ``cells``."""
    prefix = "| " + " | ".join(cells) + " |"
    hits = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(hits) >= 1, f"no table line starts with {prefix!r}"
    return hits[0]


def _row(doc, section, **key):
    hits = [r for r in doc["sections"][section]["rows"] if all(r.get(k) == v for k, v in key.items())]
    assert len(hits) == 1, key
    return hits[0]


def test_synthetic_banner(text):
    assert "SYNTHETIC TEST FIXTURE" in text.splitlines()[2]
    assert "GPU measurements pending" not in text


def test_fmt():
    assert render.fmt(0.000539) == "0.000539"
    assert render.fmt(2.5512) == "2.55"
    assert render.fmt(1956.3) == "1956"
    assert render.fmt(None) == "—"
    assert render.fmt_ratio(2.514) == "2.51×" and render.fmt_ratio(12.46) == "12.5×"
    assert render.fmt_ratio(6457.2) == "6457×"
    assert render.fmt_pct(0.853) == "85%"
    assert render.fmt_err("nan") == "nan" and render.fmt_err(3.14e-4) == "3.1e-04"


def test_cross_entropy_row_is_derived_from_the_raw_data(sample, text):
    ours = _row(sample, "cross_entropy", dtype="bf16", n=8192, v=32000, mode="fwd+bwd", impl="ours")
    eager = _row(sample, "cross_entropy", dtype="bf16", n=8192, v=32000, mode="fwd+bwd", impl="eager")
    copy_bw = render.measured_ceilings(sample)["copy"]
    bw = tb_per_s(ours["bytes"], ours["ms"])
    line = _table_line(text, "bf16", "8192", "32000")  # the first such line: the fwd+bwd table
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[4] == render.fmt(ours["ms"])
    assert cells[5] == render.fmt(bw)
    assert cells[6] == render.fmt_pct(bw / copy_bw)
    assert render.fmt_ratio(eager["ms"] / ours["ms"]) in cells


def test_linear_row_reports_fraction_of_matmul(sample, text):
    ours = _row(sample, "linear_act", dtype="bf16", m=16384, k=1024, n=4096, activation="relu", mode="fwd",
                impl="ours")
    matmul = _row(sample, "linear_act", dtype="bf16", m=16384, k=1024, n=4096, activation="none", mode="fwd",
                  impl="matmul")
    line = _table_line(text, "bf16", "16384×1024×4096", "relu")
    assert render.fmt(tflop_per_s(ours["flops"], ours["ms"])) in line
    assert render.fmt_ratio(matmul["ms"] / ours["ms"]) in line


def test_the_portable_kernel_is_a_column_of_the_forward_table_when_timed(sample, text):
    assert "our portable kernel ms" not in text  # the sample has no such rows
    doc = copy.deepcopy(sample)
    ours = _row(doc, "linear_act", dtype="bf16", m=16384, k=1024, n=4096, activation="relu", mode="fwd",
                impl="ours")
    doc["sections"]["linear_act"]["rows"].append(dict(ours, impl="portable", ms=1.25 * ours["ms"]))
    forward = render.render(doc, {}).split("#### ")[1:]
    with_column = [t for t in forward if "our portable kernel ms" in t]
    assert len(with_column) == 1 and with_column[0].startswith(render.LINEAR_MODE_TITLES["fwd"])
    line = _table_line(with_column[0], "bf16", "16384×1024×4096", "relu")
    assert "1.25×" in line


def test_failures_become_footnotes_and_fused_backward_is_named(sample, text):
    failed = [r for r in sample["sections"]["cross_entropy"]["rows"]
              if "error" in r]
    assert failed
    assert "## Failures" in text and failed[0]["error"] in text
    assert "fail [1]" in text
    assert "in fwd" in text  # this project's backward is fused into its forward


def test_targets_judge_the_issue_goals(sample):
    rows = {r[1]: r for r in render.targets(sample)}
    assert rows["fwd+bwd bf16 8192×32000: bandwidth / copy bandwidth"][4] == "yes"
    # make this project slower than eager at one shape: the fastest-peer target must fail
    slow = copy.deepcopy(sample)
    _row(slow, "cross_entropy", dtype="fp32", n=65536, v=1024, mode="fwd+bwd", impl="ours")["ms"] = 1e3
    rows = {r[1]: r for r in render.targets(slow)}
    verdict = next(r for name, r in rows.items() if name.startswith("fwd+bwd, every V and dtype"))
    assert verdict[2] == "9 of 10" and verdict[4] == "**no**"


def test_targets_not_measured_when_rows_missing(sample):
    doc = copy.deepcopy(sample)
    doc["sections"]["linear_act"] = results.section("skipped", ["no CUDA"])
    rows = render.targets(doc)
    linear = [r for r in rows if r[0] == "linear + act"]
    assert linear and all(r[2] == "not measured" and r[4] == "—" for r in linear)


def test_cpu_only_report_says_gpu_pending(sample):
    doc = results.new_results({"date": "2000-01-01T00:00:00+00:00", "device": None})
    doc["sections"]["mlp_step"] = copy.deepcopy(sample["sections"]["mlp_step"])
    doc["sections"]["mlp_step"]["rows"] = [r for r in doc["sections"]["mlp_step"]["rows"] if r["device"] == "cpu"]
    text = render.render(doc, {})
    assert "GPU measurements pending" in text
    assert "Targets from the issues" not in text  # nothing to judge without GPU rows
    assert "a machine without a CUDA GPU" in text
    assert "Skipped: not run." in text
    # CPU times are minima with their spread, and nothing is said about GPU-only timing
    assert "CPU timings are the minimum over rounds" in text and "do_bench" not in text and "L2" not in text
    reference = next(r for r in doc["sections"]["mlp_step"]["rows"] if r["impl"] == "reference")
    assert f"| {render.fmt(reference['ms'])} | {render.spread_cell(reference)} |" in text
    assert render.spread_cell(reference).endswith("(5)")


def test_floors_fall_back_to_nominal_ceilings(sample):
    doc = copy.deepcopy(sample)
    doc["sections"]["ceilings"] = results.section("skipped", ["not run"])
    ceil, measured = render.ceilings_for_floors(doc)
    assert not measured and ceil["copy"] == 3.0
    assert "from DESIGN.md (no ceiling measured in this run)" in render.render(doc, {})


def test_plots_are_written_and_stale_ones_removed(sample, tmp_path):
    made = plots.write_plots(sample, tmp_path)
    assert set(made) == {"cross_entropy_fwd+bwd", "cross_entropy_fwd_nograd", "linear_act_fwd",
                         "linear_act_fwd+bwd", "mlp_step"}
    for rel in made.values():
        data = (tmp_path / rel).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000
    # a later CPU-only render must not leave GPU figures that contradict its tables
    cpu_only = results.new_results({"date": "2000-01-01T00:00:00+00:00"})
    cpu_only["sections"]["mlp_step"] = sample["sections"]["mlp_step"]
    assert set(plots.write_plots(cpu_only, tmp_path)) == {"mlp_step"}
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["mlp_step.png"]
    text = render.render(cpu_only, {"mlp_step": "plots/mlp_step.png"})
    assert "![mlp_step](plots/mlp_step.png)" in text


def test_graph_replays_get_their_own_tables_and_goals(sample):
    doc = copy.deepcopy(sample)
    for r in doc["sections"]["cross_entropy"]["rows"] + doc["sections"]["linear_act"]["rows"]:
        if "ms" in r and r["mode"] != "bwd":
            r.update(graph_ms=r["ms"] / 2, graph_ms_p20=r["ms"] / 2, graph_ms_p80=r["ms"] / 2)
    ours = _row(doc, "cross_entropy", dtype="bf16", n=8192, v=32000, mode="fwd+bwd", impl="ours")
    liger = _row(doc, "cross_entropy", dtype="bf16", n=8192, v=32000, mode="fwd+bwd", impl="liger")
    for k in ("graph_ms", "graph_ms_p20", "graph_ms_p80"):
        liger.pop(k, None)
    liger["graph_error"] = "RuntimeError: capture failed (test)"
    text = render.render(doc, {})
    assert text.count(f"### {render.GRAPH_TITLE}") == 2
    assert "#### forward + backward (loss and gradient) — GPU time alone" in text
    assert "CUDA-graph capture: RuntimeError: capture failed (test)" in text
    rows = {r[1]: r for r in render.targets(doc)}
    goal = rows["fwd+bwd bf16 8192×32000, GPU time alone: bandwidth / copy bandwidth"]
    copy_tbs = render.measured_ceilings(doc)["copy"]
    assert goal[2] == render.fmt_pct(tb_per_s(ours["bytes"], ours["ms"] / 2) / copy_tbs)
    # the call's goals are still there, judged on the call's time
    assert "fwd+bwd bf16 8192×32000: bandwidth / copy bandwidth" in rows
    assert render.graph_view(sample) is None and "GPU time alone" not in render.render(sample, {})


def test_the_autotuners_choices_get_a_table_when_recorded(sample, text):
    assert "autotuners' choices" not in text  # the sample records none
    doc = copy.deepcopy(sample)
    tile = {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "GROUP": 8, "EPI_SPLIT": 4, "stages": 4, "warps": 8}
    other = dict(tile, BLOCK_N=128, EPI_SPLIT=2, stages=3, PER_SM=2)
    doc["sections"]["linear_act"]["autotune"] = [{
        "kernel": "_linear_act_fwd_tma_kernel", "key": ["8192", "4096", "4096", "relu", "True", "y", "tf32", "bf16"],
        "best": tile, "candidates": [{"config": tile, "ms": 0.4}, {"config": other, "ms": 0.5}]}]
    results.validate(doc)
    out = render.render(doc, {})
    assert out.count("autotuners' choices") == 1  # once, not again under the replayed tables
    line = _table_line(out, "fwd_tma", "8192, 4096, 4096, relu, True, y, tf32", "2")
    assert "128x256x64 s4 w8, epilogue in quarters" in line and "0.4000" in line
    assert "1.25× (128x128x64 s3 w8, 2 programs an SM)" in line
    doc["sections"]["linear_act"]["autotune"] = [{"kernel": "x"}]
    with pytest.raises(ValueError, match="autotune"):
        results.validate(doc)


def test_the_cross_entropy_tables_say_where_our_kernels_move_more_than_the_minimum():
    row = lambda dtype, v, moved, impl="ours", mode="fwd+bwd": {  # noqa: E731
        "dtype": dtype, "v": v, "n": 8, "impl": impl, "mode": mode, "bytes": 1000, "moved_bytes": moved}
    rows = [row("bf16", 10, 1250), row("fp32", 10, 1136), row("bf16", 32000, 1005), row("bf16", 10, 2000, mode="fwd"),
            row("bf16", 1024, 2000, impl="eager")]
    (note,) = render._moved_note(rows)
    assert "bf16 V = 10 1.25×, fp32 V = 10 1.14× of it" in note  # within 1% (V = 32000) not listed
    assert render._moved_note([row("bf16", 32000, 1005)]) == render._moved_note([]) == []
