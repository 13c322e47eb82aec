"""Mutation tests: deliberately broken backends must fail the suite.

Each mutant is the torch backend with one classic bug. The suite (profile ci, the checks the CLI
runs) must report ``fail`` for the operation the bug touches, and the minimal example hypothesis
shrinks to must reproduce the failure; the unbroken operations of the same backend still pass.
"""
import contextlib
import functools
from dataclasses import replace

import pytest
import torch

from conformance.backends.torch_backend import TorchBackend
from conformance.operations import OPERATIONS
from conformance import runner
from conformance.runner import PROFILES, evaluate, run_check
from conformance.strategies import Edges
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


class FusedLinearCrossEntropyWithoutBiasGradient(TorchBackend):
    """Fused linear + cross-entropy returning a zero bias gradient (a forgotten db = Σ_n ∂loss/∂ξ_n)."""

    name = "mutant"

    def linear_cross_entropy_grad(self, x, weight, target, bias=None, **kw):
        dx, dw, db = super().linear_cross_entropy_grad(x, weight, target, bias, **kw)
        return dx, dw, None if db is None else torch.zeros_like(db)


class FusedLinearCrossEntropyWeightGradUnscaled(TorchBackend):
    """dW of the mean loss without its 1/D (a chunked kernel scaling dx but not the dW it accumulated)."""

    name = "mutant"

    def linear_cross_entropy_grad(self, x, weight, target, bias=None, **kw):
        dx, dw, db = super().linear_cross_entropy_grad(x, weight, target, bias, **kw)
        kept = (target != kw.get("ignore_index", -100)).sum()
        return dx, dw * kept, db


MUTANTS = [
    (FusedLinearCrossEntropyWithoutBiasGradient, "linear_cross_entropy_grad[sum]", "float32"),
    (FusedLinearCrossEntropyWeightGradUnscaled, "linear_cross_entropy_grad[mean]", "float32"),
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


# ------------------------------------------------------------------------------------------------
# Issue 14: bugs that slipped through before the boundary shapes, the probable and exact tiers,
# special values, defaults left out and the bad-input probes.
# ------------------------------------------------------------------------------------------------

class SoftmaxDropsTheTail(TorchBackend):
    """A blocked softmax that never loads the last, partial block's final element when V is not a
    multiple of 16 (ci: V = 17 with the largest logit last)."""

    name = "mutant"

    def softmax(self, x):
        if x.shape[-1] % 16 == 0 or x.shape[-1] == 1:
            return super().softmax(x)
        y = torch.softmax(x[..., :-1], dim=-1)
        return torch.cat([y, torch.zeros_like(x[..., -1:])], dim=-1)


class SoftmaxRowsPastTheGrid(TorchBackend):
    """A grid of 1024 programs: rows from 1024 on are never written (ci: M = 1025)."""

    name = "mutant"

    def softmax(self, x):
        y = super().softmax(x)
        y[1024:] = 0.0
        return y


class SoftmaxScaledAtLength(TorchBackend):
    """A systematic 0.1% error in softmax at V > 32768, within the worst-case bound there (about
    4e-3 relative): only the probable tier catches it (gpu, thorough: V = 32769)."""

    name = "mutant"

    def softmax(self, x):
        y = super().softmax(x)
        return y * (1.0 + 1e-3) if x.shape[-1] > 32768 else y


class LinearScaledAtLength(TorchBackend):
    """A systematic 0.1% error in x W^T at K >= 4096 (ci: the probable tier at K = 4097)."""

    name = "mutant"

    def linear(self, x, weight, bias=None):
        y = super().linear(x, weight, bias)
        return y * (1.0 + 1e-3) if x.shape[-1] >= 4096 else y


class ReluTurnsNanIntoZero(TorchBackend):
    """relu as max(x, 0) with NaN-dropping max (the special-value cases, every profile)."""

    name = "mutant"

    def activation(self, name, x, **params):
        y = super().activation(name, x, **params)
        return torch.nan_to_num(y, nan=0.0) if name == "relu" else y


class LeakyReluWrongDefault(TorchBackend):
    """leaky_relu's default slope 0.1 instead of 0.01 (reached when the parameter is left out)."""

    name = "mutant"

    def activation(self, name, x, **params):
        if name == "leaky_relu" and "negative_slope" not in params:
            params = {"negative_slope": 0.1}
        return super().activation(name, x, **params)


class ClampsTheTarget(TorchBackend):
    """Cross-entropy that clamps an out-of-range target into [0, V) instead of raising."""

    name = "mutant"
    known_failures = ()  # torch's own (label_smoothing < 0 accepted) would mask it

    def cross_entropy(self, logits, target, **kw):
        ignore = kw.get("ignore_index", -100)
        target = torch.where(target == ignore, target, target.clamp(0, logits.shape[-1] - 1))
        return super().cross_entropy(logits, target, **kw)


CI_MUTANTS = [
    (SoftmaxDropsTheTail, "softmax", "float32", "fail"),
    (SoftmaxRowsPastTheGrid, "softmax", "float32", "fail"),
    (LinearScaledAtLength, "linear", "float32", "improbable"),  # the random K = 4097 case, before the exact one
    (ReluTurnsNanIntoZero, "activation[relu]", "float32", "fail"),
    (LeakyReluWrongDefault, "activation[leaky_relu]", "float32", "fail"),
    (ClampsTheTarget, "bad_input[cross_entropy]", "float32", "fail"),
]


@pytest.mark.parametrize(("mutant", "op_id", "dtype", "status"), CI_MUTANTS,
                         ids=[f"{m.__name__}-{o}@{d}" for m, o, d, _ in CI_MUTANTS])
def test_ci_catches(mutant, op_id, dtype, status):
    result = run_check(mutant(), f"{__name__}:{mutant.__name__}", OPERATIONS[op_id], dtype, PROFILES["ci"])
    assert result.status == status, f"{mutant.__name__} {op_id}@{dtype}: {result.status} {result.worst}"
    if mutant is ClampsTheTarget:
        assert "accepts silently: target = V (out of range)" in result.message


def test_the_probable_tier_catches_a_systematic_error_at_v_32769():
    """gpu and thorough reach V = 32769; the worst-case bound alone would pass the mutant."""
    edges = Edges(features=(32769,), rows=())
    assert 32769 in PROFILES["thorough"].edges.features and 32769 in PROFILES["gpu"].edges.features
    profile = replace(PROFILES["thorough"], examples=1, edges=edges)
    result = run_check(SoftmaxScaledAtLength(), "mutant", OPERATIONS["softmax"], "float32", profile)
    assert result.status == "improbable" and "probable bound" in result.message
    assert run_check(TorchBackend(), "torch", OPERATIONS["softmax"], "float32", profile).status == "pass"


# ------------------------------------------------------------------------------------------------
# Issue 24: what fused kernels get wrong beyond values: upstream gradients of any stride, targets
# at an odd address, target counts, 16-bit class weights, rows beyond any tile, rows past 2^31
# elements, the caller's inputs, repeated calls.
# ------------------------------------------------------------------------------------------------

def _storage(t, offset=None):
    """t's storage read as a contiguous array of t's shape from ``offset`` (default: t's own), zeros
    past the storage's end: what a kernel that ignores t's strides or offset reads (a GPU reads
    whatever lies there)."""
    offset = t.storage_offset() if offset is None else offset
    storage = torch.tensor([], dtype=t.dtype).set_(t.untyped_storage())[offset:offset + t.numel()]
    return torch.cat([storage, storage.new_zeros(t.numel() - len(storage))]).view(t.shape)


class IgnoresUpstreamStrides(TorchBackend):
    """Reads grad_output (cross-entropy "none") and grad_y (the layer's backward) as if contiguous:
    an expanded one (stride 0, after .sum()) past its one element, a slice buf[::2] interleaved."""

    name = "mutant"

    def cross_entropy_grad(self, logits, target, *, grad_output=1.0, **kw):
        if grad_output.dim():
            grad_output = _storage(grad_output)
        return super().cross_entropy_grad(logits, target, grad_output=grad_output, **kw)

    def linear_act_backward(self, x, weight, bias, activation, grad_y, **params):
        return super().linear_act_backward(x, weight, bias, activation, _storage(grad_y), **params)


class TargetsFromAnAlignedAddress(TorchBackend):
    """Loads the targets from their buffer's start, as a kernel assuming a 16-byte aligned pointer."""

    name = "mutant"

    def _ce(self, logits, target, *rest):
        return super()._ce(logits, _storage(target, offset=0), *rest)


class IgnoresTargetStrides(TorchBackend):
    """Reads the targets as if contiguous from where they start: a slice buf[::2] interleaved."""

    name = "mutant"

    def _ce(self, logits, target, *rest):
        return super()._ce(logits, _storage(target), *rest)


class PadsOrCutsTargets(TorchBackend):
    """Takes N targets whatever their count: missing ones ignored, extra ones dropped."""

    name = "mutant"
    known_failures = ()  # torch's own (label_smoothing < 0 accepted) would mask it

    def _ce(self, logits, target, weight, ignore_index, *rest):
        pad = target.new_full((max(len(logits) - len(target), 0),), ignore_index)
        return super()._ce(logits, torch.cat([target, pad])[:len(logits)], weight, ignore_index, *rest)


class DropsWeightsOfAnotherFormat(TorchBackend):
    """Passes the class weights on only where their format is the logits' (a dispatcher's guard)."""

    name = "mutant"

    def _ce(self, logits, target, weight, *rest):
        return super()._ce(logits, target, weight if weight is None or weight.dtype == logits.dtype else None, *rest)


class OneTileOf65536Classes(TorchBackend):
    """A single-tile kernel whose tile holds 65536 classes: the ones past it are never loaded."""

    name = "mutant"

    def _ce(self, logits, target, *rest):
        if logits.shape[-1] > 65536:
            logits = torch.cat([logits[:, :65536], torch.full_like(logits[:, 65536:], -torch.inf)], dim=1)
        return super()._ce(logits, target, *rest)


class OffsetsWrap(TorchBackend):
    """Element offsets taken modulo ``WRAP`` (2^31 with 32-bit offsets; smaller here, to run on a CPU)."""

    name = "mutant"
    WRAP = 64

    def _ce(self, logits, target, *rest):
        flat = logits.reshape(-1)
        wrapped = flat[torch.arange(flat.numel()) % self.WRAP].view(logits.shape)
        return super()._ce(wrapped, target, *rest)


class WritesGradientIntoLogits(TorchBackend):
    """Liger's trick: the forward stores softmax - onehot into the logits when they require grad."""

    name = "mutant"

    def _ce(self, logits, target, *rest):
        loss = super()._ce(logits, target, *rest)
        if logits.requires_grad:
            with torch.no_grad():
                logits.copy_(torch.softmax(logits, dim=-1))
        return loss


class SoftmaxRequiresGradOnItsInput(TorchBackend):
    """Turns requires_grad on for the caller's x (to build its own graph) and leaves it on."""

    name = "mutant"

    def softmax(self, x):
        return super().softmax(x.requires_grad_())


class SumInEitherOrder(TorchBackend):
    """The "sum" of the rows' losses in one order on one call and the other on the next, as atomic
    adds landing in whatever order the programs finish."""

    name = "mutant"
    calls = 0

    def _ce(self, logits, target, weight, ignore_index, reduction, *rest):
        if reduction != "sum" or len(logits) < 2:
            return super()._ce(logits, target, weight, ignore_index, reduction, *rest)
        rows = super()._ce(logits, target, weight, ignore_index, "none", *rest)
        SumInEitherOrder.calls += 1
        return functools.reduce(torch.add, rows if self.calls % 2 else rows.flip(0))  # each add rounded


ISSUE_24 = [
    # (mutant, operation, a feature of a failing option class, or a phrase of the failure's message)
    (IgnoresUpstreamStrides, "cross_entropy_grad[none]", "expanded grad_output"),
    (IgnoresUpstreamStrides, "linear_act_backward[relu]", "expanded grad_y"),
    (TargetsFromAnAlignedAddress, "cross_entropy[sum]", "offset layout"),
    (TargetsFromAnAlignedAddress, "linear_cross_entropy_grad[mean]", "offset layout"),
    (IgnoresTargetStrides, "cross_entropy[mean]", "strided layout"),
    (IgnoresTargetStrides, "linear_cross_entropy_grad[sum]", "strided layout"),
    (PadsOrCutsTargets, "bad_input[cross_entropy]", "2 targets for 3 rows"),
    (PadsOrCutsTargets, "bad_input[linear_cross_entropy]", "4 targets for 3 rows"),
    (DropsWeightsOfAnotherFormat, "cross_entropy[sum]", "16 weight"),
    (DropsWeightsOfAnotherFormat, "linear_cross_entropy[sum]", "16 class_weight"),
    (OneTileOf65536Classes, "cross_entropy_grad[sum]", "elements outside their"),
    (WritesGradientIntoLogits, "untouched[cross_entropy]", "modified its input 'logits'"),
    (SoftmaxRequiresGradOnItsInput, "untouched[softmax]", "changed requires_grad or left a .grad on its input 'x'"),
    (SumInEitherOrder, "repeatable[cross_entropy]", "two calls on the same inputs gave different 'loss'"),
]


@pytest.mark.parametrize(("mutant", "op_id", "sign"), ISSUE_24, ids=[f"{m.__name__}-{o}" for m, o, _ in ISSUE_24])
def test_the_checks_of_issue_24_catch(mutant, op_id, sign):
    result = run_check(mutant(), f"{__name__}:{mutant.__name__}", OPERATIONS[op_id], "float32", PROFILES["ci"])
    assert result.status == "fail", f"{mutant.__name__} passed {op_id}: {result.worst}"
    found = [f["message"] + " " + ", ".join(f["option_class"]) for f in result.failures] or [result.message]
    assert any(sign in text for text in found), found
    if OPERATIONS[op_id].probes:
        return
    failing = next(f for f in result.failures if sign in f["message"] + " " + ", ".join(f["option_class"]))
    assert not evaluate(mutant(), OPERATIONS[op_id], failing["case"], get_precision("float32")).ok
    with contextlib.suppress(runner._Unsupported):  # torch raises for class weights in another format
        assert evaluate(TorchBackend(), OPERATIONS[op_id], failing["case"], get_precision("float32")).ok


def test_long_rows_reach_the_ci_profile():
    assert all(max(e.long_rows) > 65536 for e in (PROFILES["ci"].edges, PROFILES["ci"].slow_edges))
    case = OPERATIONS["cross_entropy[sum]"].boundary(PROFILES["ci"].edges, get_precision("float32"))
    assert any(c["shapes"]["logits"][1] > 65536 for c in case)


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the case runs: pytest -m gpu's conformance step")
def test_rows_past_2_pow_31_elements_are_a_gpu_case_declined_here():
    """The gpu profile has cross-entropy cases past 2^31 elements; without a GPU they are declined,
    with the reason in the report."""
    edges = PROFILES["gpu"].edges
    profile = replace(PROFILES["gpu"], examples=1, edges=Edges(features=(), rows=(), huge=edges.huge))
    for op_id in ("cross_entropy[none]", "cross_entropy_grad[none]"):
        (huge,) = [c for c in OPERATIONS[op_id].boundary(profile.edges, get_precision("bfloat16")) if "repeat" in c]
        rows = len(huge["arrays"]["target"]) * huge["repeat"]["logits"]
        assert rows * huge["shapes"]["logits"][1] > 2 ** 31
        result = run_check(TorchBackend(), "torch", OPERATIONS[op_id], "float32", profile)
        (reason,) = [r for r in result.declined if "2^31" in r]
        assert result.status == "pass" and result.declined[reason] == 1
        assert reason.startswith("more than 2^31 elements") and reason.endswith("a case for a GPU")


def test_a_repeated_case_compares_its_last_rows():
    """The mechanism of the case past 2^31 elements, small enough for a CPU: 6 rows of 17 classes,
    a period of 2 repeated 3 times; offsets wrapping at 64 elements corrupt the last two rows."""
    profile = replace(PROFILES["ci"], examples=1, edges=Edges(features=(), rows=(), huge=((6, 17),)))
    op = OPERATIONS["cross_entropy_grad[none]"]
    assert run_check(TorchBackend(), "torch", op, "float32", profile).status == "pass"
    result = run_check(OffsetsWrap(), f"{__name__}:OffsetsWrap", op, "float32", profile)
    assert result.status == "fail" and result.case["repeat"] == {"logits": 3, "target": 3, "grad_output": 3}


class ErrorGrowsWithEachCall(TorchBackend):
    """softmax off by 1e-3 more on every call: the first example already fails, on plain inputs."""

    name = "mutant"
    calls = 0

    def softmax(self, x):
        ErrorGrowsWithEachCall.calls += 1
        return super().softmax(x) + 1e-3 * self.calls


def test_a_failure_of_plain_inputs_still_searches_for_the_worst_ratio():
    """torch16's ratios beside the peers' were understated: its search stopped at its first plain
    failure, where a peer's went on past failures of other option classes."""
    result = run_check(ErrorGrowsWithEachCall(), "mutant", OPERATIONS["softmax"], "float32", PROFILES["ci"])
    assert result.status == "fail" and result.failures[0]["option_class"] == []
    assert result.examples > PROFILES["ci"].examples and result.worst_ratio > 2 * result.failures[0]["ratio"]
    assert result.worst_reproducer


class InfiniteAfterTheFirstCall(TorchBackend):
    """softmax off by 1e-3 on the first call (a plain failure), NaN on every later one: the search
    for the worst ratio meets infinite ratios."""

    name = "mutant"
    calls = 0

    def softmax(self, x):
        InfiniteAfterTheFirstCall.calls += 1
        return super().softmax(x) + (1e-3 if self.calls == 1 else torch.nan)


def test_the_search_for_the_worst_ratio_takes_infinite_ratios():
    result = run_check(InfiniteAfterTheFirstCall(), "mutant", OPERATIONS["softmax"], "float32", PROFILES["ci"])
    assert result.status == "fail" and result.worst_ratio == float("inf")
    assert not any("the check itself raised" in f["message"] for f in result.failures)
