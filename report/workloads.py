"""The MLP training step on the 8x8 digits, written once for every implementation.

The teaching figure (report.mlp_step) and the CPU benchmarks (report/benchmarks) time the same
step: the MLP 64 -> 128 (ReLU) -> 10 logits, softmax cross-entropy (mean over the batch), the
gradient of every weight and bias by back-propagation, and one SGD update w <- w - η ∂E/∂w.
Every implementation starts from the reference network's initial weights (nn.Linear's
U(-1/√K, 1/√K) scheme, seed 0) and sees the same batch, so their losses must agree.
"""
from __future__ import annotations

import functools

LAYERS = (64, 128, 10)
ACTIVATIONS = ("relu", "identity")
LEARNING_RATE = 0.1
SEED = 0


@functools.lru_cache(maxsize=1)
def _digits():
    from reference.datasets import load_digits

    X, y = load_digits()
    return [[v / 16.0 for v in row] for row in X], y  # pixels 0..16 scaled to [0, 1]


def digits_batch(batch: int):
    """(X, y): the first ``batch`` digit images (pixels scaled to [0, 1]) and their labels, as lists."""
    X, y = _digits()
    if not 1 <= batch <= len(X):
        raise ValueError(f"batch must be in [1, {len(X)}], got {batch}")
    return [row[:] for row in X[:batch]], y[:batch]


def reference_mlp():
    """The reference network with the shared initial weights."""
    from reference.mlp import MLP

    return MLP(list(LAYERS), list(ACTIVATIONS), init="uniform", seed=SEED)


def reference_step(net, optimizer, X, y) -> float:
    """One step of the pure-Python reference; returns the loss before the update."""
    from reference.losses import cross_entropy, cross_entropy_grad
    from reference.mlp import rows

    trace = net.forward_batch(X)
    loss = cross_entropy(trace.output, y)
    grads = net.backward(trace, cross_entropy_grad(trace.output, y))
    optimizer.step(net.parameters(), rows(grads))
    return loss


def reference_epoch(net, optimizer, X, y, batch: int, rng) -> float:
    """One epoch of mini-batch SGD over (X, y), shuffled by ``rng``; returns the mean batch loss."""
    order = list(range(len(X)))
    rng.shuffle(order)
    losses = []
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        losses.append(reference_step(net, optimizer, [X[i] for i in idx], [y[i] for i in idx]))
    return sum(losses) / len(losses)


def digits_train_split():
    """(X_train, y_train): the stratified 80% training part of the digits (seed 0), pixels in [0, 1]."""
    from reference.datasets import train_test_split

    X, y = _digits()
    X_train, _, y_train, _ = train_test_split(X, y, 0.2, seed=SEED)
    return X_train, y_train


def reference_optimizer():
    from reference.optimizers import SGD

    return SGD(lr=LEARNING_RATE)


def torch_model(kind: str, device: str):
    """(model, loss function) in float32: ``kind`` "torch" (nn.Linear, ReLU, F.cross_entropy) or
    "kernels" (this project's FusedLinear layers and cross_entropy), with the shared weights."""
    import torch
    import torch.nn.functional as F

    weights, biases = reference_mlp().linear_layers()
    if kind == "torch":
        model = torch.nn.Sequential(torch.nn.Linear(LAYERS[0], LAYERS[1]), torch.nn.ReLU(),
                                    torch.nn.Linear(LAYERS[1], LAYERS[2]))
        linears = [model[0], model[2]]
        loss_fn = F.cross_entropy
    elif kind == "kernels":
        from triton_kernels.cross_entropy import cross_entropy
        from triton_kernels.linear_act import FusedLinear

        linears = [FusedLinear(k, n, activation=a) for k, n, a in zip(LAYERS, LAYERS[1:], ACTIVATIONS)]
        model = torch.nn.Sequential(*linears)
        loss_fn = cross_entropy
    else:
        raise ValueError(f"kind must be 'torch' or 'kernels', got {kind!r}")
    with torch.no_grad():
        for layer, w, b in zip(linears, weights, biases):
            layer.weight.copy_(torch.tensor(w))
            layer.bias.copy_(torch.tensor(b))
    return model.to(device), loss_fn


def torch_step_fn(kind: str, device: str, batch: int):
    """A no-argument function doing one training step with torch or this project's kernels; it
    returns the loss tensor (no host synchronisation, so the GPU can run ahead)."""
    import torch

    model, loss_fn = torch_model(kind, device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    X, y = digits_batch(batch)
    X = torch.tensor(X, dtype=torch.float32, device=device)
    y = torch.tensor(y, dtype=torch.int64, device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        return loss

    return step
