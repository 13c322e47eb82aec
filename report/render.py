"""Markdown for report/README.md, computed from a results document alone.

Every derived number (bandwidth, rate, fraction of a ceiling, speedup) is computed here from the
raw rows, with the ceilings measured in the same run; when a run has no measured ceilings, the
floors use DESIGN.md's nominal H100 numbers and say so.
"""
from __future__ import annotations

from .ce_bench import FUSED_NOTE
from .metrics import DTYPE_BYTES, MATMUL_CEILING, NOMINAL_CEILINGS, floor_ms, tb_per_s, tflop_per_s

GPU_SECTIONS = ("ceilings", "cross_entropy", "linear_act")
CE_PEERS = ("eager", "compile", "liger")
LINEAR_PEERS = ("eager", "compile")
IMPL_NAMES = {
    "ours": "this project", "ours_inplace": "this project, in-place", "eager": "torch eager",
    "compile": "torch.compile", "liger": "Liger-Kernel", "matmul": "cuBLAS matmul alone",
    "portable": "our portable kernel", "cublas_dx": "ours, δ pass + cuBLAS dx",
    "reference": "pure-Python reference", "torch": "torch", "kernels": "this project's kernels",
}
DTYPE_ORDER = {"bf16": 0, "fp16": 1, "tf32": 2, "fp32": 3, "fp64": 4}
CE_MODE_TITLES = {
    "fwd+bwd": "forward + backward (loss and gradient)",
    "fwd": "forward, logits requiring grad (a training step's forward)",
    "fwd_nograd": "forward only, no gradient wanted (evaluation)",
    "bwd": "backward alone, from a retained graph",
}
LINEAR_MODE_TITLES = {
    "fwd": "forward (inference, no_grad)",
    "fwd+bwd": "forward + backward (dx, dW, db)",
    "bwd": "backward alone, from a retained graph",
}


# ------------------------------------------------------------------------------------------------
# Derived numbers
# ------------------------------------------------------------------------------------------------
def measured_ceilings(doc: dict) -> dict:
    """{"copy": TB/s, "matmul_bf16": TFLOP/s, ...} from the ceilings rows that have a time."""
    out = {}
    for row in doc["sections"]["ceilings"]["rows"]:
        if "ms" not in row:
            continue
        if "bytes" in row:
            out[row["name"]] = tb_per_s(row["bytes"], row["ms"])
        elif "flops" in row:
            out[row["name"]] = tflop_per_s(row["flops"], row["ms"])
    return out


def ceilings_for_floors(doc: dict) -> tuple[dict, bool]:
    """The ceilings to compute floors with, and whether they were measured (else nominal)."""
    measured = measured_ceilings(doc)
    if all(name in measured for name in NOMINAL_CEILINGS):
        return measured, True
    return {**NOMINAL_CEILINGS, **measured}, False


def _index(rows: list, keys: tuple) -> dict:
    return {tuple(r.get(k) for k in keys): r for r in rows}


GRAPH_TITLE = "GPU time alone (CUDA-graph replay)"
# What a row keeps in the graph view: everything but its call's time, spread and peak memory.
_CALL_ONLY = ("ms", "ms_p20", "ms_p80", "error", "skipped", "peak_extra_bytes", "memory_error")


def graph_view(doc: dict) -> dict | None:
    """``doc`` with each kernel row's CUDA-graph replay time in place of its call's time (the
    replay's capture error in place of a time where it could not be captured), so that the same
    tables and goals read the GPU's time apart from the host's; None when no row was replayed."""
    sections = {}
    replayed = False
    for name, sec in doc["sections"].items():
        if name not in ("cross_entropy", "linear_act"):
            sections[name] = sec
            continue
        rows = []
        for r in sec["rows"]:
            g = {k: v for k, v in r.items() if k not in _CALL_ONLY}
            if "graph_ms" in r:
                g.update(ms=r["graph_ms"], ms_p20=r["graph_ms_p20"], ms_p80=r["graph_ms_p80"])
                replayed = True
            elif "graph_error" in r:
                g["error"] = "CUDA-graph capture: " + r["graph_error"]
            else:
                g["skipped"] = r.get("skipped") or "not replayed"
            rows.append(g)
        sections[name] = dict(sec, rows=rows, notes=[])
    return dict(doc, sections=sections) if replayed else None


def speedup(peer: dict | None, ours: dict | None) -> float | None:
    """peer time / our time (> 1: ours is faster); None unless both were timed."""
    if not peer or not ours or "ms" not in peer or "ms" not in ours:
        return None
    return peer["ms"] / ours["ms"]


# ------------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------------
class Footnotes:
    """Numbered footnotes for failed cells, so a table stays narrow and every error is shown."""

    def __init__(self):
        self.texts: list[str] = []

    def ref(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"

    def render(self) -> list[str]:
        return [f"[{i}] {t}  " for i, t in enumerate(self.texts, 1)] + ([""] if self.texts else [])


def fmt(value, digits: int = 3) -> str:
    """Three significant digits, no exponent for the magnitudes tables show."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    mag = abs(value)
    decimals = max(0, digits - 1 - int(f"{mag:e}".split("e")[1]))
    return f"{value:.{decimals}f}"


def fmt_ratio(value) -> str:
    """2.51×, 12.5×, 110×: two decimals where they matter, none for the large pure-Python ratios."""
    if value is None:
        return "—"
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×" if value < 100 else f"{value:.0f}×"


def fmt_err(value) -> str:
    """A relative error: 3.1e-04; "nan"/"inf" as stored for a non-finite one."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else f"{value:.1e}"


def fmt_pct(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def time_cell(row: dict | None, notes: Footnotes) -> str:
    """A row's time in ms (GPU: median; CPU: minimum), a footnote for a failure, "—" for missing or skipped."""
    if row is None:
        return "—"
    if "ms" in row:
        return fmt(row["ms"])
    if "skipped" in row:
        return "in fwd" if row["skipped"] == FUSED_NOTE else "—"
    return "fail " + notes.ref(row["error"])


def table(headers: list, rows: list) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def _section_notes(sec: dict) -> list[str]:
    return [f"> {n}" for n in sec["notes"]] + ([""] if sec["notes"] else [])


# ------------------------------------------------------------------------------------------------
# Sections
# ------------------------------------------------------------------------------------------------
def render_ceilings(doc: dict, notes: Footnotes) -> list[str]:
    rows = []
    for row in doc["sections"]["ceilings"]["rows"]:
        nominal = NOMINAL_CEILINGS.get(row["name"])
        if "ms" not in row:
            rows.append([row["name"], time_cell(row, notes), "—", fmt(nominal)])
            continue
        value = tb_per_s(row["bytes"], row["ms"]) if "bytes" in row else tflop_per_s(row["flops"], row["ms"])
        unit = "TB/s" if "bytes" in row else "TFLOP/s"
        what = (f"copy of a {row['bytes'] / 2e9:.2f} GB buffer (read + write counted)" if "bytes" in row
                else f"{row['name'].split('_')[1]} matmul {row['n']}³")
        rows.append([what, fmt(row["ms"]), f"{fmt(value)} {unit}", f"{fmt(nominal)} {unit}"])
    return table(["ceiling", "ms", "measured", "DESIGN.md (H100)"], rows)


def render_cross_entropy(doc: dict, notes: Footnotes, timing: str = "") -> list[str]:
    sec = doc["sections"]["cross_entropy"]
    ceil, measured = ceilings_for_floors(doc)
    idx = _index(sec["rows"], ("dtype", "n", "v", "mode", "impl"))
    shapes = sorted({(r["dtype"], r["n"], r["v"]) for r in sec["rows"]}, key=lambda s: (DTYPE_ORDER[s[0]], s[2]))
    # The graph view's tables follow the call's, under the same explanation.
    out = [] if timing else _section_notes(sec) + [
        f"Bandwidth counts the minimal bytes (logits read once, the gradient written once, int64 targets: "
        f"report/metrics.py) over the median time; % copy is its fraction of the copy bandwidth "
        f"{'measured in this run' if measured else 'of DESIGN.md (no ceiling measured in this run)'}. "
        "×peer = peer time / this project's time (> 1: faster). rel. err = |loss − loss₆₄| / |loss₆₄| "
        "on the timed inputs, loss₆₄ from torch in float64.", *_moved_note(sec["rows"]), ""]
    for mode in ("fwd+bwd", "fwd_nograd", "fwd", "bwd"):
        if not any(r["mode"] == mode for r in sec["rows"]):
            continue
        inplace = mode == "fwd+bwd"
        headers = ["dtype", "N", "V", "floor ms", "ours ms", "TB/s", "% copy"]
        headers += ["ours rel. err", "in-place ms"] if inplace else []
        headers += [f"{IMPL_NAMES[p]} ms" for p in CE_PEERS] + [f"×{IMPL_NAMES[p]}" for p in CE_PEERS]
        body = []
        for dtype, n, v in shapes:
            ours = idx.get((dtype, n, v, mode, "ours"))
            nbytes = (ours or {}).get("bytes")
            bw = tb_per_s(nbytes, ours["ms"]) if ours and "ms" in ours else None
            line = [dtype, n, v, fmt(floor_ms(nbytes, 0, dtype, ceil)) if nbytes else "—",
                    time_cell(ours, notes), fmt(bw), fmt_pct(bw / ceil["copy"] if bw else None)]
            if inplace:
                line += [fmt_err((ours or {}).get("rel_err")),
                         time_cell(idx.get((dtype, n, v, mode, "ours_inplace")), notes)]
            peers = [idx.get((dtype, n, v, mode, p)) for p in CE_PEERS]
            line += [time_cell(p, notes) for p in peers] + [fmt_ratio(speedup(p, ours)) for p in peers]
            body.append(line)
        out += [f"#### {CE_MODE_TITLES[mode]}{timing}", ""] + table(headers, body)
    out += _ce_memory(sec, shapes, idx, notes)
    return out


def _moved_note(rows) -> list[str]:
    """Where this project's kernels move more than the minimal bytes (by more than 1%): the ratio
    at each forward + backward shape, so that % copy is read against what the kernels move."""
    excess = sorted({(DTYPE_ORDER[r["dtype"]], r["v"], r["dtype"], r["moved_bytes"] / r["bytes"]) for r in rows
                     if r["impl"] == "ours" and r["mode"] == "fwd+bwd" and r.get("moved_bytes", 0) > 1.01 * r["bytes"]})
    if not excess:
        return []
    shapes = ", ".join(f"{dtype} V = {v} {fmt_ratio(ratio)}" for _, v, dtype, ratio in excess)
    return [f"This project's kernels move more than the minimal bytes where rows are short (the "
            f"prologue reads the targets a second time for the mean's denominator and the lse is saved: "
            f"`traffic` in triton_kernels/cross_entropy.py): {shapes} of it in forward + backward."]


def _memory_cell(row: dict | None, logits_bytes: int, notes: Footnotes) -> str:
    if row and "peak_extra_bytes" in row:
        return fmt_ratio((row["inputs_bytes"] + row["peak_extra_bytes"]) / logits_bytes)
    if row and "memory_error" in row:
        return "fail " + notes.ref(row["memory_error"])
    return "—"


def _ce_memory(sec: dict, shapes: list, idx: dict, notes: Footnotes) -> list[str]:
    impls = ("ours", "ours_inplace") + CE_PEERS
    if not any("peak_extra_bytes" in r or "memory_error" in r for r in sec["rows"]):
        return []
    body = []
    for dtype, n, v in shapes:
        logits = n * v * DTYPE_BYTES[dtype]
        cells = [_memory_cell(idx.get((dtype, n, v, "fwd+bwd", i)), logits, notes) for i in impls]
        body.append([dtype, n, v, fmt(logits / 1e9)] + cells)
    return (["#### peak memory of one forward + backward", "",
             "Peak device memory (inputs included: logits and targets) as a multiple of the logits' size "
             "(torch.cuda.max_memory_allocated).", ""]
            + table(["dtype", "N", "V", "logits GB"] + [IMPL_NAMES[i] for i in impls], body))


def render_linear(doc: dict, notes: Footnotes, timing: str = "") -> list[str]:
    sec = doc["sections"]["linear_act"]
    ceil, measured = ceilings_for_floors(doc)
    idx = _index(sec["rows"], ("dtype", "m", "k", "n", "activation", "mode", "impl"))
    configs = sorted({(r["dtype"], r["m"], r["k"], r["n"], r["activation"]) for r in sec["rows"]
                      if r["impl"] != "matmul"},
                     key=lambda c: (DTYPE_ORDER[c[0]], -c[1] * c[2] * c[3], c[4]))
    # The graph view's tables follow the call's, under the same explanation.
    out = [] if timing else _section_notes(sec) + [
        f"Rate counts the matmul FLOPs (2MNK forward, 4MNK backward) over the median time; % peak is its "
        f"fraction of the matmul rate of the same precision "
        f"{'measured in this run' if measured else 'from DESIGN.md (no ceiling measured in this run)'}. "
        "vs matmul = cuBLAS matmul-alone time / this project's time (1.00× means the bias and the "
        "activation cost nothing); ×peer = peer time / this project's time. "
        "rel. err = ‖y − y₆₄‖ / ‖y₆₄‖ "
        "on the timed inputs, y₆₄ computed in float64.", ""]
    for mode in ("fwd", "fwd+bwd", "bwd"):
        if not any(r["mode"] == mode for r in sec["rows"]):
            continue
        with_err = mode == "fwd"
        # Our own variants where they were timed (GPUs with TMA): the portable forward, the backward
        # before the fused dx kernel.
        peers_here = LINEAR_PEERS + tuple(p for p in ("portable", "cublas_dx") if any(
            r["impl"] == p and r["mode"] == mode for r in sec["rows"]))
        headers = ["dtype", "M×K×N", "activation", "floor ms", "ours ms", "TFLOP/s", "% peak"]
        headers += ["ours rel. err"] if with_err else []
        headers += ["matmul ms", "vs matmul"] + [f"{IMPL_NAMES[p]} ms" for p in peers_here]
        headers += [f"×{IMPL_NAMES[p]}" for p in peers_here]
        body = []
        for dtype, m, k, n, act in configs:
            ours = idx.get((dtype, m, k, n, act, mode, "ours"))
            matmul = idx.get((dtype, m, k, n, "none", mode, "matmul"))
            rate = tflop_per_s(ours["flops"], ours["ms"]) if ours and "ms" in ours else None
            floor = floor_ms(ours["bytes"], ours["flops"], dtype, ceil) if ours else None
            peers = [idx.get((dtype, m, k, n, act, mode, p)) for p in peers_here]
            line = [dtype, f"{m}×{k}×{n}", act, fmt(floor), time_cell(ours, notes), fmt(rate),
                    fmt_pct(rate / ceil[MATMUL_CEILING[dtype]] if rate else None)]
            line += [fmt_err((ours or {}).get("rel_err"))] if with_err else []
            line += [time_cell(matmul, notes), fmt_ratio(speedup(matmul, ours))]
            body.append(line + [time_cell(p, notes) for p in peers] + [fmt_ratio(speedup(p, ours)) for p in peers])
        out += [f"#### {LINEAR_MODE_TITLES[mode]}{timing}", ""] + table(headers, body)
    return out


def _tile(config: dict) -> str:
    dims = "x".join(str(config[k]) for k in ("BLOCK_M", "BLOCK_N", "BLOCK_K") if k in config)
    per_sm = config.get("PER_SM", 1)
    notes = ["epilogue in quarters"] * (config.get("EPI_SPLIT") == 4) + [f"{per_sm} programs an SM"] * (per_sm > 1)
    return f"{dims} s{config['stages']} w{config['warps']}" + "".join(f", {n}" for n in notes)


def render_autotune(sec: dict) -> list[str]:
    """The autotuners' choice for each key they tuned in the run (report.autotuning), if recorded."""
    tunings = sec.get("autotune") or []
    if not tunings:
        return []
    body = []
    for t in tunings:
        cands = t["candidates"]
        runner_up = (f"{cands[1]['ms'] / cands[0]['ms']:.2f}× ({_tile(cands[1]['config'])})"
                     if len(cands) > 1 else "—")
        body.append([t["kernel"].removeprefix("_linear_act_").removesuffix("_kernel"), ", ".join(t["key"][:7]),
                     len(cands), _tile(t["best"]), f"{cands[0]['ms']:.4f}" if cands else "—", runner_up])
    return (["#### The autotuners' choices in this run", "",
             "Each key a kernel tuned (its key: M rounded up to a power of two, N, K, then the kernel's "
             "modes), the candidates the pruner kept and timed, the winner (BLOCK_M x BLOCK_N x BLOCK_K as "
             "the kernel names them, stages, warps) and how much slower the second was (Triton's own timing "
             "of the bare launch).", ""]
            + table(["kernel", "key", "timed", "best tile", "best ms", "second"], body))


def render_mlp_step(doc: dict, notes: Footnotes) -> list[str]:
    sec = doc["sections"]["mlp_step"]
    out = _section_notes(sec)
    rows = sorted(sec["rows"], key=lambda r: (r["batch"], -r.get("ms", 0)))
    refs = {r["batch"]: r for r in rows if r["impl"] == "reference" and "ms" in r}
    body = []
    for r in rows:
        ref = refs.get(r["batch"])
        loss_diff = _loss_diff(r, ref)
        device = r["device"] + (f", {r['threads']} thread{'s' if r['threads'] > 1 else ''}" if "threads" in r else "")
        body.append([IMPL_NAMES.get(r["impl"], r["impl"]), device, r.get("dtype", "—"), r["batch"],
                     time_cell(r, notes), spread_cell(r), fmt_ratio(speedup(ref, r)),
                     fmt_err(loss_diff)])
    layers = rows[0]["layers"] if rows else []
    out += [f"One SGD step (forward, cross-entropy, backward, update) of the MLP "
            f"{' → '.join(map(str, layers))} (ReLU hidden layers) on a mini-batch of the 8×8 digits, from the "
            "same initial weights; × = reference time / this time. The loss column is the relative "
            "difference of the step's loss from the float64 reference's: the same computation, not "
            "just a faster one.", ""]
    return out + table(["implementation", "device", "dtype", "batch", "ms per step", "spread", "× reference",
                        "loss vs reference"], body)


def spread_cell(row: dict) -> str:
    """How much a row's rounds varied: CPU "median / max (rounds)", GPU "p20–p80"."""
    if "ms_max" in row:
        return f"{fmt(row['ms_median'])} / {fmt(row['ms_max'])} ({row['rounds']})"
    if "ms_p20" in row:
        return f"{fmt(row['ms_p20'])}–{fmt(row['ms_p80'])}"
    return "—"


def _loss_diff(row: dict, ref: dict | None):
    """|loss - reference loss| / |reference loss|; "nan"/"inf" when the row's loss was not finite."""
    if ref is None or row is ref:
        return None
    loss, exact = row.get("loss"), ref.get("loss")
    if isinstance(loss, str):
        return loss
    if not isinstance(loss, (int, float)) or not isinstance(exact, (int, float)) or exact == 0:
        return None
    return abs(loss - exact) / abs(exact)


def render_cpu_reference(doc: dict, notes: Footnotes) -> list[str]:
    sec = doc["sections"]["cpu_reference"]
    body = [[r["name"], r.get("description", ""), time_cell(r, notes), spread_cell(r)] for r in sec["rows"]]
    return _section_notes(sec) + table(["benchmark", "what", "min ms", "median / max ms (rounds)"], body)


# ------------------------------------------------------------------------------------------------
# Headline and targets
# ------------------------------------------------------------------------------------------------
def _ce_row(doc, dtype, n, v, mode, impl):
    return _index(doc["sections"]["cross_entropy"]["rows"], ("dtype", "n", "v", "mode", "impl")).get(
        (dtype, n, v, mode, impl))


def _linear_row(doc, dtype, m, k, n, act, mode, impl):
    return _index(doc["sections"]["linear_act"]["rows"], ("dtype", "m", "k", "n", "activation", "mode", "impl")).get(
        (dtype, m, k, n, act, mode, impl))


def headline(doc: dict) -> list[str]:
    """A few sentences with the numbers a reader looks for first; only what was measured."""
    ceil = measured_ceilings(doc)
    lines = []
    for n, v in ((8192, 32000), (4096, 128256)):
        ours = _ce_row(doc, "bf16", n, v, "fwd+bwd", "ours")
        if ours and "ms" in ours and "copy" in ceil:
            bw = tb_per_s(ours["bytes"], ours["ms"])
            peers = ", ".join(f"{fmt_ratio(speedup(_ce_row(doc, 'bf16', n, v, 'fwd+bwd', p), ours))} "
                              f"{IMPL_NAMES[p]}" for p in CE_PEERS
                              if speedup(_ce_row(doc, "bf16", n, v, "fwd+bwd", p), ours))
            lines.append(f"- Cross-entropy forward + backward, bf16, N={n}, V={v}: {fmt(ours['ms'])} ms, "
                         f"{fmt(bw)} TB/s = {fmt_pct(bw / ceil['copy'])} of the copy bandwidth"
                         + (f"; faster than {peers}" if peers else "") + ".")
    for m, k, n in ((16384, 1024, 4096), (8192, 4096, 4096)):
        ours = _linear_row(doc, "bf16", m, k, n, "relu", "fwd", "ours")
        matmul = _linear_row(doc, "bf16", m, k, n, "none", "fwd", "matmul")
        eager = _linear_row(doc, "bf16", m, k, n, "relu", "fwd+bwd", "eager")
        ours_fb = _linear_row(doc, "bf16", m, k, n, "relu", "fwd+bwd", "ours")
        if speedup(matmul, ours):
            lines.append(f"- Linear + ReLU, bf16, {m}×{k}×{n}: forward at {fmt_pct(speedup(matmul, ours))} of the "
                         f"cuBLAS matmul alone ({fmt(tflop_per_s(ours['flops'], ours['ms']))} TFLOP/s)"
                         + (f"; forward + backward {fmt_ratio(speedup(eager, ours_fb))} torch eager"
                            if speedup(eager, ours_fb) else "") + ".")
    steps = [r for r in doc["sections"]["mlp_step"]["rows"] if "ms" in r]
    refs = [r for r in steps if r["impl"] == "reference"]
    if refs:
        ref = max(refs, key=lambda r: r["batch"])
        others = [r for r in steps if r is not ref and r["batch"] == ref["batch"]]
        if others:
            parts = ", ".join(f"{IMPL_NAMES[r['impl']]} on {r['device']} {fmt_ratio(speedup(ref, r))}" for r in others)
            lines.append(f"- One MLP training step (batch {ref['batch']}): pure-Python reference "
                         f"{fmt(ref['ms'])} ms; {parts} faster.")
    return lines


# Peak memory allowance per row beyond the logits (and their gradient): int64 targets, the float32
# loss and lse, and a little slack; the goal is "the logits, their gradient and O(N) more".
CE_ROW_BYTES = 32
# Timing noise allowed when comparing with the fastest peer.
PEER_NOISE = 1.02


def targets(doc: dict) -> list[list]:
    """The speed goals, each with what this run measured and whether it is met: judged on a call's
    time, then again on the GPU's time alone (CUDA-graph replay) where the run has it; then peak
    memory and memory safety.

    Rows are [area, goal, measured, target, met]; every ratio is between numbers of this run."""
    graphs = graph_view(doc)
    return (_speed_targets(doc, "") + (_speed_targets(graphs, ", GPU time alone") if graphs else [])
            + _memory_targets(doc))


def _check(out: list, area, what, value, target, met) -> None:
    out.append([area, what, value if met is not None else "not measured", target,
                {True: "yes", False: "**no**", None: "—"}[met]])


def _count(verdicts) -> tuple:
    return f"{sum(verdicts)} of {len(verdicts)}", (all(verdicts) if verdicts else None)


def _speed_targets(doc: dict, timing: str) -> list[list]:
    ceil = measured_ceilings(doc)
    out = []
    ours = _ce_row(doc, "bf16", 8192, 32000, "fwd+bwd", "ours")
    timed = bool(ours and "ms" in ours)
    frac = tb_per_s(ours["bytes"], ours["ms"]) / ceil["copy"] if timed and "copy" in ceil else None
    _check(out, "cross-entropy", f"fwd+bwd bf16 8192×32000{timing}: bandwidth / copy bandwidth", fmt_pct(frac),
           ">= 80%", None if frac is None else frac >= 0.8)
    sec = doc["sections"]["cross_entropy"]["rows"]
    verdicts = []
    for dtype, n, v in sorted({(r["dtype"], r["n"], r["v"]) for r in sec if r["mode"] == "fwd+bwd"}):
        mine = _ce_row(doc, dtype, n, v, "fwd+bwd", "ours")
        times = [t["ms"] for t in (_ce_row(doc, dtype, n, v, "fwd+bwd", p) for p in CE_PEERS) if t and "ms" in t]
        if mine and "ms" in mine and times:
            verdicts.append(mine["ms"] <= PEER_NOISE * min(times))
    _check(out, "cross-entropy", f"fwd+bwd, every V and dtype{timing}: not slower than the fastest of eager, "
           f"torch.compile, Liger (+{PEER_NOISE - 1:.0%} noise)", *_count(verdicts)[:1], "all", _count(verdicts)[1])
    lin = doc["sections"]["linear_act"]["rows"]
    for m, k, n in ((16384, 1024, 4096), (8192, 4096, 4096)):
        matmul = _linear_row(doc, "bf16", m, k, n, "none", "fwd", "matmul")
        ratios = [speedup(matmul, r) for r in lin if (r["m"], r["k"], r["n"], r["dtype"], r["mode"], r["impl"])
                  == (m, k, n, "bf16", "fwd", "ours") and "ms" in r]
        ratios = [x for x in ratios if x is not None]
        _check(out, "linear + act", f"fwd bf16 {m}×{k}×{n}, every activation{timing}: worst throughput / matmul "
               "alone", fmt_pct(min(ratios)) if ratios else None, ">= 95%", min(ratios) >= 0.95 if ratios else None)
        for act in ("relu", "gelu_tanh"):
            mine = _linear_row(doc, "bf16", m, k, n, act, "fwd+bwd", "ours")
            three = _linear_row(doc, "bf16", m, k, n, "none", "fwd+bwd", "matmul")
            s = speedup(mine, three)  # our time / the three matmuls' time
            _check(out, "linear + act", f"{act} fwd+bwd bf16 {m}×{k}×{n}{timing}: time / the three matmuls alone",
                   fmt_ratio(s), "<= 1.10×", None if s is None else s <= 1.10)
    for act in ("relu", "gelu_tanh"):
        s = speedup(_linear_row(doc, "bf16", 4096, 784, 1024, act, "fwd+bwd", "eager"),
                    _linear_row(doc, "bf16", 4096, 784, 1024, act, "fwd+bwd", "ours"))
        _check(out, "linear + act", f"{act} fwd+bwd bf16 4096×784×1024{timing}: speedup over torch eager",
               fmt_ratio(s), ">= 1.5×", None if s is None else s >= 1.5)
    return out


def _memory_targets(doc: dict) -> list[list]:
    out = []
    sec = doc["sections"]["cross_entropy"]["rows"]
    for impl, copies, what in (("ours", 2, "logits + gradient"), ("ours_inplace", 1, "logits")):
        verdicts = []
        for r in sec:
            if r["impl"] == impl and r["mode"] == "fwd+bwd" and "peak_extra_bytes" in r:
                logits = r["n"] * r["v"] * DTYPE_BYTES[r["dtype"]]
                verdicts.append(r["inputs_bytes"] + r["peak_extra_bytes"] <= copies * logits + CE_ROW_BYTES * r["n"])
        _check(out, "cross-entropy", f"{IMPL_NAMES[impl]}: peak memory <= {what} + {CE_ROW_BYTES} B a row",
               *_count(verdicts)[:1], "all", _count(verdicts)[1])
    errors = [r.get("sanitizer_errors") for r in doc["environment"].get("gpu_check", [])
              if r.get("step") == "sanitizer" and r.get("status") in ("ok", "failed")]
    errors = [e for e in errors if e is not None]
    _check(out, "memory safety", "compute-sanitizer errors (memcheck, racecheck) in python -m report gpu-check",
           str(sum(errors)) if errors else None, "0", (sum(errors) == 0) if errors else None)
    return out


# ------------------------------------------------------------------------------------------------
# The document
# ------------------------------------------------------------------------------------------------
def gpu_check_table(doc: dict) -> list[str]:
    """The steps of ``python -m report gpu-check`` that produced this run, when it did."""
    steps = doc["environment"].get("gpu_check")
    if not steps:
        return []
    body = [[r["step"], r["status"], fmt(r.get("seconds")), r.get("reason") or r.get("summary") or
             (f"{r['sanitizer_errors']} errors" if r.get("sanitizer_errors") is not None else "")] for r in steps]
    return ["", "### python -m report gpu-check", ""] + table(["step", "status", "s", "outcome"], body)


def render(doc: dict, plots: dict, results_name: str = "results.json") -> str:
    """The whole README; ``plots`` maps a plot's key ("ce_fwd+bwd", ...) to its relative path."""
    env = doc["environment"]
    secs = doc["sections"]
    notes = Footnotes()
    gpu_ran = any(secs[s]["status"] != "skipped" for s in GPU_SECTIONS)
    out = ["# Speedup report", ""]
    if doc["synthetic"]:
        out += ["> **SYNTHETIC TEST FIXTURE: every number below is invented to test the renderer. "
                "These are not measurements.**", ""]
    out += [f"Generated by `python -m report` from `{results_name}`. Measured {env['date']} on "
            f"**{env.get('device') or 'a machine without a CUDA GPU'}**"
            + (f" (driver {env['driver']}, CUDA {env['cuda']})" if env.get("device") else "")
            + f"; torch {env.get('torch')}, triton {env.get('triton')}, Python {env.get('python')}"
            + (f", code at {env['git']}" if env.get("git") else "") + ".", ""]
    if not gpu_ran:
        out += ["> **GPU measurements pending.** This run had no CUDA device, so the GPU sections "
                "(ceilings, cross-entropy, linear + activation, and the GPU rows of the teaching figure) "
                "were skipped; only the CPU numbers below are measurements. On a machine with an NVIDIA "
                "GPU, `python -m report gpu-check --out DIR` measures them (and checks the kernels there).", ""]
    lines = headline(doc)
    if lines:
        out += ["## Headline numbers", ""] + lines + [""]
    if gpu_ran:
        out += ["## Speed goals", ""]
        out += table(["area", "target", "measured", "goal", "met"], targets(doc))
        out += gpu_check_table(doc)
    titled = (("ceilings", "Ceilings measured in this run", render_ceilings),
              ("cross_entropy", "Softmax cross-entropy", render_cross_entropy),
              ("linear_act", "Fused linear + activation", render_linear),
              ("mlp_step", "Teaching figure: one MLP training step", render_mlp_step),
              ("cpu_reference", "CPU benchmarks of the reference (pytest-benchmark)", render_cpu_reference))
    for name, title, fn in titled:
        sec = secs[name]
        out += [f"## {title}", ""]
        if sec["status"] == "skipped" or not sec["rows"]:
            out += [f"Skipped: {'; '.join(sec['notes']) or 'not run'}.", ""]
            continue
        out += fn(doc, notes)
        graphs = graph_view(doc) if name in ("cross_entropy", "linear_act") else None
        if graphs:
            out += [f"### {GRAPH_TITLE}", "",
                    "The same cases replayed from a CUDA graph captured on one input set: the GPU's time "
                    "without the host's work to issue the call (argument checks, autograd, launches), which "
                    "the tables above include. A cell says why where a case could not be captured.", ""]
            out += fn(graphs, notes, timing=" — GPU time alone")
        out += render_autotune(sec)
        out += [f"![{key}]({path})" for key, path in plots.items() if key.startswith(name)] + [""]
    if notes.texts:
        out += ["## Failures", ""] + notes.render()
    out += ["## Environment", ""]
    out += table(["", ""], [[k, v] for k, v in sorted(env.items()) if v is not None])
    out += ["## Reproduce", "",
            "```sh",
            "python -m report --out report/    # everything this machine can run, into report/ "
            "(without --out: out/report/, git-ignored)",
            "python -m report --quick --out /tmp/r    # a fast sanity run (fewer shapes, shorter timing)",
            "python -m report gpu-check --out /tmp/gc  # on a GPU: tests, sanitizer, the goals' benchmarks, this report",
            f"python -m report --from report/{results_name} --out /tmp/r   # re-render saved results",
            "python -m pytest report/benchmarks --benchmark-enable   # the CPU benchmarks alone",
            "```", ""]
    if gpu_ran:
        out += ["GPU timings are medians of `triton.testing.do_bench` (L2 flushed before each call, inputs "
                "rotated when smaller than twice the L2), with the 20th–80th percentiles as spread; a call's time "
                "includes the host's work before its first kernel starts, a CUDA-graph replay's does not; ceilings "
                "are measured in the same run. report/NOTES.md lists each shape's floor and what the "
                "kernels' designs predict.", ""]
    out += ["CPU timings are the minimum over rounds (other processes only ever add time, so the least "
            "disturbed round is the one another machine reproduces), with the median and maximum as spread; "
            "torch on the CPU runs on one thread, like the reference.", ""]
    return "\n".join(out)
