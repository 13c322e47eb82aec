"""Dtype names: one vocabulary for every command line of the project (conformance and report).

Each format has a long name (torch's, used by the conformance suite and its vectors) and a short
one (used by the benchmark tables); wherever a dtype is given, either is accepted.

>>> long_name("bf16"), long_name("bfloat16"), short_name("float32"), short_name("tf32")
('bfloat16', 'bfloat16', 'fp32', 'tf32')
"""
SHORT = {"float64": "fp64", "float32": "fp32", "tf32": "tf32", "float16": "fp16", "bfloat16": "bf16"}
_LONG = {**{name: name for name in SHORT}, **{short: name for name, short in SHORT.items()}}


def long_name(name: str) -> str:
    """The long name of the dtype called ``name`` (long or short); ValueError if there is none."""
    try:
        return _LONG[name]
    except (KeyError, TypeError):
        choices = ", ".join(f"{long}/{short}" if long != short else long for long, short in SHORT.items())
        raise ValueError(f"unknown dtype {name!r}; expected one of {choices}") from None


def short_name(name: str) -> str:
    """The short name of the dtype called ``name`` (long or short)."""
    return SHORT[long_name(name)]
