"""PNG figures (matplotlib, Agg backend: no display needed) drawn from a results document."""
from __future__ import annotations

from pathlib import Path

from .metrics import MATMUL_CEILING, tb_per_s, tflop_per_s
from .render import CE_PEERS, DTYPE_ORDER, IMPL_NAMES, LINEAR_PEERS, fmt, fmt_ratio, measured_ceilings

CE_IMPLS = ("ours", "ours_inplace") + CE_PEERS
LINEAR_IMPLS = ("ours",) + LINEAR_PEERS + ("matmul",)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    # no timestamp in the file, so an unchanged figure gives an unchanged PNG
    fig.savefig(path, dpi=110, metadata={"Software": None})
    fig.clf()


def cross_entropy_plot(doc: dict, mode: str, path: Path) -> bool:
    """Achieved bandwidth against V, a line per implementation, a panel per dtype; False if no data."""
    rows = [r for r in doc["sections"]["cross_entropy"]["rows"] if r["mode"] == mode and "ms" in r]
    if not rows:
        return False
    plt = _pyplot()
    dtypes = sorted({r["dtype"] for r in rows}, key=DTYPE_ORDER.get)
    fig, axes = plt.subplots(1, len(dtypes), figsize=(5.5 * len(dtypes), 4), squeeze=False)
    copy = measured_ceilings(doc).get("copy")
    for ax, dtype in zip(axes[0], dtypes):
        for impl in CE_IMPLS:
            pts = sorted((r["v"], tb_per_s(r["bytes"], r["ms"])) for r in rows
                         if r["dtype"] == dtype and r["impl"] == impl)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=IMPL_NAMES[impl])
        if copy:
            ax.axhline(copy, color="gray", linestyle="--", label=f"copy bandwidth {copy:.2f} TB/s")
        ax.set_xscale("log")
        ax.set_xlabel("V (classes)")
        ax.set_ylabel("TB/s (minimal bytes / time)")
        ax.set_title(f"cross-entropy {mode}, {dtype}")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)
    return True


def linear_plot(doc: dict, mode: str, path: Path) -> bool:
    """TFLOP/s per shape and activation, bars per implementation, a panel per dtype; False if no data."""
    rows = [r for r in doc["sections"]["linear_act"]["rows"] if r["mode"] == mode and "ms" in r]
    if not rows:
        return False
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter

    dtypes = sorted({r["dtype"] for r in rows}, key=DTYPE_ORDER.get)
    ceilings = measured_ceilings(doc)
    fig, axes = plt.subplots(len(dtypes), 1, figsize=(12, 4 * len(dtypes)), squeeze=False)
    for ax, dtype in zip(axes[:, 0], dtypes):
        mine = [r for r in rows if r["dtype"] == dtype]
        groups = sorted({(r["m"], r["k"], r["n"], r["activation"]) for r in mine if r["impl"] != "matmul"},
                        key=lambda g: (-g[0] * g[1] * g[2], g[3]))
        width = 0.8 / len(LINEAR_IMPLS)
        for j, impl in enumerate(LINEAR_IMPLS):
            heights = []
            for m, k, n, act in groups:
                key_act = "none" if impl == "matmul" else act
                key = (m, k, n, key_act, impl)
                hit = [r for r in mine if (r["m"], r["k"], r["n"], r["activation"], r["impl"]) == key]
                heights.append(tflop_per_s(hit[0]["flops"], hit[0]["ms"]) if hit else 0.0)
            ax.bar([i + j * width for i in range(len(groups))], heights, width, label=IMPL_NAMES[impl], color=f"C{j}")
        peak = ceilings.get(MATMUL_CEILING[dtype])
        if peak:
            ax.axhline(peak, color="gray", linestyle="--", label=f"matmul ceiling {peak:.0f} TFLOP/s")
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))])
        ax.set_xticklabels([f"{m}×{k}\n×{n}\n{act}" for m, k, n, act in groups], fontsize=7)
        # log scale: the launch-bound digits shapes run at a hundredth of the large ones' rate
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylabel("TFLOP/s (log scale)")
        ax.set_title(f"linear + activation {mode}, {dtype}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, path)
    plt.close(fig)
    return True


def mlp_step_plot(doc: dict, path: Path) -> bool:
    """Time per training step on a log axis, one bar per implementation and batch; False if no data."""
    rows = sorted((r for r in doc["sections"]["mlp_step"]["rows"] if "ms" in r),
                  key=lambda r: (r["batch"], -r["ms"]))
    if not rows:
        return False
    plt = _pyplot()
    refs = {r["batch"]: r["ms"] for r in rows if r["impl"] == "reference"}
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) + 1.5))
    labels = [f"{IMPL_NAMES.get(r['impl'], r['impl'])} ({r['device']}, {r.get('dtype', '')}), batch {r['batch']}"
              for r in rows]
    kinds = list(dict.fromkeys((r["impl"], r["device"]) for r in rows))  # one colour per implementation
    colors = [f"C{kinds.index((r['impl'], r['device']))}" for r in rows]
    ax.barh(range(len(rows)), [r["ms"] for r in rows], color=colors)
    for i, r in enumerate(rows):
        ref = refs.get(r["batch"])
        faster = f"  ({fmt_ratio(ref / r['ms'])} faster)" if ref and r["impl"] != "reference" else ""
        text = f" {fmt(r['ms'])} ms{faster}"
        ax.text(r["ms"], i, text, va="center", fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms per training step (log scale)")
    ax.set_title("the same MLP training step, from the same weights")
    ax.set_xlim(right=max(r["ms"] for r in rows) * 30)
    _save(fig, path)
    plt.close(fig)
    return True


def write_plots(doc: dict, out_dir: Path) -> dict:
    """Draw every figure the data supports into ``out_dir/plots``; {key: path relative to out_dir}."""
    plot_dir = Path(out_dir) / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    made = {}
    jobs = [(f"cross_entropy_{m}", lambda p, m=m: cross_entropy_plot(doc, m, p)) for m in ("fwd+bwd", "fwd_nograd")]
    jobs += [(f"linear_act_{m}", lambda p, m=m: linear_plot(doc, m, p)) for m in ("fwd", "fwd+bwd")]
    jobs += [("mlp_step", lambda p: mlp_step_plot(doc, p))]
    for key, draw in jobs:
        name = key.replace("+", "_") + ".png"
        if draw(plot_dir / name):
            made[key] = f"plots/{name}"
        elif (plot_dir / name).exists():  # a stale figure from an earlier run would contradict the tables
            (plot_dir / name).unlink()
    return made
