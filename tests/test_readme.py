"""The README's examples run: its ``>>>`` lines are a doctest."""
import doctest
from pathlib import Path


def test_readme_examples_run():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    result = doctest.testfile(str(readme), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_readme_python_blocks_run():
    """Every ```python block that is not a doctest (the kernels' quick tour) runs as written, here on a CPU."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    blocks = [b for b in blocks if not b.lstrip().startswith(">>>")]
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
