"""conformance.device_memory: the machine-wide lock around a GPU's largest allocations."""
import subprocess
import sys

from conformance import device_memory

_HOLD = """
import pathlib, sys, time
from conformance import device_memory
mark = pathlib.Path(sys.argv[1])
with device_memory.exclusive():
    mark.write_text("inside")
    print("held", flush=True)
    time.sleep(1.0)
    mark.write_text("left")
"""


def test_one_process_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv(device_memory.LOCK_ENV, str(tmp_path / "lock"))
    mark = tmp_path / "mark"
    other = subprocess.Popen([sys.executable, "-c", _HOLD, str(mark)], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        with device_memory.exclusive():  # waits until the other process has left its block
            assert mark.read_text() == "left"
    finally:
        other.wait(timeout=60)
    assert other.returncode == 0
    with device_memory.exclusive():  # free again afterwards, in this process too
        pass
