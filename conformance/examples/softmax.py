"""An external implementation for `python -m conformance check-vectors`, in plain Python.

softmax and log_softmax over the rows of a 2-D array, speaking the stdin/stdout protocol of
conformance/vectors.py; it imports nothing from this project (the same program as softmax.c):

    python -m conformance check-vectors vectors --command "python conformance/examples/softmax.py"
"""
import math
import sys


def rows(x, n_cols, log_space):
    """y_j = x_j - m - log Σ_k e^{x_k - m}, m = max_k x_k (no exp overflows); softmax is e^{y_j}."""
    out = []
    for r in range(0, len(x), n_cols):
        row = x[r:r + n_cols]
        m = max(row)
        total = sum(math.exp(v - m) for v in row)
        out += [(v - m) - math.log(total) if log_space else math.exp(v - m) / total for v in row]
    return out


def answers(tokens):
    """Yield the answer text to each request in the token stream."""
    pos = 0
    while pos < len(tokens):
        if tokens[pos] != "request":
            raise SystemExit(f"softmax.py: expected a request, got {tokens[pos]!r}")
        op, pos = tokens[pos + 1], pos + 3
        arrays = {}
        while tokens[pos] != "end":
            kind, name = tokens[pos], tokens[pos + 1]
            if kind == "option":
                pos += 3 + int(tokens[pos + 2])
            elif kind == "array":
                ndim = int(tokens[pos + 2])
                dims = [int(t) for t in tokens[pos + 3:pos + 3 + ndim]]
                size = math.prod(dims)
                start = pos + 3 + ndim
                arrays[name] = (dims, [float(t) for t in tokens[start:start + size]])
                pos = start + size
            else:
                raise SystemExit(f"softmax.py: expected option, array or end, got {kind!r}")
        pos += 1
        dims, x = arrays.get("x", ([], []))
        if op in ("softmax", "log_softmax") and len(dims) == 2:
            values = " ".join(repr(v) for v in rows(x, dims[1], op == "log_softmax"))
            yield f"result\narray y 2 {dims[0]} {dims[1]}\n{values}\nend\n"
        else:
            yield "unsupported\n"


if __name__ == "__main__":
    sys.stdout.writelines(answers(sys.stdin.read().split()))
