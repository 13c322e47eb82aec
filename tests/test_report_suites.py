"""The GPU benchmark code paths, exercised on the CPU (Triton interpreter, tiny shapes, short
timing) so a GPU session does not discover their bugs on its limited device time. The times
here mean nothing; the row structure, error capture and bookkeeping are what is tested."""
import importlib
import pytest

from report import ce_bench, ceilings, linear_bench, results, runner, suite
from report.timing import Device, Progress

torch = pytest.importorskip("torch")


@pytest.fixture
def cpu():
    return Device("cpu", warmup_ms=0, rep_ms=1)


def _check_section(name, sec, progress):
    assert progress.done == progress.total  # count_cases predicted every case
    doc = results.new_results({"date": "2000-01-01"})
    doc["sections"][name] = sec
    results.validate(doc)
    return sec["rows"]


def test_cross_entropy_suite(cpu):
    cfgs = ce_bench.configs(False, shapes=((12, 10), (3, 70)), dtypes=("fp32", "bf16"))
    progress = Progress(ce_bench.count_cases(cfgs))
    sec = ce_bench.run(cpu, cfgs, progress, impls=("ours", "eager", "liger", "ours_inplace"))
    rows = _check_section("cross_entropy", sec, progress)
    assert sec["status"] == "ok"
    timed = {(r["impl"], r["mode"]) for r in rows if "ms" in r}
    assert {("ours", m) for m in ("fwd", "fwd+bwd", "fwd_nograd")} <= timed
    assert ("ours_inplace", "fwd+bwd") in timed and ("eager", "bwd") in timed
    fused = [r for r in rows if (r["impl"], r["mode"]) == ("ours", "bwd")]
    assert len(fused) == 4 and all(r["skipped"] == ce_bench.FUSED_NOTE for r in fused)
    assert all(r["skipped"] == "not selected" for r in rows if r["impl"] == "compile")
    # what our kernels move beside the minimum: 12 bytes a row more for fwd+bwd (targets again, lse)
    for r in rows:
        if r["impl"] == "ours" and r["mode"] == "fwd+bwd":
            assert r["moved_bytes"] - r["bytes"] == 12 * r["n"]
    # what was timed was also checked against float64
    for r in rows:
        if r["impl"] in ("ours", "ours_inplace", "eager") and "ms" in r:
            assert r["rel_err"] < (1e-5 if r["dtype"] == "fp32" else 2e-2), r
    if ce_bench._liger_loss() is None:
        assert sec["notes"] == [ce_bench.LIGER_MISSING]


def test_unselected_implementations_keep_the_table_shape(cpu):
    cfgs = ce_bench.configs(False, shapes=((4, 6),), dtypes=("fp32",))
    progress = Progress(ce_bench.count_cases(cfgs))
    rows = _check_section("cross_entropy", ce_bench.run(cpu, cfgs, progress, impls=("eager",)), progress)
    assert len(rows) == ce_bench.count_cases(cfgs)
    assert {r["impl"] for r in rows if "ms" in r} == {"eager"}
    assert all(r["skipped"] == "not selected" for r in rows if r["impl"] != "eager")


def test_linear_suite(cpu):
    cfgs = linear_bench.configs(False, shapes=((9, 16, 5),), dtypes=("fp32", "bf16"), activations=("gelu_tanh",))
    progress = Progress(linear_bench.count_cases(cfgs))
    sec = linear_bench.run(cpu, cfgs, progress, impls=("ours", "portable", "cublas_dx", "eager", "matmul"))
    rows = _check_section("linear_act", sec, progress)
    assert sec["status"] == "ok"
    # The portable kernel beside ours: the forward, where the TMA kernel could run (not IEEE fp32);
    # the backward before the fused dx kernel: forward + backward, not IEEE fp32 either.
    assert {(r["dtype"], r["mode"]) for r in rows if r["impl"] == "portable"} == {("bf16", "fwd")}
    assert {(r["dtype"], r["mode"]) for r in rows if r["impl"] == "cublas_dx"} == {("bf16", "fwd+bwd")}
    for r in rows:
        if r["impl"] == "compile":
            assert r["skipped"] == "not selected"
            continue
        assert r["ms"] > 0 and r["flops"] == linear_bench.linear_flops(9, 16, 5, r["mode"])
        assert r["activation"] == ("none" if r["impl"] == "matmul" else "gelu_tanh")
        assert r["rel_err"] < (1e-5 if r["dtype"] == "fp32" else 2e-2), r


def test_a_failing_peer_is_recorded_not_fatal(cpu, monkeypatch):
    def broken_compile(fn):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(suite, "fresh_compile", broken_compile)
    cfgs = linear_bench.configs(False, shapes=((4, 8, 3),), dtypes=("fp32",), activations=("relu",))
    progress = Progress(linear_bench.count_cases(cfgs))
    sec = linear_bench.run(cpu, cfgs, progress, impls=("eager", "compile"))
    rows = _check_section("linear_act", sec, progress)
    assert sec["status"] == "partial"
    compiled = [r for r in rows if r["impl"] == "compile"]
    assert len(compiled) == 3 and all(r["error"] == "RuntimeError: no compiler here" for r in compiled)
    assert all("ms" in r for r in rows if r["impl"] == "eager")


def test_measure_records_errors(cpu, capsys):
    progress = Progress(2)

    def boom():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (test)")

    row = runner.measure(cpu, progress, "case", {"impl": "x"}, boom)
    assert "ms" not in row and row["error"].startswith("OutOfMemoryError: CUDA out of memory")
    row = runner.measure(cpu, progress, "case", {"impl": "x"}, lambda: None)
    assert 0 < row["ms"] <= row["ms_median"] <= row["ms_max"]
    out = capsys.readouterr().out
    assert "[1/2" in out and "FAILED" in out and "[2/2" in out


def test_ceilings_suite(cpu):
    cfgs = [dict(c, elements=1 << 12, n=32) if c["name"] == "copy" else dict(c, n=32)
            for c in ceilings.configs(quick=True)]
    progress = Progress(ceilings.count_cases(cfgs))
    rows = _check_section("ceilings", ceilings.run(cpu, cfgs, progress), progress)
    assert [r["name"] for r in rows] == ["copy", "matmul_bf16", "matmul_tf32", "matmul_fp32"]
    assert rows[0]["bytes"] == 2 * 4 * (1 << 12) and rows[1]["flops"] == 2 * 32**3
    assert torch.backends.cuda.matmul.allow_tf32 is False  # the TF32 switch was restored


def test_rotation_exceeds_twice_the_l2():
    device = Device("cpu")
    assert len(device.rotating(object, 10)) == 1  # no L2 size known: one set
    device.l2_bytes = 1000
    assert len(device.rotating(object, 300)) == 7  # ceil(2000 / 300)
    assert len(device.rotating(object, 5000)) == 1
    assert len(device.rotating(object, 1)) == 64  # capped
    with pytest.raises(ValueError, match="device kind"):
        Device("tpu")


class _GraphDevice(Device):
    """A CPU device that replays like a CUDA one: calls are timed at 1 ms, replays at 0.25 ms, or the
    capture fails."""

    can_replay = True

    def __init__(self, capture_error=None):
        super().__init__("cpu", warmup_ms=0, rep_ms=1)
        self.capture_error, self.captured = capture_error, 0

    def time(self, fn, grad_to_none=None):
        fn()
        return {"ms": 1.0, "ms_p20": 0.9, "ms_p80": 1.1}

    def graph_time(self, fn):
        self.captured += 1
        if self.capture_error:
            raise self.capture_error
        fn()
        return {"graph_ms": 0.25, "graph_ms_p20": 0.24, "graph_ms_p80": 0.26}


def test_measure_adds_the_graph_replay_or_why_there_is_none():
    leaf = torch.ones(3, requires_grad=True)
    leaf.grad = torch.ones(3)
    row = runner.measure(_GraphDevice(), Progress(2), "case", {"impl": "x"}, lambda: None, grad_to_none=[leaf],
                         graph_fn=lambda: None)
    assert row["ms"] == 1.0 and row["graph_ms"] == 0.25 and row["graph_ms_p80"] == 0.26
    assert leaf.grad is None  # no gradient left in the graph's memory pool
    row = runner.measure(_GraphDevice(RuntimeError("operation not permitted when stream is capturing")),
                         Progress(1), "case", {"impl": "x"}, lambda: None, graph_fn=lambda: None)
    assert row["ms"] == 1.0 and "graph_ms" not in row and row["graph_error"].startswith("RuntimeError: operation")


def test_the_suites_replay_every_mode_but_the_retained_backward():
    device = _GraphDevice()
    cfgs = ce_bench.configs(quick=True, shapes=[(4, 40)], dtypes=["fp32"])
    rows = ce_bench.run(device, cfgs, Progress(ce_bench.count_cases(cfgs, ("ours", "eager")), verbose=False),
                        impls=("ours", "eager"))["rows"]
    timed = [r for r in rows if "ms" in r]
    assert timed and all(("graph_ms" in r) == (r["mode"] != "bwd") for r in timed)


def test_graph_time_needs_a_cuda_device(cpu):
    with pytest.raises(RuntimeError, match="CUDA device"):
        cpu.graph_time(lambda: None)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_graph_time_captures_a_training_step_on_its_stream():
    """The report's forward + backward from non-leaf logits (made by an operation, as a model's head
    makes them) captures under Device.stream(); on the default stream and with a host sync it
    raises before capturing, and the CUDA generator still works after."""
    import torch.nn.functional as F

    device = Device("cuda", warmup_ms=1, rep_ms=5)
    with device.stream():
        zero = torch.zeros((), device="cuda", requires_grad=True)
        logits = torch.randn(64, 100, device="cuda") + zero
        target = torch.randint(0, 100, (64,), device="cuda")
        out = device.graph_time(lambda: torch.autograd.grad(F.cross_entropy(logits, target), logits))
        assert 0 < out["graph_ms_p20"] <= out["graph_ms"] <= out["graph_ms_p80"]
        with pytest.raises(RuntimeError, match="waits for the GPU"):
            device.graph_time(lambda: torch.nonzero(target))
    with pytest.raises(RuntimeError, match="default stream"):
        device.graph_time(lambda: None)
    assert torch.randn(4, device="cuda").isfinite().all()


def test_the_cublas_dx_job_switches_the_backward_for_its_steps_only(cpu, monkeypatch):
    """cublas_dx times linear_act with the fused dx kernel switched off around each forward +
    backward step (the backward reads the switch), and the switch is back on afterwards."""
    la = importlib.import_module("triton_kernels.linear_act")
    seen = []
    real = la._fused_dx_applies
    monkeypatch.setattr(la, "_fused_dx_applies", lambda *args: seen.append(la._FUSED_DX) or real(*args))
    cfgs = linear_bench.configs(False, shapes=((9, 16, 5),), dtypes=("bf16",), activations=("relu",))
    cfgs[0]["modes"] = ("fwd+bwd",)
    linear_bench.run(cpu, cfgs, Progress(linear_bench.count_cases(cfgs), verbose=False), impls=("cublas_dx",))
    assert seen and not any(seen) and la._FUSED_DX
