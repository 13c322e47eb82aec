"""Model solutions of the exercises, kept apart from them: ``python -m reference.course exercise NAME
--solution`` prints one. Each is the text of an answer file that the checker accepts (tested)."""

SOLUTIONS = {
    "exam_neuron": "ANSWER = [-3.0, 0.3, 0.8, 0.5]  # 0.3 x1 + 0.8 x2 + 0.5 x3 >= 3  <=>  -3 + 0.3 x1 + ... >= 0\n",
    "nand": "ANSWER = [1.5, -1.0, -1.0]  # fires unless both inputs are 1: 1.5 - 2 < 0\n",
    "xor_network": ("# hidden: OR (-1 + 2x1 + 2x2 >= 0) and NAND (3 - 2x1 - 2x2 >= 0); output: their AND\n"
                    "ANSWER = [[[-1.0, 2.0, 2.0], [3.0, -2.0, -2.0]], [[-2.0, 1.0, 1.0]]]\n"),
    "perceptron_update": '''def perceptron_update(w, x, d, eta):
    xt = [1.0, *x]                                    # x0 = 1 carries the bias w0
    y = 1 if sum(wi * xi for wi, xi in zip(w, xt)) >= 0 else 0
    return [wi + eta * (d - y) * xi for wi, xi in zip(w, xt)]
''',
    "count_parameters": '''def n_parameters(sizes):
    # each of the n_l neurons of layer l has n_{l-1} weights and one bias
    return sum((k + 1) * n for k, n in zip(sizes, sizes[1:]))
''',
    "chain_rule": '''import math


def dy_dx(x):
    g = x * x
    return math.cos(g) * 2 * x                        # dy/dg · dg/dx
''',
    "cross_entropy_bits": '''import math


def cross_entropy_bits(p, d):
    return -math.fsum(di * math.log2(pi) for pi, di in zip(p, d) if di)   # 0 · log 0 counts as 0
''',
    "softmax": '''import math


def softmax(xs):
    m = max(xs)                                       # e^(x - m) <= 1: no overflow; the largest is 1: no 0/0
    e = [math.exp(x - m) for x in xs]
    total = math.fsum(e)
    return [v / total for v in e]
''',
    "layer_backward": '''import math


def layer_backward(x, W, b, grad_y):
    sig = lambda z: 1 / (1 + math.exp(-z))
    xi = [[b[n] + sum(w * v for w, v in zip(W[n], row)) for n in range(len(W))] for row in x]
    delta = [[g * sig(z) * (1 - sig(z)) for g, z in zip(gy, zs)] for gy, zs in zip(grad_y, xi)]   # δ = grad_y ⊙ σ'(ξ)
    dx = [[sum(d[n] * W[n][k] for n in range(len(W))) for k in range(len(W[0]))] for d in delta]   # δ W
    dW = [[sum(delta[m][n] * x[m][k] for m in range(len(x))) for k in range(len(W[0]))] for n in range(len(W))]  # δᵀ x
    db = [sum(d[n] for d in delta) for n in range(len(W))]                                          # Σ_m δ
    return dx, dW, db
''',
    "adam_step": '''import math


def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g)]
    v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g)]
    m_hat = [mi / (1 - beta1 ** t) for mi in m]       # bias corrections: m and v start at 0
    v_hat = [vi / (1 - beta2 ** t) for vi in v]
    return [wi - lr * mh / (math.sqrt(vh) + eps) for wi, mh, vh in zip(w, m_hat, v_hat)], m, v
''',
}
