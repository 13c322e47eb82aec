"""Train a pure-Python MLP from the command line and print its learning curves.

    python -m reference.train digits     # 8x8 handwritten digits, held-out 20% test split
    python -m reference.train xor        # the XOR problem, full-batch gradient descent

``python -m reference.train digits --help`` lists the options (hidden size, epochs, seed, ...).

The digits recipe: a stratified, seeded 80/20 split of the 1797 images (every digit keeps its
share in both parts); pixels standardized with the training part's mean and standard
deviation; a 64-48-10 network (tanh hidden layer, Glorot-uniform weights, softmax
cross-entropy on the logits with label smoothing 0.1); AdamW (η = 0.01, weight decay 0.1) on
mini-batches of 32 for 12 epochs. The
held-out part is never used for any choice during training (no early stopping on it): its
accuracy is only reported, after every epoch and at the end.
"""
from __future__ import annotations

import argparse
import math
import sys
import time

from .datasets import fit_standardizer, load_digits, standardize, train_test_split, xor
from .mlp import MLP
from .optimizers import SGD, AdamW
from .training import History, fit, predict, predict_proba

DIGITS_TARGET_ACCURACY = 0.97


def _progress(out, epochs: int):
    def report(r):
        val = f"  test loss {r.val_loss:.4f}  test acc {r.val_accuracy:.4f}" if r.val_loss is not None else ""
        out(f"epoch {r.epoch:>3}/{epochs}  train loss {r.train_loss:.4f}  train acc {r.train_accuracy:.4f}"
            f"{val}  ({r.seconds:.2f} s)")
    return report


def train_digits(*, hidden: int = 48, epochs: int = 12, batch_size: int = 32, lr: float = 0.01, seed: int = 0,
                 test_fraction: float = 0.2, out=print):
    """Train on the digits as described in the module docstring; returns (model, history, test accuracy)."""
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction, seed=seed, stratify=True)
    means, stds = fit_standardizer(X_train)
    X_train, X_test = standardize(X_train, means, stds), standardize(X_test, means, stds)
    model = MLP([64, hidden, 10], ["tanh", "identity"], init="glorot_uniform", seed=seed)
    out(f"digits: {len(X_train)} training and {len(X_test)} held-out test images (stratified split, seed {seed}); "
        f"network {model!r}, {model.n_parameters} parameters; AdamW lr={lr}, weight decay 0.1, batch {batch_size}; "
        f"losses include label smoothing 0.1")
    history = fit(model, X_train, y_train, AdamW(lr=lr, weight_decay=0.1), epochs=epochs, batch_size=batch_size,
                  seed=seed, label_smoothing=0.1, validation_data=(X_test, y_test), callback=_progress(out, epochs))
    return model, history, history[-1].val_accuracy


def train_xor(*, hidden: int = 4, epochs: int = 100, lr: float = 1.0, seed: int = 1, out=print):
    """XOR with a 2-hidden-1 network (tanh, sigmoid output, binary cross-entropy), full-batch
    gradient descent with momentum 0.9; returns (model, history)."""
    X, y = xor()
    model = MLP([2, hidden, 1], ["tanh", "sigmoid"], init="glorot_uniform", seed=seed)
    out(f"xor: network {model!r}, full-batch gradient descent, lr={lr}, momentum 0.9, {epochs} epochs")
    history = fit(model, X, y, SGD(lr=lr, momentum=0.9), loss="binary_cross_entropy", epochs=epochs,
                  batch_size=None, seed=seed)
    for x, p in zip(X, predict_proba(model, X, loss="binary_cross_entropy")):
        out(f"  x = {x}  P(y = 1) = {p[1]:.4f}")
    return model, history


def _positive(kind):
    """An argparse type: a ``kind`` (int or float) > 0, else a one-line usage error naming the option."""
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'} > 0, got {text!r}")
        return value
    return convert


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference.train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="task", required=True)
    d = sub.add_parser("digits", help="8x8 handwritten digits (UCI optdigits)")
    d.add_argument("--hidden", type=_positive(int), default=48, help="hidden layer size (default 48)")
    d.add_argument("--epochs", type=_positive(int), default=12, help="number of epochs (default 12)")
    d.add_argument("--batch-size", type=_positive(int), default=32, help="mini-batch size (default 32)")
    d.add_argument("--lr", type=_positive(float), default=0.01, help="AdamW learning rate (default 0.01)")
    d.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the shuffling (default 0)")
    x = sub.add_parser("xor", help="the XOR problem")
    x.add_argument("--hidden", type=_positive(int), default=4, help="hidden layer size (default 4)")
    x.add_argument("--epochs", type=_positive(int), default=100, help="number of epochs (default 100)")
    x.add_argument("--seed", type=int, default=1, help="seed of the initial weights (default 1)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.task == "digits":
        model, history, accuracy = train_digits(hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size,
                                                lr=args.lr, seed=args.seed)
        print("\nlearning curves (val = the held-out test split):")
        print(history.table())
        seconds = time.perf_counter() - start
        verdict = "meets" if accuracy >= DIGITS_TARGET_ACCURACY else "MISSES"
        print(f"\nheld-out test accuracy {accuracy:.4f} ({verdict} the {DIGITS_TARGET_ACCURACY:.0%} target); "
              f"total time {seconds:.1f} s")
        return 0 if accuracy >= DIGITS_TARGET_ACCURACY else 1
    model, history = train_xor(hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    every = max(1, len(history) // 10)
    print(f"\nlearning curve (every {every}th epoch):")
    print(History(history[every - 1::every]).table())
    X, y = xor()
    correct = predict(model, X) == y
    print(f"\nall four XOR points {'correct' if correct else 'NOT all correct'}; "
          f"total time {time.perf_counter() - start:.2f} s")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
