"""report.compile_check's command line (the compilation itself takes minutes: see its --help)."""
import pytest

from report import compile_check


def test_help_says_how_long_a_run_takes(capsys):
    with pytest.raises(SystemExit):
        compile_check.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "full run compiles ~1,700 variants in ~40 minutes on 2 cores" in out and "--quick ~370" in out


def test_refuses_the_interpreter(monkeypatch, capsys):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    with pytest.raises(SystemExit):
        compile_check.main([])
    assert "unset TRITON_INTERPRET" in capsys.readouterr().err
