"""Small synthetic data sets the examples share (seeded, plain lists)."""
import random


def clouds(n, seed):
    """n points, alternately of class 0 around (-0.6, 0) and class 1 around (0.6, 0), spread 0.7:
    two overlapping Gaussian clouds that no boundary separates completely.

    >>> X, y = clouds(4, seed=0)
    >>> len(X), y
    (4, [0, 1, 0, 1])
    """
    rng = random.Random(seed)
    X, y = [], []
    for k in range(n):
        label = k % 2
        X.append([rng.gauss(0.6 if label else -0.6, 0.7), rng.gauss(0.0, 0.7)])
        y.append(label)
    return X, y
