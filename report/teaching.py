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
    for name in ("step", "tanh", "relu", "bipolar_sigmoid"):
        act = get_activation(name)
        label = "tanh(ξ/2) (PV021's 'tanh')" if name == "bipolar_sigmoid" else name
        axes[0][1].plot(xs, [act.f(x) for x in xs], label=label)
        axes[1][1].plot(xs, [act.df(x) for x in xs], label=label)
    axes[0][1].set_title("step, tanh, ReLU, tanh(ξ/2)")
    axes[0][1].set_ylim(-1.2, 2.5)
    axes[1][1].set_title("their derivatives (step: 0 almost everywhere)")
    for ax in (a for row in axes for a in row):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_xlabel("ξ")
        ax.legend(fontsize=8)
    _save(fig, path)


def _contour(plt, ax, f, xlim, ylim, n=60):
    xs = [xlim[0] + (xlim[1] - xlim[0]) * i / (n - 1) for i in range(n)]
    ys = [ylim[0] + (ylim[1] - ylim[0]) * j / (n - 1) for j in range(n)]
    zs = [[f(x, y) for x in xs] for y in ys]
    return ax.contourf(xs, ys, zs, levels=[i / 10 for i in range(11)], cmap="RdBu_r", alpha=0.6)


def boundaries(plt, path):
    """XOR: the step network's regions and PV021's two lines; the patients: P(disease) raw vs standardized."""
    from reference.boolean import XOR

    pat = _example("patients")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    ax = axes[0]
    _contour(plt, ax, lambda a, b: float(XOR([a, b])), (-0.5, 1.5), (-0.5, 1.5), n=81)
    line = [-0.5, 1.5]
    ax.plot(line, [0.5 - v for v in line], "k--", label="P1: -1 + 2x1 + 2x2 = 0")
    ax.plot(line, [1.5 - v for v in line], "k:", label="P2: 3 - 2x1 - 2x2 = 0")
    for (a, b), d in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [0, 1, 1, 0]):
        ax.scatter([a], [b], c="red" if d else "blue", s=80, edgecolors="k", zorder=3)
    ax.set_ylim(-0.5, 1.5)
    ax.set_title("XOR: the two-layer step network (red = 1)")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize=8, loc="upper right")
    xlim, ylim = (20, 75), (105, 195)
    for ax, net, scaled, title in ((axes[1], pat.net_raw, False, "raw inputs: P ≈ 0.6, the base rate, everywhere"),
                                   (axes[2], pat.net_std, True, "standardized inputs")):
        def prob(age, bp, net=net, scaled=scaled):
            x = [(age - pat.means[0]) / pat.stds[0], (bp - pat.means[1]) / pat.stds[1]] if scaled else [age, bp]
            return net.forward(x)[0]
        cs = _contour(plt, ax, prob, xlim, ylim, n=45)
        for (age, bp), d in zip(pat.X, pat.y):
            ax.scatter([age], [bp], c="red" if d else "blue", s=40, edgecolors="k", zorder=3)
        ax.scatter([a for a, _ in pat.X_new], [b for _, b in pat.X_new], marker="*", s=200, c="yellow",
                   edgecolors="k", zorder=4, label="new patients")
        ax.set_title(f"patients, {title}")
        ax.set_xlabel("age")
        ax.set_ylabel("blood pressure")
        ax.legend(fontsize=8, loc="upper left")
    fig.colorbar(cs, ax=axes[2], label="P(disease)")
    _save(fig, path)


def convergence(plt, path):
    """Perceptron mistakes per epoch; the delta rule's error per epoch."""
    per = _example("perceptron")
    dr = _example("delta_rule")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.bar(range(1, len(per.big.errors) + 1), per.big.errors, label="200 separable points")
    ax.plot(range(1, 21), per.runs["XOR"].errors, "r.-", label="XOR (never converges)")
    ax.set_title(f"perceptron rule: mistakes per epoch (total {per.mistakes_big} <= bound {per.bound_big:.0f})")
    ax.set_xlabel("epoch")
    ax.legend()
    ax = axes[1]
    ax.semilogy(range(1, len(dr.errors) + 1), dr.errors)
    ax.set_title("delta rule with a sigmoid, AND: E = ½ Σ (d - y)²")
    ax.set_xlabel("epoch")
    ax.set_ylabel("E")
    _save(fig, path)


def optimizer_paths(plt, path):
    """The two-weight loss surface with the paths of GD, SGD, momentum and Adam."""
    opt = _example("optimizers")
    fig, ax = plt.subplots(figsize=(8, 6))
    n = 80
    w1s = [-1.5 + 3.7 * i / (n - 1) for i in range(n)]
    w2s = [-3.5 + 6.0 * j / (n - 1) for j in range(n)]
    zs = [[math.log10(opt.loss([a, b])) for a in w1s] for b in w2s]
    ax.contour(w1s, w2s, zs, levels=20, cmap="viridis", linewidths=0.7)
    for (name, p), style in zip(opt.paths.items(), ("o-", ".-", "s-", "^-")):
        ax.plot([w[0] for w in p], [w[1] for w in p], style, ms=3, lw=1, label=name)
    ax.plot(*opt.W_MIN, "k*", ms=14, label="minimum")
    ax.set_xlabel("w1")
    ax.set_ylabel("w2")
    ax.set_title("a narrow valley: contours of log10 E, 60 steps of each optimizer")
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
        ax.semilogy(range(1, len(losses) + 1), losses, label=f"η = {eta}")
    ax.set_title("a 2-8-1 network, gradient descent: too small, right, too large")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (BCE)")
    ax.legend(fontsize=8)
    _save(fig, path)


FIGURES = {
    "activations.png": activations,
    "decision_boundaries.png": boundaries,
    "convergence.png": convergence,
    "optimizer_paths.png": optimizer_paths,
    "learning_curves.png": learning_curves,
    "learning_rate_sweep.png": learning_rate_sweep,
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
