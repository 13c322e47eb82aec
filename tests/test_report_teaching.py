"""python -m report teaching: the course's figures, drawn from the worked examples."""
import pytest

pytest.importorskip("matplotlib")


def test_report_teaching_writes_the_figures(tmp_path, capsys):
    from report.__main__ import main
    from report.teaching import FIGURES, OUT

    assert main(["teaching", "--out", str(tmp_path)]) == 0
    assert len(FIGURES) >= 11
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 10_000
        assert (OUT / name).exists(), f"report/teaching/{name} is not committed: run python -m report teaching"
    assert capsys.readouterr().out.count("wrote ") == len(FIGURES)
