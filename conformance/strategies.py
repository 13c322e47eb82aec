"""The shared hypothesis strategies: the one place that decides which inputs the suite tries.

Every operation draws its case from here. Sizes favour the shapes kernels get wrong: 1, primes,
powers of two ± 1 (a block size and its neighbours), besides any integer up to the profile's
limit. Arrays are filled from a drawn seed in one of several *styles* (moderate normal values,
values spread over many binades, small integers whose products are exact, all zeros), then up to
a few drawn positions are overwritten with special values: 0, -0, ±1, the smallest normal number
of the format, the largest magnitude the operation allows. Seeding the bulk keeps large arrays
cheap to draw; the special values and the shapes are what hypothesis shrinks.

Logit rows add what softmax and cross-entropy get wrong: rows shifted by a large offset (no
max-subtraction overflows), wide rows (logits thousands apart, so probabilities underflow),
confident rows (one logit 8 to 40 above the rest, so p ≈ 1 and the true-class gradient p - 1
cancels), -inf entries (masked classes); the cross-entropy cases add all-ignored batches.

Besides the drawn cases, every profile tries fixed *boundary* cases (``Edges``): the reduced or
class dimension at 2^k - 1, 2^k, 2^k + 1, row counts across 8, 16, 64, 128 and 1024, N = 0, with
the largest logit or the target at the last index and at block ends (``block_positions``,
``peaked_rows``), random fills for the probable error tier, integer fills for the exact tier
(``filled``) and NaN, ±inf, subnormals and saturating values (``special_values``).

Values are drawn in float64; the runner rounds every array to the format under test before the
oracle sees it, so the oracle and the backend get identical inputs.

>>> from hypothesis import find
>>> find(sizes(64), lambda n: n > 40)  # shrinks to the smallest special size above 40
41
"""
from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

from hypothesis import strategies as st

from .tolerance import Precision

# Strategies are cached per argument tuple: building and validating a new strategy object on every
# draw would be most of hypothesis' cost. Arguments are therefore hashable (shapes are tuples).
_cached = functools.lru_cache(maxsize=None)


@_cached
def choice(*values):
    """One of ``values`` (hypothesis shrinks towards the first)."""
    return st.sampled_from(values)


BOOLEANS = st.booleans()


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 61, 97, 127, 251, 509, 1021, 2039, 4093)


def special_sizes(limit: int) -> list[int]:
    """1, primes and 2^k - 1, 2^k, 2^k + 1, up to ``limit``."""
    out = {1}
    out.update(q for q in _PRIMES if q <= limit)
    k = 1
    while 2 ** k - 1 <= limit:
        out.update(n for n in (2 ** k - 1, 2 ** k, 2 ** k + 1) if 1 <= n <= limit)
        k += 1
    return sorted(out)


@_cached
def sizes(limit: int) -> st.SearchStrategy[int]:
    """A dimension in [1, limit]: a special size half of the time, any integer otherwise."""
    return st.one_of(st.sampled_from(special_sizes(limit)), st.integers(1, limit))


@dataclass(frozen=True)
class Limits:
    """Shape limits of a profile: ``rows`` for batch dimensions, ``features`` for reductions and
    widths (K, N, V), ``work`` for the product M·N·K of a layer (the oracle's cost)."""

    rows: int
    features: int
    work: int


@dataclass(frozen=True)
class Edges:
    """A profile's boundary shapes, tried on every run before the random cases: sizes of the reduced
    or class dimension (``features``: V, K) and row counts (``rows``: N, M), block sizes and their
    neighbours, where a dropped, duplicated or unwritten element hides from small random shapes."""

    features: tuple
    rows: tuple
    backward_work: float = math.inf  # a cap on M·K·N for the layers' backward (its bound is the costly one)
    long_rows: tuple = ()  # class counts beyond any single tile (V > 65536), for cross-entropy only
    huge: tuple = ()  # (N, V) with N·V > 2^31 (64-bit offsets), for cross-entropy "none": a GPU's cases


def power_edges(limit: int, start: int = 1) -> tuple:
    """2^k - 1, 2^k, 2^k + 1 for k >= start, up to ``limit``.

    >>> power_edges(17, start=3)
    (7, 8, 9, 15, 16, 17)
    """
    out = []
    k = start
    while 2 ** k + 1 <= limit:
        out += [n for n in (2 ** k - 1, 2 ** k, 2 ** k + 1) if n not in out]
        k += 1
    return tuple(out)


def block_positions(v: int) -> list[int]:
    """Where a dropped or duplicated element hides in a row of v: the last index, and the ends of the
    largest power-of-two block below v (2^j - 1 and 2^j), distinct and in range.

    >>> block_positions(17), block_positions(16), block_positions(1)
    ([16, 15], [15, 7, 8], [0])
    """
    out = [v - 1]
    j = max(v - 1, 1).bit_length() - 1
    out += [i for i in (2 ** j - 1, 2 ** j) if 0 <= i < v - 1 and j > 0]
    return out


# Fills for boundary cases. "normal" and "positive" are random: their rounding errors are
# independent, so the probable tier applies. "integers" are small integers whose products and sums
# are exact in every format (|Σ| < 2^24 for reductions up to 2^21 terms): the exact tier applies.
FILLS = ("normal", "positive", "integers")


def filled(shape: tuple, fill: str, seed: int) -> list:
    """A nested list of ``shape`` from a seeded generator: N(0, 1), uniform in [0.5, 1] or integers in
    [-2, 2]."""
    rng = random.Random(seed)
    draw = {"normal": lambda: rng.gauss(0.0, 1.0), "positive": lambda: rng.uniform(0.5, 1.0),
            "integers": lambda: float(rng.randint(-2, 2))}[fill]
    return reshape([draw() for _ in range(math.prod(shape))], shape)


def peaked_rows(peaks: list, v: int, seed: int, margin: float = 20.0) -> list:
    """N(0, 1) logit rows of length v, row i raised ``margin`` above its maximum at column peaks[i]:
    softmax puts nearly all mass there, so dropping or duplicating that column is an O(1) error."""
    rows = filled((len(peaks), v), "normal", seed)
    for row, j in zip(rows, peaks):
        row[j] = max(row) + margin
    return rows


def special_values(p: Precision) -> list[float]:
    """NaN, ±inf, subnormals of p (the smallest and half the smallest normal) and values that
    saturate every activation (|x| of 10 to 60), for the special-value cases."""
    sub = math.ldexp(1.0, p.min_spacing_exp)
    return [math.nan, math.inf, -math.inf, sub, -sub, 0.5 * p.tiny, -0.5 * p.tiny, 10.0, -10.0, 60.0, -60.0]


@_cached
@st.composite
def layer_shape(draw, limits: Limits):
    """(M, K, N) for a layer: each dimension a size, the product within ``limits.work``."""
    k = draw(sizes(limits.features))
    n = draw(sizes(max(1, min(limits.features, limits.work // k))))
    m = draw(sizes(max(1, min(limits.rows, limits.work // (k * n)))))
    return m, k, n


STYLES = ("normal", "binades", "integers", "zeros")


def _bulk(rng: random.Random, style: str, scale: float, cap: float, positive: bool) -> float:
    if style == "normal":
        v = rng.gauss(0.0, scale)
    elif style == "binades":  # |v| log-uniform over 2^-12 .. 2^12 times scale
        v = math.ldexp(rng.uniform(0.5, 1.0), rng.randint(-12, 12)) * scale * rng.choice((-1.0, 1.0))
    elif style == "integers":
        v = float(rng.randint(-3, 3))
    else:
        v = 0.0
    v = max(-cap, min(cap, v))
    return abs(v) if positive else v


def specials(p: Precision, cap: float, positive: bool = False) -> list[float]:
    """The special values an array may contain in format p, within magnitude ``cap``."""
    vals = [0.0, 1.0, p.tiny, cap, 0.5 * cap]
    if not positive:
        vals += [-0.0, -1.0, -p.tiny, -cap]
    return vals


@_cached
def _overrides(size: int, values: tuple, n: int):
    """Up to n (position, value) pairs: the special values written over a seeded array."""
    return st.lists(st.tuples(st.integers(0, size - 1), st.sampled_from(values)), max_size=n)


_SEEDS = st.integers(0, 2 ** 32 - 1)
_SCALES = st.sampled_from((1.0, 2.0 ** -10, 2.0 ** 10))


@_cached
@st.composite
def array(draw, shape: tuple, p: Precision, *, cap: float = 1e4, scale: float | None = None, positive: bool = False,
          styles: tuple = STYLES, n_special: int = 4):
    """A nested list of float64 values of ``shape`` (a tuple of ints) for format p.

    Values stay within ±cap (the caller picks it so the operation's result is finite in p);
    ``scale`` fixes the bulk's scale (drawn among 1, 2^-10, 2^10 when None); ``positive`` draws
    magnitudes only.
    """
    seed = draw(_SEEDS)
    style = draw(choice(*styles))
    if scale is None:
        scale = draw(_SCALES)
    scale = min(scale, cap)
    rng = random.Random(seed)
    size = math.prod(shape)
    flat = [_bulk(rng, style, scale, cap, positive) for _ in range(size)]
    if size:
        for i, v in draw(_overrides(size, tuple(specials(p, cap, positive)), n_special)):
            flat[i] = v
    return reshape(flat, shape)


def reshape(flat: list, shape) -> list:
    """A flat list as nested lists of ``shape`` (row-major)."""
    if len(shape) <= 1:
        return list(flat)
    step = math.prod(shape[1:])
    return [reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def layer_cap(p: Precision, k: int) -> float:
    """Largest input magnitude for a length-k dot product whose result must stay finite in p."""
    return min(1e4, math.sqrt(p.max / (4.0 * (k + 1))))


_LOGIT_SCALES = st.sampled_from((1.0, 4.0, 2.0 ** -6))
_ROW_KINDS = st.sampled_from(("plain", "offset", "wide", "confident", "masked"))
_OFFSETS = st.sampled_from((100.0, -100.0, 1000.0, -1000.0, 1e4, -1e4))
_MARGINS = st.floats(8.0, 40.0)


@_cached
def _index(n: int):
    return st.integers(0, n - 1)


@_cached
def _masks(n: int):
    return st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1)


@_cached
@st.composite
def logit_rows(draw, n_rows: int, n_cols: int, p: Precision, *, allow_neg_inf: bool = True, protect=None):
    """[n_rows][n_cols] logits with shifted, confident and masked rows.

    ``protect[i]`` (a tuple) is a column of row i that stays finite (the target); each row keeps at least
    one finite entry. A confident row raises one column (the protected one, if any) 8 to 40
    above the row's maximum.
    """
    rows = draw(array((n_rows, n_cols), p, cap=64.0, scale=draw(_LOGIT_SCALES)))
    out = []
    for i, row in enumerate(rows):
        keep = protect[i] if protect is not None and protect[i] is not None else draw(_index(n_cols))
        kind = draw(_ROW_KINDS)
        if kind == "offset":  # a row far from 0: exp(x) overflows without the max-subtraction
            offset = draw(_OFFSETS)
            row = [v + offset for v in row]
        elif kind == "wide":  # logits thousands apart: e^{x - m} underflows even in float64
            row = [v * 256.0 for v in row]
        elif kind == "confident":
            row[keep] = max(row) + draw(_MARGINS)
        elif kind == "masked" and allow_neg_inf and n_cols > 1:
            masked = draw(_masks(n_cols))
            row = [-math.inf if j in masked and j != keep else v for j, v in enumerate(row)]
        out.append(row)
    return out


@_cached
@st.composite
def probabilities(draw, shape, p: Precision, *, labels: bool = False):
    """Values in [0, 1]: uniform, clustered at 0 and 1 (2^-k and 1 - 2^-k), or 0/1 ``labels``;
    special values 0, 1, ½, the smallest normal and 1 - u."""
    rng = random.Random(draw(_SEEDS))
    style = draw(choice(*("labels",) if labels else ("uniform", "extreme", "labels")))
    size = math.prod(shape)
    if style == "uniform":
        flat = [rng.random() for _ in range(size)]
    elif style == "extreme":
        flat = [math.ldexp(1.0, -rng.randint(1, 30)) for _ in range(size)]
        flat = [v if rng.random() < 0.5 else 1.0 - v for v in flat]
    else:
        flat = [float(rng.randint(0, 1)) for _ in range(size)]
    if size:
        for i, v in draw(_overrides(size, (0.0, 1.0, 0.5, p.tiny, 1.0 - p.storage), 4)):
            flat[i] = v
    return reshape(flat, shape)


@_cached
def option_floats(*choices: float, low: float, high: float) -> st.SearchStrategy[float]:
    """A hyperparameter: one of the usual ``choices`` or any value in [low, high]."""
    return st.one_of(st.sampled_from(choices), st.floats(low, high))
