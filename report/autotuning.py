"""The autotuners' choices during a run: for every key a kernel tuned, the timing of each candidate
and the winner, kept in the results at no extra GPU time.

Triton's ``Autotuner`` keeps only its last table (``configs_timings``); within :func:`recording`
each table is appended to a log as the autotuner assigns it, with the key it was tuned for (the
entry it has just added to its ``cache``), so that one speed run says which tiles won where.
"""
from __future__ import annotations

import contextlib


def _config(cfg) -> dict:
    return {**cfg.kwargs, "stages": cfg.num_stages, "warps": cfg.num_warps}


def _quantiles(t) -> list[float]:
    return [float(v) for v in (t if isinstance(t, (list, tuple)) else [t])]


@contextlib.contextmanager
def recording(kernels: dict):
    """Yields a list that collects {"kernel", "key", "best", "candidates": [{"config", "ms",
    "ms_p20", "ms_p80"}, ...] fastest first} each time one of ``kernels`` ({name: Autotuner})
    benchmarks its candidates for a new key."""
    log = []
    swapped = []
    for name, tuner in kernels.items():
        cls = type(tuner)

        def assign(self, timings, name=name):
            self.__dict__["_recorded_timings"] = timings
            if isinstance(timings, dict) and self.cache:  # a dict: benchmarked now (not read from disk)
                key = next(reversed(self.cache))  # the entry run() has just added
                rows = sorted(((cfg, _quantiles(t)) for cfg, t in timings.items()), key=lambda ct: ct[1][0])
                log.append({"kernel": name, "key": [str(k) for k in key], "best": _config(self.cache[key]),
                            "candidates": [dict(zip(("ms", "ms_p20", "ms_p80"), t), config=_config(cfg))
                                           for cfg, t in rows]})

        recorder = type(cls.__name__, (cls,), {"configs_timings": property(
            lambda self: self.__dict__.get("_recorded_timings"), assign)})
        if "configs_timings" in tuner.__dict__:
            tuner.__dict__["_recorded_timings"] = tuner.__dict__.pop("configs_timings")
        tuner.__class__ = recorder
        swapped.append((tuner, cls))
    try:
        yield log
    finally:
        for tuner, cls in swapped:
            tuner.__class__ = cls
            if "_recorded_timings" in tuner.__dict__:
                tuner.__dict__["configs_timings"] = tuner.__dict__.pop("_recorded_timings")
