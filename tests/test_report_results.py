"""The results file: schema validation, JSON round trip, merging runs; and the minimal-work formulas."""
import copy
import json
from pathlib import Path

import pytest

from report import metrics, results

SAMPLE = Path(__file__).parent / "data" / "report_sample_results.json"


@pytest.fixture
def sample():
    return results.load(SAMPLE)


def test_sample_is_labelled_synthetic(sample):
    # the fixture must never pass for a measurement
    assert sample["synthetic"] is True
    assert "SYNTHETIC" in sample["environment"]["device"]


def test_round_trip(sample, tmp_path):
    path = tmp_path / "r.json"
    results.save(sample, path)
    assert results.load(path) == sample
    # stable formatting: saving again gives the same bytes
    first = path.read_bytes()
    results.save(results.load(path), path)
    assert path.read_bytes() == first


def test_new_results_is_valid_and_all_skipped():
    doc = results.new_results({"date": "2000-01-01"})
    assert results.validate(doc) is doc
    assert set(doc["sections"]) == set(results.SECTIONS)
    assert all(s["status"] == "skipped" for s in doc["sections"].values())


def _broken(sample, edit):
    doc = copy.deepcopy(sample)
    edit(doc)
    return doc


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(schema="other/1"), "schema"),
    (lambda d: d.update(synthetic="yes"), "synthetic"),
    (lambda d: d["environment"].pop("date"), "environment"),
    (lambda d: d["sections"].update(bogus=results.section("ok")), "unknown section"),
    (lambda d: d["sections"]["ceilings"].update(status="fine"), "status"),
    (lambda d: d["sections"]["cross_entropy"]["rows"][0].pop("v"), "missing key 'v'"),
    (lambda d: d["sections"]["cross_entropy"]["rows"][0].update(ms=-1.0), "positive time"),
    (lambda d: d["sections"]["cross_entropy"]["rows"][0].update(ms=float("nan")), "finite number"),
    (lambda d: d["sections"]["cross_entropy"]["rows"][0].update(ms=True), "finite number"),
    (lambda d: d["sections"]["linear_act"]["rows"][0].pop("ms"), "expected exactly one of 'ms'"),
    (lambda d: d["sections"]["linear_act"]["rows"][0].update(skipped="not selected"), "got \\['ms', 'skipped'\\]"),
    (lambda d: d["sections"]["linear_act"]["rows"][0].update(ms=None, skipped=None) or
     d["sections"]["linear_act"]["rows"][0].pop("ms"), "reason for 'skipped'"),
    (lambda d: d["sections"]["linear_act"]["rows"][0].update(rel_err="big"), "rel_err"),
    (lambda d: d["sections"]["mlp_step"].update(notes=[1]), "notes"),
])
def test_validate_names_the_bad_field(sample, edit, message):
    with pytest.raises(ValueError, match=message):
        results.validate(_broken(sample, edit))


def test_non_finite_errors_are_kept_as_text():
    assert results.finite_or_text(float("nan")) == "nan"
    assert results.finite_or_text(float("inf")) == "inf"
    assert results.finite_or_text(1e-3) == 1e-3
    assert results.finite_or_text(None) is None


def test_load_rejects_non_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        results.load(bad)


def test_merge_reassembles_a_split_run(sample):
    # the GPU session may measure dtypes in separate calls; merging must give the full set back
    first, second = copy.deepcopy(sample), copy.deepcopy(sample)
    for doc, keep in ((first, "bf16"), (second, "fp32")):
        sec = doc["sections"]["cross_entropy"]
        sec["rows"] = [r for r in sec["rows"] if r["dtype"] == keep]
    second["sections"]["linear_act"] = results.section("skipped", ["not run"])
    second["environment"]["date"] = "2000-01-02T00:00:00+00:00"
    merged = results.merge([first, second])
    key = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731
    assert sorted(map(key, merged["sections"]["cross_entropy"]["rows"])) == sorted(
        map(key, sample["sections"]["cross_entropy"]["rows"]))
    assert merged["sections"]["linear_act"] == sample["sections"]["linear_act"]  # a skipped section loses
    assert merged["environment"]["merged_from"] == [sample["environment"]["date"], "2000-01-02T00:00:00+00:00"]


def test_merge_later_row_wins_and_skipped_section_is_replaced(sample):
    later = copy.deepcopy(sample)
    later["sections"]["ceilings"]["rows"][0]["ms"] = 123.0
    early = copy.deepcopy(sample)
    early["sections"]["mlp_step"] = results.section("skipped", ["no GPU"])
    merged = results.merge([early, later])
    assert merged["sections"]["ceilings"]["rows"][0]["ms"] == 123.0
    assert merged["sections"]["mlp_step"] == sample["sections"]["mlp_step"]


def test_merge_refuses_mixed_devices(sample):
    other = copy.deepcopy(sample)
    other["environment"]["device"] = "another card"
    with pytest.raises(ValueError, match="different devices"):
        results.merge([sample, other])
    with pytest.raises(ValueError, match="at least one"):
        results.merge([])


# --------------------------------------------------------------------------- minimal work
def test_cross_entropy_bytes():
    n, v = 8192, 32000
    assert metrics.cross_entropy_bytes(n, v, "bf16", "fwd+bwd") == 2 * n * v * 2 + 8 * n
    assert metrics.cross_entropy_bytes(n, v, "fp32", "fwd_nograd") == n * v * 4 + 8 * n
    assert metrics.cross_entropy_bytes(n, v, "bf16", "bwd") == 2 * n * v * 2 + 12 * n
    # DESIGN.md's floor for this shape: 1.05 GB, 0.35 ms at 3.0 TB/s
    floor = metrics.floor_ms(metrics.cross_entropy_bytes(n, v, "bf16", "fwd+bwd"), 0, "bf16",
                             metrics.NOMINAL_CEILINGS)
    assert floor == pytest.approx(0.35, abs=0.001)


def test_linear_work():
    m, k, n = 16384, 1024, 4096
    assert metrics.linear_flops(m, k, n, "fwd") == 2 * m * n * k
    assert metrics.linear_flops(m, k, n, "fwd+bwd") == 6 * m * n * k
    assert metrics.linear_bytes(m, k, n, "bf16", "fwd") == 2 * (m * k + n * k + n + m * n)
    # large shapes are bound by arithmetic, the digits layer by bytes
    big = metrics.floor_ms(metrics.linear_bytes(m, k, n, "bf16", "fwd"), metrics.linear_flops(m, k, n, "fwd"),
                           "bf16", metrics.NOMINAL_CEILINGS)
    assert big == pytest.approx(2 * m * n * k / 673e12 * 1e3)
    small = metrics.floor_ms(metrics.linear_bytes(4096, 128, 10, "fp32", "fwd"),
                             metrics.linear_flops(4096, 128, 10, "fwd"), "fp32", metrics.NOMINAL_CEILINGS)
    assert small == pytest.approx(metrics.linear_bytes(4096, 128, 10, "fp32", "fwd") / 3e12 * 1e3)


@pytest.mark.parametrize("call", [
    lambda: metrics.cross_entropy_bytes(1, 1, "int8", "fwd"),
    lambda: metrics.cross_entropy_bytes(1, 1, "bf16", "sideways"),
    lambda: metrics.linear_flops(1, 1, 1, "sideways"),
    lambda: metrics.linear_bytes(1, 1, 1, "fp64", "fwd"),
])
def test_metrics_reject_unknown_names(call):
    with pytest.raises(ValueError, match="must be one of"):
        call()
