"""python -m reference.course: list, run one or run every worked example of the course.

    python -m reference.course --list
    python -m reference.course NAME [NAME ...]
    python -m reference.course --all
    python -m reference.course exercise [NAME [--check FILE.py]]   exercises with checkers
"""
from __future__ import annotations

import argparse
import runpy
import sys
import time

from . import EXAMPLES, module_name


def run(name: str) -> dict:
    """Run example ``name`` as a script (fresh each time) and return its module globals."""
    return runpy.run_module(module_name(name), run_name="__main__")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["exercise"]:
        from .exercises import main as exercise_main

        return exercise_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m reference.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="examples to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the examples and exit")
    parser.add_argument("--all", action="store_true", help="run every example, in the course's order")
    args = parser.parse_args(argv)
    if args.list or not (args.names or args.all):
        width = max(map(len, EXAMPLES))
        for name, title in EXAMPLES.items():
            print(f"{name:<{width}}  {title}")
        return 0
    unknown = [n for n in args.names if n not in EXAMPLES]
    if unknown:
        parser.error(f"unknown example(s) {', '.join(unknown)}; see --list")
    names = list(EXAMPLES) if args.all else args.names
    total = time.perf_counter()
    for name in names:
        print(f"\n{'=' * 20} {name}: {EXAMPLES[name]} {'=' * 20}")
        start = time.perf_counter()
        run(name)
        print(f"[{name}: {time.perf_counter() - start:.1f} s]")
    if len(names) > 1:
        print(f"\n{len(names)} examples in {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
