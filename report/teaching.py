"""python -m report teaching: the course's figures, drawn from the worked examples in reference/course.

    python -m report teaching                   writes the PNGs to report/teaching/ (committed)
    python -m report teaching --out DIR         somewhere else

Each figure comes from the numbers a worked example computes (the example runs on import), so a
figure and the example it illustrates cannot disagree. Everything is seeded: the same code gives
the same PNGs. About 20-40 s on 2 cores.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import math
from pathlib import Path

OUT = Path(__file__).resolve().parent / "teaching"


def _example(name):
    """The worked example's module; running it on first import, its printout is not shown."""
    with contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module(f"reference.course.{name}")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100, metadata={"Software": None})  # no timestamp: same figure, same bytes
    _pyplot().close(fig)


def activations(plt, path):
    """σ and σ' for the sigmoid with λ varied, and step, tanh, ReLU."""
    from reference.activations import get_activation

    xs = [i / 20 for i in range(-100, 101)]
    sig = get_activation("sigmoid")
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for lam in (0.5, 1.0, 2.0, 5.0):
        axes[0][0].plot(xs, [sig.f(x, lam=lam) for x in xs], label=f"λ = {lam}")
        axes[1][0].plot(xs, [sig.df(x, lam=lam) for x in xs], label=f"λ = {lam}")
    axes[0][0].set_title("sigmoid σ(ξ) = 1 / (1 + e^(-λξ))")
    axes[1][0].set_title("its derivative σ'(ξ) = λ σ (1 - σ): λ/4 at 0")
    labels = {"bipolar_sigmoid": "tanh(ξ/2) (PV021's 'tanh')", "identity": "linear (identity)"}
    for name in ("step", "tanh", "relu", "bipolar_sigmoid", "identity"):
        act = get_activation(name)
        axes[0][1].plot(xs, [act.f(x) for x in xs], label=labels.get(name, name))
        axes[1][1].plot(xs, [act.df(x) for x in xs], label=labels.get(name, name))
    axes[0][1].set_title("step, tanh, ReLU, tanh(ξ/2), linear")
    axes[0][1].set_ylim(-1.2, 2.5)
    axes[1][1].set_title("their derivatives (step: 0 almost everywhere)")
    axes[1][1].set_ylim(-0.1, 1.2)
    for ax in (a for row in axes for a in row):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_xlabel("ξ")
        ax.legend(fontsize=8)
    for ax in axes[0]:
        ax.set_ylabel("σ(ξ)")
    for ax in axes[1]:
        ax.set_ylabel("σ'(ξ)")
    _save(fig, path)


def _grid(f, xlim, ylim, n):
    xs = [xlim[0] + (xlim[1] - xlim[0]) * i / (n - 1) for i in range(n)]
    ys = [ylim[0] + (ylim[1] - ylim[0]) * j / (n - 1) for j in range(n)]
    return xs, ys, [[f(x, y) for x in xs] for y in ys]


def _contour(plt, ax, f, xlim, ylim, n=60, boundary=True):
    """A probability in continuous colour (0 to 1), and the line P = 0.5 only where P crosses it by more
    than 0.01: filled bands or a level inside a tiny range of values would draw a boundary that is not there."""
    xs, ys, zs = _grid(f, xlim, ylim, n)
    bands = ax.pcolormesh(xs, ys, zs, cmap="coolwarm", vmin=0.0, vmax=1.0, shading="gouraud", rasterized=True)
    flat = [z for row in zs for z in row]
    if boundary and min(flat) < 0.49 and max(flat) > 0.51:
        ax.contour(xs, ys, zs, levels=[0.5], colors="k", linewidths=1)
    return bands, min(flat), max(flat)


def boundaries(plt, path):
    """XOR: the step network's regions and PV021's two lines; the patients: P(disease) raw vs standardized."""
    from reference.boolean import XOR

    pat = _example("patients")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    ax = axes[0]
    cs, _, _ = _contour(plt, ax, lambda a, b: float(XOR([a, b])), (-0.5, 1.5), (-0.5, 1.5), n=81,
                         boundary=False)  # the lines P1, P2 are drawn exactly below
    fig.colorbar(cs, ax=ax, label="network output y")
    line = [-0.5, 1.5]
    ax.plot(line, [0.5 - v for v in line], "k--", label="P1: -1 + 2x1 + 2x2 = 0")
    ax.plot(line, [1.5 - v for v in line], "k:", label="P2: 3 - 2x1 - 2x2 = 0")
    for (a, b), d in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [0, 1, 1, 0]):
        ax.scatter([a], [b], c="red" if d else "blue", s=90, edgecolors="w", linewidths=2, zorder=3)
    ax.set_ylim(-0.5, 1.5)
    ax.set_title("XOR: the two-layer step network (red = 1)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize=8, loc="upper right")
    xlim, ylim = (20, 75), (105, 195)
    for ax, net, scaled, title in ((axes[1], pat.net_raw, False, "raw inputs"), (axes[2], pat.net_std, True,
                                                                                 "standardized inputs")):
        def prob(age, bp, net=net, scaled=scaled):
            x = [(age - pat.means[0]) / pat.stds[0], (bp - pat.means[1]) / pat.stds[1]] if scaled else [age, bp]
            return net.forward(x)[0]
        cs, low, high = _contour(plt, ax, prob, xlim, ylim, n=45)
        title += f": P from {low:.3f} to {high:.3f}" + (" (the base rate 9/15 everywhere)" if high - low < 0.01 else "")
        for (age, bp), d in zip(pat.X, pat.y):
            ax.scatter([age], [bp], c="red" if d else "blue", s=40, edgecolors="k", zorder=3)
        ax.scatter([a for a, _ in pat.X_new], [b for _, b in pat.X_new], marker="*", s=200, c="yellow",
                   edgecolors="k", zorder=4, label="new patients")
        ax.set_title(f"patients, {title}", fontsize=10)
        ax.set_xlabel("age")
        ax.set_ylabel("blood pressure")
        ax.legend(fontsize=8, loc="upper left")
        fig.colorbar(cs, ax=ax, label="P(disease)")
    _save(fig, path)


def convergence(plt, path):
    """Perceptron mistakes per epoch; the delta rule's error per epoch."""
    from matplotlib.ticker import MaxNLocator

    per = _example("perceptron")
    dr = _example("delta_rule")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.bar(range(1, len(per.big.errors) + 1), per.big.errors, label="200 separable points")
    ax.plot(range(1, 21), per.runs["XOR"].errors, "r.-", label="XOR (never converges)")
    ax.set_title(f"perceptron rule: mistakes per epoch (total {per.mistakes_big} <= bound {per.bound_big:.0f})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    ax = axes[1]
    ax.semilogy(range(1, len(dr.errors) + 1), dr.errors)
    ax.set_title("delta rule with a sigmoid, AND: E = ½ Σ (d - y)²")
    ax.set_xlabel("epoch")
    ax.set_ylabel("E")
    _save(fig, path)


def optimizer_paths(plt, path):
    """The two-weight loss surface with each optimizer's path at its best η (and GD at a cautious one)."""
    opt = _example("optimizers")
    fig, ax = plt.subplots(figsize=(9, 6))
    points = [w for p in opt.paths.values() for w in p] + [tuple(opt.W_MIN)]
    (lo1, hi1), (lo2, hi2) = ((min(v), max(v)) for v in zip(*points))
    pad1, pad2 = 0.1 * (hi1 - lo1), 0.1 * (hi2 - lo2)
    w1s, w2s, zs = _grid(lambda a, b: math.log10(opt.loss([a, b])), (lo1 - pad1, hi1 + pad1), (lo2 - pad2, hi2 + pad2),
                         80)
    cs = ax.contour(w1s, w2s, zs, levels=20, cmap="viridis", linewidths=0.7)
    fig.colorbar(cs, ax=ax, label="log10 E")
    for (name, p), style in zip(opt.paths.items(), ("o-", ".-", "s-", "^-", "x--")):
        ax.plot([w[0] for w in p], [w[1] for w in p], style, ms=3, lw=1, label=name)
    ax.plot(*opt.W_MIN, "k*", ms=14, label="minimum")
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title("60 steps of each optimizer, each at its best η (GD stable for η < 2/λmax = "
                 f"{2 / opt.LAMBDA_MAX:.2f})", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)


def learning_curves(plt, path):
    """Training and validation loss: overfitting, L2, dropout, early stopping."""
    reg = _example("regularization")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
    titles = {"plain": "no regularization: overfitting", "l2": "L2, λ = 0.1", "dropout": "dropout, p = 0.3"}
    for ax, key in zip(axes, ("plain", "l2", "dropout")):
        train, val = reg.curves[key]
        epochs = range(1, len(train) + 1)
        ax.plot(epochs, train, label="training loss")
        ax.plot(epochs, val, label="validation loss")
        ax.set_title(titles[key])
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1.6)
    axes[0].axvline(reg.early.best_epoch, color="k", ls="--", lw=1,
                    label=f"early stopping keeps epoch {reg.early.best_epoch}")
    axes[0].axvline(len(reg.early), color="0.5", ls=":", lw=1, label=f"... and stops at {len(reg.early)}")
    axes[0].set_ylabel("binary cross-entropy")
    for ax in axes:
        ax.legend(fontsize=8)
    _save(fig, path)


def learning_rate_sweep(plt, path):
    """Gradient descent with η from 0.01 to 100: the loss curves, and the quadratic's iterates."""
    lr = _example("learning_rate")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    ax = axes[0]
    for eta, path_ in lr.quadratic.items():
        ax.plot(range(len(path_)), path_, ".-", label=f"η a = {eta * lr.a:.2f}")
    ax.set_ylim(-2.5, 2.5)
    ax.set_title("E = ½ a w²: w ← (1 - η a) w")
    ax.set_xlabel("step")
    ax.set_ylabel("w")
    ax.legend(fontsize=8)
    ax = axes[1]
    for eta, losses in lr.sweep.items():
        best = " (best over the window)" if eta == lr.best_eta else ""
        ax.semilogy(range(1, len(losses) + 1), losses, label=f"η = {eta}{best}")
    ax.axvspan(len(losses) - lr.WINDOW + 1, len(losses), color="0.9", label=f"window: last {lr.WINDOW} steps")
    ax.set_title("a 2-8-1 network, gradient descent: too small, right, too large")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (BCE)")
    ax.legend(fontsize=8)
    _save(fig, path)


def approximation(plt, path):
    """One hidden layer of ReLU hinges or sigmoid steps fitting f; the error against the width; the set hint."""
    from reference.approximation import hinge_network, sigmoid_staircase

    ap = _example("approximation")
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
    ax = axes[0]
    n = 4
    knots = [k / n for k in range(n + 1)]
    values = [ap.f(t) for t in knots]
    relu, sigmoid = hinge_network(knots, values), sigmoid_staircase(knots, values, steepness=10 * n)
    ax.plot(ap.XS, [ap.f(x) for x in ap.XS], "k", lw=2, label="f(x) = 0.5 + 0.4 sin 2πx")
    ax.plot(ap.XS, [relu.forward([x])[0] for x in ap.XS], label=f"{n} ReLU hinges (broken line)")
    ax.plot(ap.XS, [sigmoid.forward([x])[0] for x in ap.XS], label=f"{n} sigmoid steps")
    ax.plot(knots, values, "ko", ms=4)
    ax.set_title(f"one hidden layer of {n} neurons")
    ax.set_xlabel("x")
    ax.set_ylabel("output")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.loglog(ap.WIDTHS, ap.errors["relu"], "o-", label="ReLU hinges (÷4 per doubling)")
    ax.loglog(ap.WIDTHS, ap.errors["sigmoid"], "s-", label="sigmoid staircase (÷2 per doubling)")
    ax.loglog(ap.WIDTHS, [ap.max_f2 / (8 * w * w) for w in ap.WIDTHS], "k:", label="bound h² max|f''| / 8")
    ax.minorticks_off()
    ax.set_xticks(ap.WIDTHS, [str(w) for w in ap.WIDTHS])
    ax.set_title("max error against the number of hidden neurons")
    ax.set_xlabel("hidden neurons n")
    ax.set_ylabel("max |f - F| on [0, 1]")
    ax.legend(fontsize=8)
    ax = axes[2]
    for a, b in ap.A:
        ax.axvspan(a, b, color="0.88")
    for name, g in (("unsigned", ap.unsigned_distance), ("signed", ap.signed_distance)):
        net = hinge_network(ap.knots16, [g(t) for t in ap.knots16])
        ax.plot(ap.XS, [net.forward([x])[0] for x in ap.XS],
                label=f"{name} distance: 'F > 0' wrong on {ap.wrong[name]:.0%}")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_title("PV021's hint for sets (A shaded): the distance must be signed", fontsize=10)
    ax.set_xlabel("x")
    ax.set_ylabel("network output F(x), 16 hinges")
    ax.legend(fontsize=8)
    _save(fig, path)


def depth(plt, path):
    """Parity's hidden neurons by construction; the sawtooth's pieces doubling with each layer."""
    from matplotlib.ticker import MaxNLocator

    from reference.approximation import sawtooth_network

    dp = _example("depth")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    ax = axes[0]
    sizes = list(dp.SIZES)
    for (name, counts), style in zip(dp.hidden.items(), ("o-", "s-", "^-")):
        ax.semilogy(sizes, counts, style, label=name)
    ax.set_title("parity of n bits: hidden neurons of three exact networks")
    ax.set_xlabel("n (bits)")
    ax.set_ylabel("hidden neurons")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax = axes[1]
    xs = [i / 512 for i in range(513)]
    for k in (1, 2, 3, 4):
        net = sawtooth_network(k)
        ax.plot(xs, [net.forward([x])[0] for x in xs],
                label=f"depth {k}: {2 * k} ReLUs, {dp.sawtooth_pieces[k]} pieces")
    ax.set_title("the tent map composed k times: 2^k pieces from 2k ReLUs")
    ax.set_xlabel("t")
    ax.set_ylabel("g(g(...g(t)))")
    ax.legend(fontsize=8, loc="lower right")
    _save(fig, path)


def regions(plt, path):
    """Step networks' regions: a triangle (2 layers), a union of two (3 layers), a disk covered by squares."""
    from reference.regions import grid_cover

    rg = _example("regions")
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    panels = [(rg.convex_net, "triangle: 3 half-planes, AND"), (rg.union_net, "union of two triangles: OR of ANDs")]
    for m in (4, 16):
        panels.append((grid_cover(rg.meets_disk, m), f"disk r = {rg.RADIUS}, {m} x {m} grid: area wrong "
                                                           f"{rg.cover_error[m]:.2f}"))
    for ax, (net, title) in zip(axes, panels):
        xs, ys, zs = _grid(lambda x, y, net=net: float(net([x, y])), (-1, 1), (-1, 1), 121)
        ax.contourf(xs, ys, zs, levels=[-0.5, 0.5, 1.5], colors=["white", "tab:blue"], alpha=0.7)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    for ax in axes[2:]:
        t = [2 * math.pi * i / 200 for i in range(201)]
        ax.plot([rg.RADIUS * math.cos(v) for v in t], [rg.RADIUS * math.sin(v) for v in t], "k", lw=1)
    fig.suptitle("step networks in the plane: blue where the output is 1", fontsize=10)
    _save(fig, path)


def softmax_temperature(plt, path):
    """Softmax of the same scores at several temperatures."""
    sm = _example("softmax")
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(sm.tempered)
    for k, (T, q) in enumerate(sm.tempered.items()):
        ax.bar([i + (k - len(sm.tempered) / 2 + 0.5) * width for i in range(len(q))], q, width, label=f"T = {T}")
    ax.set_xticks(range(len(sm.scores)), [f"score a_{i + 1} = {a}" for i, a in enumerate(sm.scores)])
    ax.set_ylabel("p_i = softmax(a / T)_i")
    ax.set_ylim(0, 1.05)
    ax.set_title("temperature: T → 0 gives the arg max, T → ∞ the uniform distribution")
    ax.legend(fontsize=8)
    _save(fig, path)


def chain_rule(plt, path):
    """y = sin(x²), its derivative by the chain rule, and the central differences that check it."""
    cr = _example("chain_rule")
    xs = [i / 100 for i in range(-320, 321)]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, [cr.y(x) for x in xs], label="y = sin(x²)")
    ax.plot(xs, [cr.dy_dx(x) for x in xs], label="dy/dx = cos(x²) · 2x (chain rule)")
    ax.plot(list(cr.checks), [c[1] for c in cr.checks.values()], "ko", label="central differences")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel("x")
    ax.set_ylabel("value")
    ax.set_title(f"the chain rule, checked: largest difference {cr.worst:.0e}")
    ax.legend(fontsize=8)
    _save(fig, path)


FIGURES = {
    "activations.png": activations,
    "decision_boundaries.png": boundaries,
    "convergence.png": convergence,
    "optimizer_paths.png": optimizer_paths,
    "learning_curves.png": learning_curves,
    "learning_rate_sweep.png": learning_rate_sweep,
    "approximation.png": approximation,
    "depth.png": depth,
    "regions.png": regions,
    "softmax_temperature.png": softmax_temperature,
    "chain_rule.png": chain_rule,
}


def write(out: Path = OUT, names=None) -> list[Path]:
    """Draw the figures (all, or those in ``names``) into ``out``; returns their paths."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name, draw in FIGURES.items():
        if names is None or name in names:
            draw(plt, out / name)
            made.append(out / name)
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report teaching", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, metavar="DIR", help=f"where to write (default: {OUT})")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(f"wrote {path}")
    return 0
