"""Command line: run the suite, export golden vectors, check an external program against them.

    python -m conformance [--backend NAME ...] [--profile ci|gpu|thorough] [--ops GLOB ...]
                          [--dtypes DTYPE ...] [--seed N] [--out DIR] [--list]
    python -m conformance export DIR [--size small|large] [--ops GLOB ...] [--dtypes ...] [--examples N]
    python -m conformance check-vectors DIR --command "CMD" [--ops GLOB ...] [--dtypes ...]
    python -m conformance ecosystem [--out FILE] [--backends NAME ...] [--ops GLOB ...]   (conformance.ecosystem)

With no --backend, every built-in backend that can run here (reference, torch, triton). The exit
status is 1 if any check fails (expected failures do not count; a known failure that passes
does), 2 on bad usage: an unknown dtype, profile or backend, an --ops glob that matches nothing,
or a selection with no check in it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import option_classes
from .dtypes import long_name

# Reports go to a git-ignored folder unless asked for elsewhere: the committed ones under
# report/conformance change only with --out report/conformance.
DEFAULT_REPORT_DIR = Path("out") / "conformance"


def _dtype(text: str) -> str:
    try:
        return long_name(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ops", nargs="+", metavar="GLOB", help="operation ids or glob patterns (default: all)")
    parser.add_argument("--dtypes", nargs="+", metavar="DTYPE", type=_dtype,
                        help="only these dtypes, long or short names: float32 or fp32, bfloat16 or bf16, ... "
                             "(default: all the backend has)")


def _out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", "--report-dir", dest="report_dir", metavar="DIR", default=str(DEFAULT_REPORT_DIR),
                        help=f"where the reports go (default: {DEFAULT_REPORT_DIR}, git-ignored; "
                             "--out report/conformance updates the committed ones)")


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n\n")[0],
                                     epilog="Subcommands: export DIR, check-vectors DIR --command CMD, ecosystem "
                                            "[--out FILE].")
    parser.add_argument("--backend", nargs="+", metavar="NAME",
                        help="reference, torch, triton, or package.module:Name (default: all available)")
    parser.add_argument("--profile", default="ci", help="ci (default), gpu or thorough")
    parser.add_argument("--seed", type=int, help="hypothesis seed (default: fixed for ci, random otherwise)")
    parser.add_argument("--list", action="store_true", help="list the operations and exit")
    _out(parser)
    _common(parser)
    return parser


def _progress(result, index: int, total: int) -> None:
    ratio = "" if result.worst_ratio is None else f"  worst {result.worst_ratio:.2g} of bound"
    skipped = f" (+{result.skipped} declined)" if result.skipped else ""
    print(f"[{index:>4}/{total}] {result.backend:<10} {result.dtype:<9} {result.op:<36} {result.status:<16}"
          f" {result.examples:>4} examples{skipped}{ratio}  {result.seconds:.1f}s", flush=True)


def _finish(results, report_dir, profile: str) -> int:
    from . import report

    paths = report.write(results, report_dir, profile)
    counts = report.summary(results)
    failures = [r for r in results if r.failed]
    for r in failures:
        for i, f in enumerate(r.failures or [{"option_class": [], "message": r.message, "reproducer": r.reproducer}]):
            where = f" [{option_classes.describe(tuple(f['option_class']))}]" if f["option_class"] else ""
            print(f"\nFAIL {r.backend} {r.id}{where}: {f['message']}")
            _print_reproducer(report, r, report_dir, f["reproducer"], str(i) if i else "", "minimal failing example")
        if r.worst_reproducer:  # a bad-input check has no ratio
            _print_reproducer(report, r, report_dir, r.worst_reproducer, "worst",
                              f"worst case met ({r.worst_ratio:.3g} x the bound; shrinking ended at a milder one)")
    print("\n" + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + f"; reports in {report_dir}: "
          + ", ".join(p.name for p in paths if p.suffix == ".md"))
    if counts["expected failure"]:
        print("(expected failure: a known difference from the oracle, listed with its reason in "
              "conformance/known_failures/<backend>.txt; it does not fail the run, and fixing it does, "
              "until its line is removed)")
    if not any(r.examples for r in results):  # every check declined: nothing was verified
        print("error: no example ran: the backends implement none of the selected operations", file=sys.stderr)
        return 2
    return 1 if failures else 0


def _print_reproducer(report, result, report_dir, code: str, kind: str, what: str) -> None:
    if len(code) > report.INLINE_REPRODUCER:
        print(f"{what} (long); to reproduce: python {report.reproducer_path(result.backend, result, report_dir, kind)}")
    elif code:
        print(f"{what}; to reproduce:\n" + code)


def _run(argv) -> int:
    args = _run_parser().parse_args(argv)
    from .backends import default_backends
    from .runner import get_profile, run, select_operations

    try:
        ops = select_operations(args.ops)
        profile = get_profile(args.profile)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.list:
        for op in ops:
            print(f"{op.id:<40} {op.summary}")
        return 0
    specs = args.backend or default_backends()
    print(f"conformance: profile {profile.name}, backends {', '.join(specs)}, {len(ops)} operations", flush=True)
    try:
        results = run(specs, ops, profile, args.dtypes, args.seed, progress=_progress)
    except (ValueError, TypeError, RuntimeError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not results:  # e.g. --dtypes bfloat16 with a float64-only backend: a green run that checked nothing
        print(f"error: no check to run: backends {', '.join(specs)} have none of --dtypes "
              f"{' '.join(args.dtypes or [])}", file=sys.stderr)
        return 2
    return _finish(results, args.report_dir, profile.name)


def _wrote(path, index: int, total: int, seconds: float) -> None:
    print(f"[{index:>3}/{total}] {path}  {seconds:.1f}s", flush=True)


def _export(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance export",
                                     description="Write golden test vectors (JSON) and their FORMAT.md to DIR.")
    parser.add_argument("directory", help="where to write the vectors")
    parser.add_argument("--examples", type=int, default=10, help="drawn cases per operation and dtype (default 10)")
    parser.add_argument("--size", choices=("small", "large"), default="small",
                        help="small: drawn cases of at most 4 rows and 12 features (default); large: also the "
                             "boundary cases, across the block sizes up to 4097, float32 only unless --dtypes (see FORMAT.md)")
    _common(parser)
    args = parser.parse_args(argv)
    from .runner import select_operations
    from .vectors import DEFAULT_DTYPES, export

    try:
        ops = select_operations(args.ops)
        # large: float32 alone by default, 30 MB (with float64 too it would pass 50)
        dtypes = args.dtypes or (DEFAULT_DTYPES if args.size == "small" else ("float32",))
        paths = export(args.directory, ops, dtypes, args.examples, progress=_wrote,
                       size=args.size)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths) - 1} vector files ({size / 1e6:.1f} MB) and FORMAT.md under {args.directory}")
    return 0


def _check_vectors(argv) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance check-vectors",
                                     description="Check an external program against golden vectors "
                                                 "(protocol: DIR/FORMAT.md).")
    parser.add_argument("directory", help="the vectors, as written by python -m conformance export DIR")
    parser.add_argument("--command", required=True,
                        help="the program to run, e.g. \"./softmax\": it reads requests on stdin and answers on "
                             "stdout (DIR/FORMAT.md)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per vector file (default 120)")
    _out(parser)
    _common(parser)
    args = parser.parse_args(argv)
    from .runner import select_operations
    from .vectors import check

    try:
        ops = select_operations(args.ops) if args.ops else None
        results = check(args.directory, args.command, ops, args.dtypes, args.timeout, progress=_progress)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return _finish(results, args.report_dir, "vectors")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "export":
        return _export(argv[1:])
    if argv and argv[0] == "check-vectors":
        return _check_vectors(argv[1:])
    if argv and argv[0] == "ecosystem":
        from .ecosystem import main as ecosystem

        return ecosystem(argv[1:])
    return _run(argv)
