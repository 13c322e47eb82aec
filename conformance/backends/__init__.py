"""Backends: the implementations the suite holds to the oracle, and the protocol they follow.

A backend is any object with these attributes (subclassing :class:`Backend` gives the defaults):

``name``            a short name for reports.
``array_type``      ``"list"``: arrays are nested Python lists of floats (class indices: ints);
                    ``"torch"``: arrays are torch tensors in the dtype under test on ``device``
                    (class indices: int64), possibly non-contiguous, at stride 0 (an upstream
                    gradient) or not 16-byte aligned, class weights possibly in a 16-bit format
                    of their own; results may be tensors, lists or floats either way.
``dtypes``          the formats it is checked in, names from ``conformance.tolerance.PRECISIONS``:
                    float64, float32, tf32 (float32 tensors, tf32 matrix products), bfloat16,
                    float16. A list backend computes in the one format it declares.
``device``          torch device for ``"torch"`` arrays (default ``"cpu"``).
``slow``            True if a call takes ~0.1 s or more (a kernel interpreter): profiles then try
                    fewer examples.
``runs_triton``     True if its kernels are Triton code: under Triton's CPU interpreter its checks in
                    a format the interpreter computes wrongly (bfloat16 today, found by a probe at
                    start: conformance.interpreter) are reported "not meaningful" instead of run,
``interpreter_workarounds``  except for the formats named here, whose faults its kernels avoid.
``unsupported``     {argument or option name: why}: what the implementation does not support. Use
                    :func:`decline` in the operation: an example that sets one of them away from its
                    default is declined with that reason, and the report lists the reasons.
``unsupported_dtypes``  {dtype: why}: formats it lacks, reported as not implemented with the reason.
``known_failures``  test ids (``"op@dtype"``, or ``"op"`` for every dtype) expected to fail; the
                    report lists them as expected failures (and notes any that pass).
``set_dtype(name)`` optional; called before the checks of each dtype (e.g. to switch tf32
                    products on: tf32 and float32 arrays are both float32 tensors).

and any subset of the operations below, named and called exactly like the ``reference`` package's
functions. An operation it lacks is reported as "not implemented"; raising NotImplementedError
for particular arguments (an option it does not support) skips those examples.

=======================  ===================================================================
method                   arguments -> result
=======================  ===================================================================
activation               (name, x, **params) -> σ(x) elementwise, x 1-D. Names and params as
                         ``reference.activations.ACTIVATIONS`` (leaky_relu: negative_slope,
                         sigmoid: lam)
activation_grad          (name, x, **params) -> σ'(x) elementwise
softmax, log_softmax     (x) -> over the last axis of a 2-D x
cross_entropy            (logits [N][V], target [N], *, weight, ignore_index, reduction,
                         label_smoothing, z_loss) -> float (mean, sum) or [N] (none)
cross_entropy_grad       (same, grad_output) -> d loss / d logits [N][V]; grad_output a number
                         (mean, sum; a 0-d tensor for torch arrays) or an [N] array (none)
mse, mse_grad            (y, d, reduction[, grad_output]) on [M][P]
squared_error(_grad)     (y, d): ½ Σ (y - d)² and y - d
binary_cross_entropy     (p, d, reduction) and ``_grad`` (p, d, reduction, grad_output)
categorical_cross_entropy  (p [M][C], d [M][C], reduction) and ``_grad`` (..., grad_output)
linear_cross_entropy     (x [N][d], weight [V][d], target [N], bias [V] or None, *, class_weight,
                         ignore_index, reduction, label_smoothing, z_loss) -> cross_entropy of the
                         logits x W^T + b (the class weights are ``class_weight``); ``_grad`` (same,
                         grad_output) -> (dx, dweight, dbias), dbias None without a bias
linear                   (x [M][K], weight [N][K], bias [N] or None) -> x W^T + b
linear_act               (x, weight, bias, activation, **params) -> σ(x W^T + b)
linear_act_backward      (x, weight, bias, activation, grad_y, **params) -> (dx, dweight, dbias)
mlp_forward              (x, layers, activations) -> output; layers [(weight, bias)], one
                         activation name per layer
mlp_backward             (x, layers, activations, grad_output) -> (dx, [(dweight, dbias)])
optimizer_step           (name, options, params, grads, state) -> (params, state): one step of
                         ``reference.optimizers.OPTIMIZERS[name]`` with keyword ``options``
                         (lr included) from ``state`` = {"step": steps taken, buffer name:
                         array like params}, buffers named as the reference's: momentum_buffer
                         or velocity (sgd), m, v, v_max (adam, adamw), square_avg, grad_avg,
                         momentum_buffer (rmsprop), sum (adagrad); no buffers at step 0
=======================  ===================================================================

Built in: ``reference`` (the oracle itself through this protocol), ``torch`` (float64 and
float32, on CUDA when there is one), ``triton`` (the project's kernels; the CPU interpreter when
there is no GPU). Peers, the kernels of other libraries (``pip install -e ".[peers]"``; run by
name, or all at once by ``python -m conformance ecosystem``): ``liger`` (Liger-Kernel),
``torch.compile`` (inductor), ``fla`` (flash-linear-attention's fla-core), ``cce`` (Cut
Cross-Entropy), and ``torch16`` (eager torch in 16-bit, the baseline). Third parties pass
``package.module:Name`` (a class, instance or factory); conformance/README.md has a template.
"""
from __future__ import annotations

import copy
import importlib
import importlib.util
from pathlib import Path

from ..tolerance import PRECISIONS, Precision

BUILTIN = {
    "reference": "conformance.backends.reference:ReferenceBackend",
    "torch": "conformance.backends.torch_backend:TorchBackend",
    "triton": "conformance.backends.triton_backend:TritonBackend",
}
# Not in the default run: `python -m conformance` checks the project's own backends only. torch16 is
# eager torch in 16-bit formats, the baseline beside the peers' 16-bit results.
PEERS = {
    "torch16": "conformance.backends.torch_backend:Torch16Backend",
    "liger": "conformance.backends.liger:LigerBackend",
    "torch.compile": "conformance.backends.compiled:CompiledBackend",
    "fla": "conformance.backends.fla:FlaBackend",
    "cce": "conformance.backends.cce:CCEBackend",
}
KNOWN_FAILURES_DIR = Path(__file__).resolve().parent.parent / "known_failures"


class Backend:
    """Defaults for the protocol attributes; subclasses add the operations they implement."""

    name = "backend"
    array_type = "list"
    dtypes: tuple = ("float64",)
    device = "cpu"
    slow = False
    runs_triton = False
    interpreter_workarounds: tuple = ()
    unsupported: dict = {}
    unsupported_dtypes: dict = {}
    known_failures: tuple = ()

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this backend cannot run here (a missing package, no device), or None."""
        return None


def peer_missing(module: str, distribution: str) -> str | None:
    """A peer adapter's ``unavailable``: why it cannot run when ``module`` is not importable."""
    if importlib.util.find_spec(module) is None:
        return f"{distribution} is not installed (pip install -e \".[peers]\")"
    return None


def decline(backend, given: dict, defaults: dict) -> None:
    """Raise NotImplementedError with the backend's reason for the first argument in ``given``
    that it lists as ``unsupported`` and that is set away from its entry in ``defaults``."""
    for name, reason in getattr(backend, "unsupported", {}).items():
        if name in given and not _is_default(given[name], defaults.get(name)):
            raise NotImplementedError(f"{name}: {reason}")


def _is_default(value, default) -> bool:
    if value is None or default is None:
        return value is default
    return value == default


def read_known_failures(name: str) -> tuple[str, ...]:
    """Test ids listed in ``known_failures/<name>.txt``: one per line, ``#`` starts a comment."""
    path = KNOWN_FAILURES_DIR / f"{name}.txt"
    if not path.exists():
        return ()
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            ids.append(text.split()[0])
    return tuple(ids)


def _import(spec: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"backend {spec!r}: expected a built-in name ({', '.join(BUILTIN)}) or 'package.module:Name'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and not (module_name + ".").startswith(e.name + "."):  # the module imports something missing
            raise ValueError(f"backend {spec!r}: {module_name!r} imports {e.name!r}, which is not installed "
                             "here") from None
        raise ValueError(f"backend {spec!r}: cannot import {module_name!r} ({e}); the module must be importable "
                         "from here: install its package (pip install -e PATH) or put its folder on PYTHONPATH"
                         ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"backend {spec!r}: module {module_name!r} has no attribute {attr!r}") from None


def backend_class(spec: str):
    """The class (or instance/factory) a backend name or ``package.module:Name`` refers to."""
    if not isinstance(spec, str):
        raise TypeError(f"backend must be a name or 'package.module:Name' string, got {type(spec).__name__}")
    return _import({**BUILTIN, **PEERS}.get(spec, spec))


def load_backend(spec: str):
    """The backend object for a built-in name or ``package.module:Name``; RuntimeError if it
    cannot run on this machine, ValueError/TypeError if its attributes break the protocol."""
    target = backend_class(spec)
    reason = target.unavailable() if hasattr(target, "unavailable") else None
    if reason:
        raise RuntimeError(f"backend {spec!r} is not available here: {reason}")
    backend = target() if callable(target) else target
    validate(backend, spec)
    return backend


def validate(backend, spec: str) -> None:
    """Check the protocol attributes named in the module docstring."""
    array_type = getattr(backend, "array_type", "list")
    if array_type not in ("list", "torch"):
        raise ValueError(f"backend {spec!r}: array_type must be 'list' or 'torch', got {array_type!r}")
    dtypes = getattr(backend, "dtypes", ("float64",))
    if isinstance(dtypes, str) or not dtypes:
        raise TypeError(f"backend {spec!r}: dtypes must be a non-empty tuple of names, got {dtypes!r}")
    for d in dtypes:
        if d not in PRECISIONS:
            raise ValueError(f"backend {spec!r}: unknown dtype {d!r}; expected names from {', '.join(PRECISIONS)}")
    if array_type == "list" and len(dtypes) != 1:
        raise ValueError(f"backend {spec!r}: a list backend computes in one format, got dtypes {dtypes!r}")


def default_backends(names=BUILTIN) -> list[str]:
    """The backends among ``names`` (default: the built-in ones) that can run on this machine."""
    out = []
    for name in names:
        try:
            cls = backend_class(name)
        except ImportError:
            continue
        if not cls.unavailable():
            out.append(name)
    return out


# ------------------------------------------------------------------------------------------------
# Arrays: the runner's nested lists <-> the backend's array type
# ------------------------------------------------------------------------------------------------

LAYOUTS = ("contiguous", "strided", "transposed", "offset")
# Layouts a case may give one array (Operation cases' ``layouts``): besides those above, ``expanded``,
# stride 0, what autograd passes a loss's backward after ``.sum()`` (the array's values are all equal).
ARRAY_LAYOUTS = LAYOUTS + ("expanded",)


def to_backend(value, backend, precision: Precision, *, integer: bool = False, layout: str = "contiguous",
               shape=None, repeat: int = 1):
    """A nested list (already rounded to ``precision``) as the backend's array type, of ``shape``
    if given (what an empty list cannot say: 0 rows of V), its rows ``repeat`` times over.

    torch arrays are created in the precision's torch dtype on the backend's device, then laid out
    as asked: ``strided`` (every other element of a NaN-filled buffer along the last axis),
    ``transposed`` (a 2-D array stored column-major), ``offset`` (one element into its buffer, so
    that its address is not 16-byte aligned), ``expanded`` (one value at stride 0); class indices
    become int64, laid out ``strided`` (between zeros: a kernel that ignores the stride reads class
    0 for every other row, a wrong but valid index), ``offset`` or contiguous.
    """
    if value is None:
        return None
    if getattr(backend, "array_type", "list") == "list":
        return copy.deepcopy(value)  # a copy, so that a backend writing into it is caught
    import torch

    device = getattr(backend, "device", "cpu")
    dtype = torch.int64 if integer else getattr(torch, precision.torch_dtype)
    t = torch.tensor(value, dtype=torch.int64 if integer else torch.float64)
    t = (t if shape is None else t.reshape(shape)).to(device=device, dtype=dtype)
    if repeat > 1:
        t = t.repeat(repeat, *[1] * (t.dim() - 1))
    if layout == "offset":
        buffer = torch.zeros(t.numel() + 1, dtype=dtype, device=device)
        buffer[1:] = t.reshape(-1)
        return buffer[1:].view(t.shape)
    if layout == "strided" and t.dim() >= 1 and t.numel() > 1:
        wide = torch.full((*t.shape[:-1], 2 * t.shape[-1]), 0 if integer else float("nan"), dtype=dtype,
                          device=device)
        wide[..., ::2] = t
        return wide[..., ::2]
    if integer or t.numel() <= 1:
        return t
    if layout == "expanded":
        if not bool((t == t.reshape(-1)[0]).all()):
            raise ValueError("an expanded array needs all its values equal")
        return t.reshape(-1)[0].clone().expand(t.shape)  # a storage of one element, as torch.ones(()).expand(n)
    if layout == "transposed" and t.dim() == 2:
        return t.t().contiguous().t()
    return t


def to_lists(value):
    """A backend result (tensor, list, tuple, number, None) as nested lists of Python floats."""
    if value is None:
        return None
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor
        return value.detach().to("cpu").double().tolist()
    if isinstance(value, (list, tuple)):
        return [to_lists(v) for v in value]
    return float(value)
