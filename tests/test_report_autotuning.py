"""report.autotuning: every table an autotuner benchmarks is kept, with its key and winner."""
from report import autotuning


class _Config:
    def __init__(self, block, stages):
        self.kwargs, self.num_stages, self.num_warps = {"BLOCK": block}, stages, 4


class _Tuner:
    """Does what triton's Autotuner.run does on a new key: cache the winner, then assign the table."""

    def __init__(self):
        self.cache = {}
        self.configs_timings = None

    def tune(self, key, timings):
        self.cache[key] = min(timings, key=lambda c: timings[c][0])
        self.configs_timings = timings


def test_each_tuned_key_is_logged_and_the_tuner_is_restored():
    tuner, fast, slow = _Tuner(), _Config(64, 3), _Config(128, 4)
    with autotuning.recording({"fwd": tuner}) as log:
        tuner.tune((8192, "bf16"), {slow: [0.5, 0.4, 0.6], fast: [0.3, 0.2, 0.4]})
        tuner.tune((4096, "bf16"), {fast: [0.2, 0.1, 0.3]})
        assert tuner.configs_timings == {fast: [0.2, 0.1, 0.3]}  # still readable as the attribute
    assert [e["key"] for e in log] == [["8192", "bf16"], ["4096", "bf16"]]
    first = log[0]
    assert first["kernel"] == "fwd" and first["best"] == {"BLOCK": 64, "stages": 3, "warps": 4}
    assert [c["ms"] for c in first["candidates"]] == [0.3, 0.5]  # fastest first
    assert first["candidates"][0] == {"ms": 0.3, "ms_p20": 0.2, "ms_p80": 0.4, "config": first["best"]}
    assert type(tuner) is _Tuner and tuner.configs_timings == {fast: [0.2, 0.1, 0.3]}
    tuner.tune((1, "bf16"), {slow: [1.0, 1.0, 1.0]})  # outside: nothing more is logged
    assert len(log) == 2


def test_the_kernels_autotuners_are_swapped_back():
    import importlib

    la = importlib.import_module("triton_kernels.linear_act")
    tuner = la._linear_act_fwd_tma_kernel
    cls, before = type(tuner), getattr(tuner, "configs_timings", None)
    with autotuning.recording({"fwd_tma": tuner}) as log:
        assert isinstance(tuner, cls) and type(tuner) is not cls
        assert tuner.configs_timings == before
    assert type(tuner) is cls and getattr(tuner, "configs_timings", None) == before and log == []
