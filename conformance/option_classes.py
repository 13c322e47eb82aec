"""Option classes: what kind of input a case is, so that one failing kind does not hide the others.

A case's class is the set of its features: an empty batch (an array with 0 rows), special values
(inf or NaN in an input), a layout other than contiguous, an array's own layout or format ("expanded
grad_output", "float16 weight"), and each option the operation lists in ``Operation.option_defaults``
that is set away from its default. When a check fails, the runner
searches again without the failing case's class (every case whose features include it is
skipped), so a kernel that crashes on an empty batch is still checked on everything else, and a
failure at a special value (whose expected result is a convention: TOLERANCE.md, "Special
values") is followed by the smallest failing example of finite inputs, if there is one.

>>> from conformance.operations import OPERATIONS
>>> op = OPERATIONS["cross_entropy[sum]"]
>>> of(op, {"arrays": {"logits": [[1.0, float("-inf")]], "target": [0], "weight": [1.0, 2.0]},
...         "options": {"reduction": "sum", "ignore_index": -100, "z_loss": 0.1}, "layout": "strided"})
('special values', 'strided layout', 'weight', 'z_loss')
>>> excluded(("weight", "z_loss"), [("z_loss",)]), excluded(("weight",), [("weight", "z_loss")])
(True, False)
"""
from __future__ import annotations

import math

EMPTY, SPECIAL = "empty batch", "special values"
SPECIAL_NOTE = (" (the expected result at inf or NaN is torch's convention: conformance/TOLERANCE.md, "
                "\"Special values\")")


def _floats(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _floats(v)
    elif isinstance(value, float):
        yield value


def of(op, case: dict) -> tuple[str, ...]:
    """The sorted features of ``case`` (a case of operation ``op``); () for a plain case."""
    arrays, options = case["arrays"], case["options"]
    features = set()
    if any(0 in shape for shape in case.get("shapes", {}).values()) or any(v == [] for v in arrays.values()):
        features.add(EMPTY)
    if any(not math.isfinite(v) for v in _floats(list(arrays.values()))):
        features.add(SPECIAL)
    if case.get("layout", "contiguous") != "contiguous":
        features.add(f"{case['layout']} layout")
    features.update(f"{layout} {name}" for name, layout in case.get("layouts", {}).items())
    features.update(f"{fmt} {name}" for name, fmt in case.get("formats", {}).items())
    for name, default in op.option_defaults.items():
        value = arrays[name] if name in arrays else options.get(name, default)
        if (value is None) != (default is None) or (value is not None and value != default):
            features.add(name)
    return tuple(sorted(features))


def excluded(features: tuple, classes) -> bool:
    """True if a case of these features belongs to any of ``classes`` (has all of one's features)."""
    return any(set(c) <= set(features) for c in classes)


def describe(features: tuple) -> str:
    """The class in words, for reports."""
    return "plain inputs (every option at its default)" if not features else "with " + ", ".join(features)
