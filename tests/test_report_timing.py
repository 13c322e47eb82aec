"""report.timing on the CPU: the minimum over rounds is the measurement, the rest its spread."""
import time

from report.timing import Device


def test_cpu_time_is_the_minimum_of_its_rounds():
    pauses = iter([0.03, 0.002, 0.01, 0.02])  # the first call is the warm-up

    def fn():
        time.sleep(next(pauses))

    stats = Device("cpu", warmup_ms=0, rep_ms=0).time(fn)
    assert stats["rounds"] == 3
    assert 2 <= stats["ms"] < 9 and 9 < stats["ms_median"] < stats["ms_max"]
    assert "ms_p20" not in stats  # GPU statistics are not faked for a CPU run
