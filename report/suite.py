"""The one driver of the kernel benchmark suites (cross-entropy, linear + activation).

A suite says what to time; this module times it, the same way for every suite:

    for each config (a shape and a dtype):      input sets, rotated past the L2 (Device.rotating)
        for each job (an implementation; for linear + activation, with its activation):
            torch.compile it afresh if asked; its error against float64 on the first input set
            for each of its modes: time it                                  -> one row per mode

A suite is a module with:

    SECTION                         the results section its rows go to
    MODE_KINDS                      {mode: "inference" | "forward" | "backward" | "forward+backward"}
    label(cfg)                      the config in progress lines
    make_set(cfg, device)           one input set (a tuple of tensors)
    context(cfg)                    a context manager the config's jobs run in (e.g. TF32 allowed)
    set_bytes(cfg)                  its size, to decide how many sets to rotate
    jobs(cfg, impls, notes)         [Job, ...] (notes: a list for section notes, e.g. a peer missing)
    row(cfg, job, mode)             the row's identity keys and minimal bytes / FLOPs
    forward(fn, s)                  the output, recording the graph
    inference(fn, s)                the output under no_grad
    backward(out, s, retain)        the gradients of ``out``
    leaves(s)                       tensors whose .grad the backward fills (cleared between calls)
    rel_err(fn, job, s)             |what was timed - float64| / |float64| on the set ``s``, or None
    refresh(sets)                   fresh values before each job (in-place implementations overwrite)

Every row has exactly one of ``ms`` (a time), ``error`` (the case raised: a peer's bug, out of
memory) and ``skipped`` (why it was not run: not selected, not installed, the time budget spent).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Callable

from .results import section_status
from .runner import OUT_OF_TIME, failed, fresh_compile, measure, skipped
from .timing import cycling


@dataclass
class Job:
    """One implementation (with its identity fields, e.g. the activation) and the modes to time.

    ``skip`` (why) keeps its rows in the tables without running it; ``skip_modes`` does so for
    single modes (this project's cross-entropy has no separate backward to time). ``context``
    (a context manager factory) is entered around each forward + backward step, both halves: for
    a variant chosen by a switch that the backward reads."""

    impl: str
    fn: Callable | None
    modes: tuple
    fields: dict = field(default_factory=dict)
    compile: bool = False
    skip: str | None = None
    skip_modes: dict = field(default_factory=dict)
    context: Callable = contextlib.nullcontext


def _label(suite, cfg: dict, job: Job, mode: str) -> str:
    keys = " ".join(f"{v}" for v in job.fields.values())
    return f"{suite.label(cfg)} {keys + ' ' if keys else ''}{job.impl} {mode}"


def count_cases(suite, cfgs: list, impls) -> int:
    return sum(len(job.modes) for cfg in cfgs for job in suite.jobs(cfg, impls, []))


def run(suite, device, cfgs: list, progress, impls) -> dict:
    """Time every (config, job, mode); returns the section record."""
    import torch

    with device.stream():  # inputs, timing and CUDA graphs on one stream (Device.stream)
        rows, notes = [], []
        torch.manual_seed(0)
        for cfg in cfgs:
            jobs = suite.jobs(cfg, impls, notes)
            if progress.out_of_time():  # no inputs to make, nothing to compile
                rows += [skipped(progress, _label(suite, cfg, j, m), suite.row(cfg, j, m), OUT_OF_TIME)
                         for j in jobs for m in j.modes]
                continue
            sets = device.rotating(lambda: suite.make_set(cfg, device), suite.set_bytes(cfg))
            with suite.context(cfg):
                for job in jobs:
                    rows += _run_job(suite, device, progress, cfg, job, sets)
            del sets
        return {"status": section_status(rows), "notes": list(dict.fromkeys(notes)), "rows": rows}


def _run_job(suite, device, progress, cfg, job: Job, sets) -> list:
    rows = []
    if job.skip is not None:
        return [skipped(progress, _label(suite, cfg, job, m), suite.row(cfg, job, m), job.skip) for m in job.modes]
    fn = job.fn
    if job.compile:
        try:
            fn = fresh_compile(fn)
        except Exception as exc:  # noqa: BLE001 -- recorded as this job's rows
            return [failed(progress, _label(suite, cfg, job, m), suite.row(cfg, job, m), exc) for m in job.modes]
    suite.refresh(sets)
    rel_err = suite.rel_err(fn, job, sets[0])
    for mode in job.modes:
        label, row = _label(suite, cfg, job, mode), dict(suite.row(cfg, job, mode), rel_err=rel_err)
        if mode in job.skip_modes:
            rows.append(skipped(progress, label, row, job.skip_modes[mode]))
        else:
            rows.append(_time_mode(suite, device, progress, label, row, fn, mode, sets, job.context))
    for t in (t for s in sets for t in suite.leaves(s)):
        t.grad = None
    return rows


def _time_mode(suite, device, progress, label, row, fn, mode, sets, context=contextlib.nullcontext) -> dict:
    kind = suite.MODE_KINDS[mode]
    leaves = [t for s in sets for t in suite.leaves(s)]
    # Each is also replayed from a CUDA graph on one input set (measure's graph_fn): the GPU's time
    # apart from the host's.
    if kind == "inference":
        return measure(device, progress, label, row, cycling(lambda *s: suite.inference(fn, s), sets),
                       graph_fn=lambda: suite.inference(fn, sets[0]))
    if kind == "forward":
        return measure(device, progress, label, row, cycling(lambda *s: suite.forward(fn, s), sets),
                       graph_fn=lambda: suite.forward(fn, sets[0]))
    if kind == "forward+backward":
        def step(*s):
            with context():
                return suite.backward(suite.forward(fn, s), s, False)

        row["inputs_bytes"] = sum(t.numel() * t.element_size() for t in sets[0])
        return measure(device, progress, label, row, cycling(step, sets), grad_to_none=leaves,
                       memory_fn=lambda: step(*sets[0]), graph_fn=lambda: step(*sets[0]))
    if kind == "backward":
        try:  # one retained graph per input set, freed when the row is done
            graphs = [(suite.forward(fn, s), s) for s in sets]
        except Exception as exc:  # noqa: BLE001 -- recorded as the row
            return failed(progress, label, row, exc)
        return measure(device, progress, label, row,
                       cycling(lambda out, s: suite.backward(out, s, True), graphs), grad_to_none=leaves)
    raise ValueError(f"mode kind must be inference, forward, backward or forward+backward, got {kind!r}")
