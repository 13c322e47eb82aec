"""Mutation tests: deliberately broken backends must fail the suite.

Each mutant is the torch backend with one classic bug. The suite (profile ci, the checks the CLI
runs) must report ``fail`` for the operation the bug touches, and the minimal example hypothesis
shrinks to must reproduce the failure; the unbroken operations of the same backend still pass.
"""
import pytest
import torch

from conformance.backends.torch_backend import TorchBackend
from conformance.operations import OPERATIONS
from conformance.runner import PROFILES, evaluate, run_check
from conformance.tolerance import get_precision


class SoftmaxWithoutMaxShift(TorchBackend):
    """softmax as e^x / Σ e^x: overflows (inf / inf) once a logit exceeds ~88 in float32."""

    name = "mutant"

    def softmax(self, x):
        e = torch.exp(x)
        return e / e.sum(dim=-1, keepdim=True)


class LogOfSoftmax(TorchBackend):
    """log_softmax as log(softmax(x)): -inf where softmax underflows, and inaccurate before."""

    name = "mutant"

    def log_softmax(self, x):
        return torch.log(torch.softmax(x, dim=-1))


class LinearBiasOffByOne(TorchBackend):
    """Neuron n gets the bias of neuron n - 1 (a shifted index)."""

    name = "mutant"

    def linear(self, x, weight, bias=None):
        return super().linear(x, weight, None if bias is None else torch.roll(bias, 1))


class AdamWithoutBiasCorrection(TorchBackend):
    """Adam's step η m / (√v + ε) without dividing m and v by 1 - β^t."""

    name = "mutant"

    def optimizer_step(self, name, options, params, grads, state):
        if name != "adam" or options.get("amsgrad") or options.get("weight_decay") or options.get("decay"):
            return super().optimizer_step(name, options, params, grads, state)
        b1, b2 = options.get("betas", (0.9, 0.999))
        eps = options.get("eps", 1e-8)
        m = b1 * state["m"] + (1 - b1) * grads if state["step"] else (1 - b1) * grads
        v = b2 * state["v"] + (1 - b2) * grads * grads if state["step"] else (1 - b2) * grads * grads
        return params - options["lr"] * m / (v.sqrt() + eps), {"step": state["step"] + 1, "m": m, "v": v}


class MeanIgnoresClassWeights(TorchBackend):
    """Cross-entropy "mean" divided by the number of counted rows instead of their summed weight."""

    name = "mutant"

    def cross_entropy(self, logits, target, *, weight=None, ignore_index=-100, reduction="mean", **kw):
        if reduction != "mean":
            return super().cross_entropy(logits, target, weight=weight, ignore_index=ignore_index,
                                         reduction=reduction, **kw)
        rows = super().cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction="none", **kw)
        return rows.sum() / (target != ignore_index).sum()


class LinearAccumulatesInBfloat16(TorchBackend):
    """x W^T + b with every partial sum rounded to bfloat16 (no float32 accumulator)."""

    name = "mutant"

    def linear(self, x, weight, bias=None):
        acc = torch.zeros(x.shape[0], weight.shape[0], dtype=torch.bfloat16)
        for k in range(x.shape[1]):
            acc = (acc.float() + torch.outer(x[:, k], weight[:, k]).float()).to(torch.bfloat16)
        y = acc.to(x.dtype)
        return y if bias is None else y + bias


MUTANTS = [
    (SoftmaxWithoutMaxShift, "softmax", "float32"),
    (SoftmaxWithoutMaxShift, "softmax", "float64"),
    (LogOfSoftmax, "log_softmax", "float64"),
    (LinearBiasOffByOne, "linear", "float32"),
    (AdamWithoutBiasCorrection, "optimizer_step[adam]", "float64"),
    (MeanIgnoresClassWeights, "cross_entropy[mean]", "float32"),
    (LinearAccumulatesInBfloat16, "linear", "float32"),
]


@pytest.mark.parametrize(("mutant", "op_id", "dtype"), MUTANTS, ids=[f"{m.__name__}-{o}@{d}" for m, o, d in MUTANTS])
def test_mutant_is_caught(mutant, op_id, dtype):
    backend = mutant()
    result = run_check(backend, f"{__name__}:{mutant.__name__}", OPERATIONS[op_id], dtype, PROFILES["ci"])
    assert result.status == "fail", f"{mutant.__name__} passed {op_id}@{dtype}: {result.worst}"
    assert result.reproducer and result.case is not None
    # The minimal example hypothesis shrank to fails on its own, and passes on the unbroken backend.
    assert not evaluate(backend, OPERATIONS[op_id], result.case, get_precision(dtype)).ok
    assert evaluate(TorchBackend(), OPERATIONS[op_id], result.case, get_precision(dtype)).ok


def test_a_mutant_still_passes_what_it_does_not_break():
    result = run_check(SoftmaxWithoutMaxShift(), "mutant", OPERATIONS["log_softmax"], "float32", PROFILES["ci"])
    assert result.status == "pass"
