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
- gelu(ξ) = ξ Φ(ξ) = ξ/2 (1 + erf(ξ/√2)) keeps the erf form (the core language has no erfc), so
  for ξ << 0 the absolute error of gelu is about u|ξ| and that of gelu' = Φ(ξ) + ξ φ(ξ) about u:
  below the error the matmul has already put into ξ, though not small relative to the tiny result.
"""
import triton
import triton.language as tl

ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu")

# Globals read inside @triton.jit functions must be constexpr.
# The odd Taylor coefficients of tanh: tanh(ξ) = ξ (1 + Σ c_j ξ^2j).
_TANH_C1 = tl.constexpr(-1.0 / 3.0)
_TANH_C2 = tl.constexpr(2.0 / 15.0)
_TANH_C3 = tl.constexpr(-17.0 / 315.0)
_TANH_C4 = tl.constexpr(62.0 / 2835.0)
_TANH_C5 = tl.constexpr(-1382.0 / 155925.0)
_TANH_C6 = tl.constexpr(21844.0 / 6081075.0)
_SQRT1_2 = tl.constexpr(0.7071067811865476)  # 1/√2
_INV_SQRT_2PI = tl.constexpr(0.3989422804014327)  # 1/√(2π)
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
    t = tl.exp(-tl.abs(z))
    r = 1.0 / (1.0 + t)
    return tl.where(z >= 0, r, t * r), t * r * r


@triton.jit
def _tanh_parts(z):
    """tanh(z) and 1 - tanh(z)^2 = 4t / (1 + t)^2 with t = e^-2|z|."""
    a = tl.abs(z)
    t = tl.exp(-2.0 * a)
    r = 1.0 / (1.0 + t)
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
def _gelu_tanh_2s(z):
    """2s = 2√(2/π)(z + 0.044715 z^3), the argument of σ in gelu_tanh(z) = z σ(2s)."""
    return (z + z * z * z * _GELU_TANH_B) * (2.0 * _GELU_TANH_A)


@triton.jit
def activation_fn(z, ACTIVATION: tl.constexpr, negative_slope):
    """y = σ(z) elementwise on a float32 tile; ``negative_slope`` is read by leaky_relu only."""
    if ACTIVATION == "identity":
        y = z
    elif ACTIVATION == "relu":
        y = tl.where(z < 0, 0.0, z)  # written so that NaN propagates
    elif ACTIVATION == "leaky_relu":
        y = tl.where(z < 0, z * negative_slope, z)
    elif ACTIVATION == "sigmoid":
        y, _ = _sigmoid_parts(z)
    elif ACTIVATION == "tanh":
        y, _ = _tanh_parts(z)
    elif ACTIVATION == "gelu":
        y = 0.5 * z * (1.0 + tl.erf(z * _SQRT1_2))
    elif ACTIVATION == "gelu_tanh":
        s, _ = _sigmoid_parts(_gelu_tanh_2s(z))
        y = z * s
    else:
        tl.static_assert(ACTIVATION == "silu", "unknown activation")
        s, _ = _sigmoid_parts(z)
        y = z * s
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
        # Φ(z) + z φ(z)
        g = 0.5 * (1.0 + tl.erf(z * _SQRT1_2)) + z * _INV_SQRT_2PI * tl.exp(-0.5 * z * z)
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
