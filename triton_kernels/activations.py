"""Activation functions σ(ξ) and their derivatives σ'(ξ) as Triton device functions.

The one place the kernels take their activations from. Each kernel passes the activation's name as a
``tl.constexpr`` string, so every activation compiles to straight-line code with no runtime branch;
the leaky-ReLU slope is a runtime argument (one compiled kernel serves every slope).

All arithmetic is float32 (callers upcast their tiles first). The formulas are chosen to stay
accurate relative to the result where the textbook form cancels:

- σ(ξ) is 1 / (1 + t) or t / (1 + t) with t = e^-|ξ| in (0, 1] (exp never overflows), and
  σ'(ξ) = σ(ξ)(1 - σ(ξ)) is evaluated as t / (1 + t)^2, free of the 1 - σ cancellation that
  zeroes it in float32 for ξ > 17.
- tanh(ξ) = sign(ξ)(1 - t) / (1 + t) with t = e^-2|ξ| for |ξ| >= 0.4, and its odd Taylor series
  through ξ^13 below that (truncation < 4e-9 relative), where 1 - t would cancel. Triton's core
  language has no tanh, and libdevice does not run under the CPU interpreter.
  tanh'(ξ) = 1 - tanh^2 is evaluated as 4t / (1 + t)^2.
- gelu_tanh(ξ) = ξ/2 (1 + tanh(s)) = ξ σ(2s), s = √(2/π)(ξ + 0.044715 ξ^3): no cancellation for ξ << 0.
- gelu(ξ) = ξ Φ(ξ) and gelu'(ξ) = Φ(ξ) + ξ φ(ξ) take the normal distribution's tail
  Φ(-|ξ|) = erfc(x)/2, x = |ξ|/√2, as e^(-x²) t R(t) / 2 with t = 1 / (1 + x/2) in (0, 1] and R a
  polynomial of degree 10 (below), and Φ(|ξ|) = 1 - Φ(-|ξ|): accurate relative to Φ in both tails
  (1 + erf(ξ/√2) would cancel for ξ << 0), one exp shared with φ(ξ) = e^(-x²) / √(2π), and half
  the instructions of libdevice's erf (``python -m report.compile_check --epilogue``).
  R(t) = e^(x²) erfc(x) / t (smooth from 1/(2√π) at t = 0 to 1 at t = 1) was fitted to a high-
  precision erfc (mpmath) by least squares on 602 Chebyshev points of t, reweighted to the
  largest relative error (Lawson's iteration): 1.1e-8 relative in float64 for every ξ
  (tests/test_linear_act.py checks it against math.erfc).

Exponentials and reciprocals are single special-function instructions on a GPU (fastmath.py).
"""
import triton
import triton.language as tl

from .fastmath import exp, reciprocal

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu")

# Globals read inside @triton.jit functions must be constexpr.
# The odd Taylor coefficients of tanh: tanh(ξ) = ξ (1 + Σ c_j ξ^2j).
_TANH_C1 = tl.constexpr(-1.0 / 3.0)
_TANH_C2 = tl.constexpr(2.0 / 15.0)
_TANH_C3 = tl.constexpr(-17.0 / 315.0)
_TANH_C4 = tl.constexpr(62.0 / 2835.0)
_TANH_C5 = tl.constexpr(-1382.0 / 155925.0)
_TANH_C6 = tl.constexpr(21844.0 / 6081075.0)
_INV_SQRT_2PI = tl.constexpr(0.3989422804014327)  # 1/√(2π)
_INV_2SQRT2 = tl.constexpr(0.3535533905932738)  # 1/(2√2): x/2 = |ξ| / (2√2)
# R(t) = Σ_j _ERFCX_Rj t^j (see the module docstring).
ERFCX_R = (0.2820947948, 0.2820938529, 0.2468805803, 0.175376906, 0.09300006901, -0.05723040736,
           0.1270843494, -0.4469696243, 0.4861716433, -0.2308539768, 0.042351802)
_ERFCX_R0, _ERFCX_R1, _ERFCX_R2, _ERFCX_R3, _ERFCX_R4, _ERFCX_R5 = (tl.constexpr(c) for c in ERFCX_R[:6])
_ERFCX_R6, _ERFCX_R7, _ERFCX_R8, _ERFCX_R9, _ERFCX_R10 = (tl.constexpr(c) for c in ERFCX_R[6:])
_GELU_TANH_A = tl.constexpr(0.7978845608028654)  # √(2/π)
_GELU_TANH_B = tl.constexpr(0.044715)


def check_activation(activation):
    """Return ``activation`` if it names a kernel activation; raise otherwise (host side)."""
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a str, one of {ACTIVATIONS}, got {type(activation).__name__}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


@triton.jit
def _sigmoid_parts(z):
    """σ(z) and σ(z)(1 - σ(z)) = t / (1 + t)^2 with t = e^-|z|, both accurate to a few ulp."""
    t = exp(-tl.abs(z))
    r = reciprocal(1.0 + t)
    return tl.where(z >= 0, r, t * r), t * r * r


@triton.jit
def _sigmoid(z, WITH_GRAD: tl.constexpr):
    """σ(z) to a few ulp. Alone, 1 / (1 + e^-z): two instructions and two live values fewer than
    _sigmoid_parts (e^-z overflows to inf for z << 0, whose reciprocal is 0, as σ below 2^-126
    flushes anyway). WITH_GRAD, when σ'(z) is formed too: from _sigmoid_parts, whose exponential
    and reciprocal σ' shares."""
    if WITH_GRAD:
        s, _ = _sigmoid_parts(z)
    else:
        s = reciprocal(1.0 + exp(-z))
    return s


@triton.jit
def _tanh_parts(z):
    """tanh(z) and 1 - tanh(z)^2 = 4t / (1 + t)^2 with t = e^-2|z|."""
    a = tl.abs(z)
    t = exp(-2.0 * a)
    r = reciprocal(1.0 + t)
    a2 = a * a
    # Horner in a^2, tensors on the left of each constexpr (the interpreter mis-wraps c + tensor).
    p = a2 * _TANH_C6 + _TANH_C5
    p = p * a2 + _TANH_C4
    p = p * a2 + _TANH_C3
    p = p * a2 + _TANH_C2
    p = p * a2 + _TANH_C1
    th = tl.where(a < 0.4, a + a * a2 * p, (1.0 - t) * r)
    return tl.where(z < 0, -th, th), 4.0 * t * r * r


@triton.jit
def _normal_parts(z):
    """Φ(z) and φ(z), the standard normal distribution and density, each to a few ulp relative."""
    e = exp(-0.5 * z * z)  # e^(-x²) = √(2π) φ(z)
    t = reciprocal(1.0 + tl.abs(z) * _INV_2SQRT2)
    r = t * _ERFCX_R10 + _ERFCX_R9  # Horner, tensors on the left of each constexpr (see _tanh_parts)
    r = r * t + _ERFCX_R8
    r = r * t + _ERFCX_R7
    r = r * t + _ERFCX_R6
    r = r * t + _ERFCX_R5
    r = r * t + _ERFCX_R4
    r = r * t + _ERFCX_R3
    r = r * t + _ERFCX_R2
    r = r * t + _ERFCX_R1
    r = r * t + _ERFCX_R0
    tail = 0.5 * t * r * e  # Φ(-|z|)
    return tl.where(z >= 0, 1.0 - tail, tail), e * _INV_SQRT_2PI


@triton.jit
def _gelu_tanh_2s(z):
    """2s = 2√(2/π)(z + 0.044715 z^3), the argument of σ in gelu_tanh(z) = z σ(2s)."""
    return (z + z * z * z * _GELU_TANH_B) * (2.0 * _GELU_TANH_A)


@triton.jit
def activation_fn(z, ACTIVATION: tl.constexpr, negative_slope, WITH_GRAD: tl.constexpr):
    """y = σ(z) elementwise on a float32 tile; ``negative_slope`` is read by leaky_relu only.
    WITH_GRAD: the caller forms activation_grad(z) too, and σ shares its parts with σ'."""
    if ACTIVATION == "identity":
        y = z
    elif ACTIVATION == "relu":
        y = tl.where(z < 0, 0.0, z)  # written so that NaN propagates
    elif ACTIVATION == "leaky_relu":
        y = tl.where(z < 0, z * negative_slope, z)
    elif ACTIVATION == "sigmoid":
        y = _sigmoid(z, WITH_GRAD)
    elif ACTIVATION == "tanh":
        y, _ = _tanh_parts(z)
    elif ACTIVATION == "gelu":
        cdf, _ = _normal_parts(z)
        y = z * cdf
    elif ACTIVATION == "gelu_tanh":
        y = z * _sigmoid(_gelu_tanh_2s(z), WITH_GRAD)
    else:
        tl.static_assert(ACTIVATION == "silu", "unknown activation")
        y = z * _sigmoid(z, WITH_GRAD)
    return y


@triton.jit
def activation_grad(z, ACTIVATION: tl.constexpr, negative_slope):
    """σ'(z) elementwise on a float32 tile. At the kinks: relu'(0) = 0, leaky_relu'(0) = slope."""
    if ACTIVATION == "identity":
        g = tl.full(z.shape, 1.0, tl.float32)
    elif ACTIVATION == "relu":
        g = tl.where(z > 0, 1.0, 0.0)
    elif ACTIVATION == "leaky_relu":
        g = tl.where(z > 0, 1.0, negative_slope)
    elif ACTIVATION == "sigmoid":
        _, g = _sigmoid_parts(z)
    elif ACTIVATION == "tanh":
        _, g = _tanh_parts(z)
    elif ACTIVATION == "gelu":
        cdf, pdf = _normal_parts(z)
        g = cdf + z * pdf
    elif ACTIVATION == "gelu_tanh":
        # d/dz z σ(2s) = σ(2s) + 2 z s' σ(2s)(1 - σ(2s)),  s' = √(2/π)(1 + 3b z^2)
        s, ds = _sigmoid_parts(_gelu_tanh_2s(z))
        g = s + z * (1.0 + z * z * (3.0 * _GELU_TANH_B)) * ds * (2.0 * _GELU_TANH_A)
    else:
        tl.static_assert(ACTIVATION == "silu", "unknown activation")
        # σ(z) + z σ(z)(1 - σ(z))
        s, ds = _sigmoid_parts(z)
        g = s + z * ds
    return g


@triton.jit
def activation_grad_from_output(y, negative_slope):
    """σ'(z) of relu / leaky_relu recovered from y = σ(z): 1 where y > 0, else the slope.

    Valid for slopes >= 0 (relu is slope 0), where y > 0 exactly when z > 0. It lets the backward
    read the output y, which the next layer keeps anyway, instead of a saved copy of z.
    """
    return tl.where(y > 0, 1.0, negative_slope)
