"""python -m report: measure what this machine can, then write README.md, plots and results.json.

    python -m report                          all sections; GPU ones skip without CUDA; writes out/report/
    python -m report --out report/            the same, into the committed report
    python -m report --quick                  fewer shapes and shorter timing: a sanity run
    python -m report --sections cross_entropy --dtypes bf16 --out /tmp/part1
    python -m report --from a.json b.json     re-render (and merge) saved results, no measuring
    python -m report --goals --budget 300     only what the speed goals are judged on, within 300 s
    python -m report gpu-check --out DIR      everything a GPU is needed for (see report.gpu_check)
    python -m report teaching                 the course's figures into report/teaching/ (see report.teaching)
    python -m report ce-sweep                 cross-entropy launch configurations timed side by side (GPU)
    python -m report linear-sweep             the linear forward's autotuning table at the goal shapes (GPU)
    python -m report host-time                the host's share of a call's measured time (GPU)

The ceilings are measured whenever a GPU kernel section runs, so every fraction of a ceiling in a
results file comes from the same run as the rows it judges.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from conformance.dtypes import long_name, short_name

from . import ce_bench, ceilings, cpu_reference, environment, linear_bench, mlp_step, plots, render, results
from .environment import cuda_available as _cuda_available  # tests replace it here
from .timing import Device, Progress

KERNEL_DTYPES = ("bf16", "fp16", "fp32", "tf32")  # what the GPU kernel sections time

REPORT_DIR = Path(__file__).resolve().parent
# A git-ignored folder unless asked for elsewhere: the committed report changes only with --out report/.
DEFAULT_OUT = Path("out") / "report"
GPU_SUITES = {"ceilings": ceilings, "cross_entropy": ce_bench, "linear_act": linear_bench}
NO_CUDA = "no CUDA device on this machine: GPU measurements pending (run python -m report on an NVIDIA GPU)"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="sources", nargs="+", metavar="RESULTS_JSON",
                   help="render saved results (several are merged: one device only) instead of measuring")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                   help=f"directory for README.md, results.json and plots/ (default: {DEFAULT_OUT}, git-ignored; "
                        "--out report/ updates the committed report)")
    p.add_argument("--sections", default=",".join(results.SECTIONS), metavar="NAME,...",
                   help=f"comma-separated subset of {', '.join(results.SECTIONS)} (default: all)")
    p.add_argument("--dtypes", metavar="DTYPE,...",
                   help=f"comma-separated dtypes for the GPU kernel sections, short or long names: "
                        f"{', '.join(KERNEL_DTYPES)} or {', '.join(long_name(d) for d in KERNEL_DTYPES)} (default: all)")
    p.add_argument("--quick", action="store_true", help="fewer shapes, shorter timing: a sanity run")
    p.add_argument("--goals", action="store_true",
                   help="only the shapes and modes the speed goals are judged on (the plan of gpu-check)")
    p.add_argument("--budget", type=float, metavar="SECONDS",
                   help="start no case after this many seconds; later cases are recorded as skipped")
    p.add_argument("--verbose", action="store_true", help="print the traceback of every failed case")
    args = p.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(results.SECTIONS))
    if not sections:
        p.error(f"--sections: name at least one of {', '.join(results.SECTIONS)}")
    if unknown:
        p.error(f"--sections: unknown {unknown}; choose from {','.join(results.SECTIONS)}")
    if any(s in sections for s in ("cross_entropy", "linear_act")) and "ceilings" not in sections:
        sections.insert(0, "ceilings")  # fractions of the ceilings need ceilings from the same run
    args.sections = sections
    try:
        args.dtypes = tuple(short_name(d.strip()) for d in args.dtypes.split(",")) if args.dtypes else None
    except ValueError as exc:
        p.error(f"--dtypes: {exc}")
    if args.dtypes and set(args.dtypes) - set(KERNEL_DTYPES):
        p.error(f"--dtypes: the kernel sections run {', '.join(KERNEL_DTYPES)}, got {', '.join(args.dtypes)}")
    if args.budget is not None and not args.budget > 0:
        p.error(f"--budget: expected a positive number of seconds, got {args.budget:g}")
    return args


def measure(args, out: Path | None = None) -> dict:
    """Run the selected sections; return the results document.

    With ``out``, results.json is rewritten there after each section, so a run stopped from
    outside (a lease's time limit) still leaves every section it finished."""
    doc = results.new_results(environment.collect(args.argv))
    cuda = _cuda_available()
    device = Device("cuda", warmup_ms=10 if args.quick else 25, rep_ms=40 if args.quick else 100) if cuda else None
    plans = {}
    for name in args.sections:
        if name in GPU_SUITES:
            if not cuda:
                doc["sections"][name] = results.section("skipped", [NO_CUDA])
                continue
            suite = GPU_SUITES[name]
            cfgs = (suite.configs(args.quick) if name == "ceilings"
                    else suite.configs(args.quick, dtypes=args.dtypes, goals=args.goals))
            plans[name] = (cfgs, suite.count_cases(cfgs))
        elif name == "mlp_step":
            cfgs = mlp_step.configs(args.quick, cuda)
            plans[name] = (cfgs, mlp_step.count_cases(cfgs))
        else:
            plans[name] = (None, 1)
    progress = Progress(sum(count for _, count in plans.values()), verbose=args.verbose, budget_s=args.budget)
    progress.message(f"python -m report: {doc['environment'].get('device') or 'no CUDA device'}; "
                     f"{progress.total} cases in {', '.join(plans) or 'no section'}")
    for name, (cfgs, _) in plans.items():
        start = time.perf_counter()
        progress.message(f"== {name}")
        try:
            if name in GPU_SUITES:
                doc["sections"][name] = GPU_SUITES[name].run(device, cfgs, progress)
            elif name == "mlp_step":
                doc["sections"][name] = mlp_step.run(cfgs, progress, quick=args.quick, cuda=cuda)
            else:
                doc["sections"][name] = cpu_reference.run(progress, quick=args.quick)
        except Exception as exc:  # noqa: BLE001 -- one broken section must not lose the others
            doc["sections"][name] = results.section("error", [f"the section raised {type(exc).__name__}: {exc}"])
            progress.message(f"section {name} failed: {type(exc).__name__}: {exc}")
        progress.message(f"== {name}: {doc['sections'][name]['status']} in {time.perf_counter() - start:.0f} s")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            results.save(doc, out / "results.json")
    return doc


def write(doc: dict, out: Path) -> list:
    """results.json, plots/*.png and README.md under ``out``; returns the paths written."""
    if doc["synthetic"] and out.resolve() == REPORT_DIR:
        raise SystemExit("refusing to write synthetic (test fixture) results into report/: use --out elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    try:
        results.validate(doc)
    except ValueError:
        # never lose a GPU run to a malformed row: keep the raw data for inspection, then fail
        (out / "results.invalid.json").write_text(json.dumps(doc, indent=1, sort_keys=True, default=str))
        raise
    results.save(doc, out / "results.json")
    made = plots.write_plots(doc, out)
    (out / "README.md").write_text(render.render(doc, made))
    return [out / "results.json", out / "README.md"] + [out / p for p in made.values()]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["gpu-check"]:
        from . import gpu_check

        return gpu_check.main(argv[1:])
    if argv[:1] == ["teaching"]:
        from . import teaching

        return teaching.main(argv[1:])
    if argv[:1] == ["ce-sweep"]:
        from . import ce_sweep

        return ce_sweep.main(argv[1:])
    if argv[:1] == ["linear-sweep"]:
        from . import linear_sweep

        return linear_sweep.main(argv[1:])
    if argv[:1] == ["host-time"]:
        from . import host_time

        return host_time.main(argv[1:])
    args = parse_args(argv)
    args.argv = argv
    if args.sources:
        try:
            doc = results.merge([results.load(p) for p in args.sources])
        except (OSError, ValueError) as exc:
            print(f"python -m report: {exc}", file=sys.stderr)
            return 2
    else:
        if not _cuda_available() and set(args.sections) <= set(GPU_SUITES):
            print(f"python -m report: nothing to measure: {', '.join(args.sections)} need a CUDA device, and this "
                  "machine has none; no report written", file=sys.stderr)
            return 2
        doc = measure(args, args.out)
    for path in write(doc, args.out):
        print(f"wrote {path}")
    print(f"report: {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
