"""``python -m report``: re-rendering saved results, argument checks, and the CPU path end to end."""
import json
from pathlib import Path

import pytest

import report.__main__ as cli
from report import results

SAMPLE = Path(__file__).parent / "data" / "report_sample_results.json"


def test_from_rerenders_and_merges_saved_results(tmp_path, capsys):
    # two partial runs of one device (the plots of the kernel sections are tested in test_report_render)
    sample = results.load(SAMPLE)
    parts = []
    for i, keep in enumerate((("ceilings", "mlp_step"), ("cpu_reference",))):
        part = json.loads(json.dumps(sample))
        for name in results.SECTIONS:
            if name not in keep:
                part["sections"][name] = results.section("skipped", ["not run"])
        results.save(part, tmp_path / f"part{i}.json")
        parts.append(str(tmp_path / f"part{i}.json"))
    out = tmp_path / "out"
    assert cli.main(["--from", *parts, "--out", str(out)]) == 0
    merged = results.load(out / "results.json")
    for name in ("ceilings", "mlp_step", "cpu_reference"):
        assert merged["sections"][name] == sample["sections"][name]
    readme = (out / "README.md").read_text()
    assert "SYNTHETIC TEST FIXTURE" in readme
    assert "## CPU benchmarks of the reference" in readme and "| test_digits_epoch |" in readme
    assert "![mlp_step](plots/mlp_step.png)" in readme and (out / "plots" / "mlp_step.png").exists()
    assert f"wrote {out / 'README.md'}" in capsys.readouterr().out


def test_synthetic_results_are_never_written_into_report(monkeypatch):
    # the committed report/README.md may only ever hold measurements
    with pytest.raises(SystemExit, match="synthetic"):
        cli.main(["--from", str(SAMPLE), "--out", str(cli.REPORT_DIR)])


def test_from_reports_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": "something else"}))
    assert cli.main(["--from", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "schema" in capsys.readouterr().err
    assert cli.main(["--from", str(tmp_path / "missing.json"), "--out", str(tmp_path / "out")]) == 2


def test_malformed_results_are_kept_for_inspection(tmp_path):
    doc = results.load(SAMPLE)
    doc["sections"]["ceilings"]["rows"][0]["ms"] = -1.0
    with pytest.raises(ValueError, match="positive time"):
        cli.write(doc, tmp_path)
    assert json.loads((tmp_path / "results.invalid.json").read_text())["sections"]["ceilings"]["rows"][0]["ms"] == -1


def test_parse_args():
    args = cli.parse_args(["--sections", "linear_act", "--dtypes", "bf16,tf32"])
    assert args.sections == ["ceilings", "linear_act"]  # kernel rows need same-run ceilings
    assert args.dtypes == ("bf16", "tf32")
    with pytest.raises(SystemExit):
        cli.parse_args(["--sections", "everything"])
    with pytest.raises(SystemExit):
        cli.parse_args(["--dtypes", "int8"])


def test_dtypes_take_long_and_short_names(capsys):
    assert cli.parse_args(["--dtypes", "bfloat16,fp16,float32,tf32"]).dtypes == ("bf16", "fp16", "fp32", "tf32")
    for bad, message in (("int8", "--dtypes: unknown dtype 'int8'"), ("float64", "the kernel sections run")):
        with pytest.raises(SystemExit):
            cli.parse_args(["--dtypes", bad])
        assert message in capsys.readouterr().err


def test_help_is_plain_text_with_whole_words(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out
    assert all(name in out for name in results.SECTIONS)  # none broken across lines


def test_nothing_runnable_here_is_an_error_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_cuda_available", lambda: False)
    assert cli.main(["--sections", "cross_entropy", "--out", str(tmp_path / "r")]) == 2
    assert "nothing to measure" in capsys.readouterr().err and not (tmp_path / "r").exists()
    with pytest.raises(SystemExit):
        cli.parse_args(["--sections", ","])


def test_default_output_is_the_ignored_out_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--from", str(SAMPLE.resolve())]) == 0
    assert (tmp_path / "out" / "report" / "README.md").exists()
    assert capsys.readouterr().out.splitlines()[-1] == f"report: {Path('out', 'report', 'README.md')}"


def test_cpu_path_end_to_end(tmp_path, monkeypatch, capsys):
    """What a machine without CUDA runs: GPU sections skipped with a reason, the CPU sections
    measured (teaching-figure rows, pytest-benchmark in a subprocess), everything rendered."""
    monkeypatch.setattr(cli, "_cuda_available", lambda: False)
    assert cli.main(["--quick", "--out", str(tmp_path)]) == 0
    doc = results.load(tmp_path / "results.json")
    assert doc["synthetic"] is False and doc["environment"]["device"] is None
    for name in ("ceilings", "cross_entropy", "linear_act"):
        assert doc["sections"][name]["status"] == "skipped"
        assert doc["sections"][name]["notes"] == [cli.NO_CUDA]
    steps = doc["sections"]["mlp_step"]["rows"]
    assert {(r["impl"], r["device"]) for r in steps} == {("reference", "cpu"), ("torch", "cpu")}
    assert all(r["ms"] > 0 for r in steps)
    assert [r.get("threads") for r in steps if r["impl"] == "torch"] == [1]  # like the reference
    # the same step from the same weights: float32 torch agrees with the float64 reference
    ref, torch_row = sorted(steps, key=lambda r: r["impl"])
    assert torch_row["loss"] == pytest.approx(ref["loss"], rel=1e-5)
    bench = doc["sections"]["cpu_reference"]
    assert bench["status"] == "ok", bench["notes"]
    assert {r["name"] for r in bench["rows"]} == {"test_mlp_forward", "test_mlp_backward", "test_mlp_step",
                                                   "test_digits_epoch"}
    readme = (tmp_path / "README.md").read_text()
    assert "GPU measurements pending" in readme and "SYNTHETIC" not in readme
    assert (tmp_path / "plots" / "mlp_step.png").exists()
    out = capsys.readouterr().out
    assert "[1/3" in out and "[3/3" in out  # the progress display counts every case
