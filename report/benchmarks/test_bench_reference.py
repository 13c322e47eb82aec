"""pytest-benchmark: the pure-Python reference MLP (64 -> 128 -> 10) on the 8x8 digits.

    python -m pytest report/benchmarks --benchmark-enable

(pyproject's addopts disable benchmarks for the ordinary test run; ``--benchmark-enable`` turns
them back on.) REPORT_BENCH_QUICK=1 shrinks the workloads for the report's own tests. Each
benchmark also checks its result, so a fast but wrong reference cannot pass.
"""
from __future__ import annotations

import math
import os
import random

from report.workloads import (LAYERS, digits_batch, digits_train_split, reference_epoch, reference_mlp,
                              reference_optimizer, reference_step)
from reference.losses import cross_entropy, cross_entropy_grad

QUICK = os.environ.get("REPORT_BENCH_QUICK") == "1"
BATCH = 16 if QUICK else 256
EPOCH_BATCH = 32
EPOCH_EXAMPLES = 64 if QUICK else None  # None: the whole training split (1437 images)


def test_mlp_forward(benchmark):
    net = reference_mlp()
    X, _ = digits_batch(BATCH)
    benchmark.extra_info["description"] = f"forward pass, batch {BATCH}"
    trace = benchmark(net.forward_batch, X)
    assert len(trace.output) == BATCH and all(len(row) == LAYERS[-1] for row in trace.output)
    assert all(math.isfinite(v) for row in trace.output for v in row)


def test_mlp_backward(benchmark):
    net = reference_mlp()
    X, y = digits_batch(BATCH)
    trace = net.forward_batch(X)
    grad_output = cross_entropy_grad(trace.output, y)
    benchmark.extra_info["description"] = f"back-propagation of the cross-entropy gradient, batch {BATCH}"
    grads = benchmark(net.backward, trace, grad_output)
    # a gradient for every weight and bias (bias first in each row)
    assert [len(layer) for layer in grads] == list(LAYERS[1:])
    assert [len(layer[0]) for layer in grads] == [k + 1 for k in LAYERS[:-1]]


def test_mlp_step(benchmark):
    net, opt = reference_mlp(), reference_optimizer()
    X, y = digits_batch(BATCH)
    benchmark.extra_info["description"] = f"training step (forward, loss, backward, SGD update), batch {BATCH}"
    first = reference_step(net, opt, X, y)
    benchmark(reference_step, net, opt, X, y)
    # repeated steps on one batch must lower its loss
    assert cross_entropy(net.forward_batch(X).output, y) < first


def test_digits_epoch(benchmark):
    X, y = digits_train_split()
    if EPOCH_EXAMPLES:
        X, y = X[:EPOCH_EXAMPLES], y[:EPOCH_EXAMPLES]
    net, opt, rng = reference_mlp(), reference_optimizer(), random.Random(0)
    initial = cross_entropy(net.forward_batch(X).output, y)
    benchmark.extra_info["description"] = f"one training epoch, {len(X)} images in batches of {EPOCH_BATCH}"
    benchmark.pedantic(reference_epoch, args=(net, opt, X, y, EPOCH_BATCH, rng), rounds=1 if QUICK else 3,
                       iterations=1)
    assert cross_entropy(net.forward_batch(X).output, y) < initial
