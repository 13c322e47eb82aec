"""reference.datasets: the vendored digits, XOR, splitting and scaling."""
import hashlib
import math

import pytest

from reference.datasets import (
    DATA_DIR, check_labels, fit_standardizer, load_digits, one_hot, standardize, train_test_split, xor,
)

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_digits_shape_values_and_class_counts(digits):
    X, y = digits
    assert len(X) == len(y) == 1797
    assert all(len(row) == 64 for row in X)
    assert all(v == int(v) and 0 <= v <= 16 for row in X for v in row)
    assert all(isinstance(v, float) for v in X[0]) and all(isinstance(label, int) for label in y)
    # The UCI optdigits test set's class sizes.
    assert [y.count(d) for d in range(10)] == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_first_image_is_a_zero(digits):
    X, y = digits
    assert y[0] == 0
    assert X[0][:16] == [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]


def test_vendored_file_is_the_documented_one_with_its_licence():
    assert hashlib.sha256((DATA_DIR / "digits.csv.gz").read_bytes()).hexdigest() == DIGITS_SHA256
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    assert DIGITS_SHA256 in readme and "CC BY 4.0" in readme and "Alpaydin" in readme
    assert "BSD 3-Clause" in (DATA_DIR / "LICENSE-scikit-learn.txt").read_text(encoding="utf-8")
    assert (DATA_DIR / "digits.rst").exists()


def test_digits_equal_scikit_learns_copy(digits):
    sk = pytest.importorskip("sklearn.datasets")
    X_sk, y_sk = sk.load_digits(return_X_y=True)
    X, y = digits
    assert X == X_sk.tolist() and y == y_sk.tolist()


def test_xor():
    X, y = xor()
    assert X == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] and y == [0, 1, 1, 0]


def test_stratified_split_keeps_class_proportions_and_partitions(digits):
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.2, seed=0)
    assert len(X_tr) + len(X_te) == 1797 and len(y_tr) == len(X_tr)
    for d in range(10):
        assert y_te.count(d) == round(y.count(d) * 0.2)
    seen = sorted(map(tuple, X_tr + X_te))
    assert seen == sorted(map(tuple, X))  # nothing lost, nothing duplicated
    assert train_test_split(X, y, 0.2, seed=0) == (X_tr, X_te, y_tr, y_te)
    assert train_test_split(X, y, 0.2, seed=1)[3] != y_te


def test_plain_split_keeps_order_and_size():
    X = [[float(i)] for i in range(50)]
    y = list(range(50))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, 0.3, seed=2, stratify=False)
    assert len(X_te) == 15 and y_te == sorted(y_te) and y_tr == sorted(y_tr)
    assert [x[0] for x in X_te] == [float(v) for v in y_te]  # rows stay with their labels


@pytest.mark.parametrize("args, kwargs, error, message", [
    (([[1.0]] * 3, [0, 1]), {}, ValueError, "same length"),
    (([[1.0]] * 3, [0, 1, 0], 1.0), {}, ValueError, "test_fraction"),
    (([[1.0]] * 3, [0, 1, 0], 0.01), {}, ValueError, "empty"),
    (([[1.0]] * 2, [0, 1.5]), {}, TypeError, "int class label"),
    (([[1.0]] * 2, [0, -1]), {}, ValueError, "out of range"),
])
def test_split_rejects_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        train_test_split(*args, **kwargs)


def test_standardize_gives_zero_mean_unit_variance(digits):
    X, _ = digits
    means, stds = fit_standardizer(X)
    Z = standardize(X, means, stds)
    for j, col in enumerate(zip(*Z)):
        mean = math.fsum(col) / len(col)
        var = math.fsum(v * v for v in col) / len(col) - mean * mean
        assert abs(mean) < 1e-12
        if stds[j] == 1.0 and all(v == X[0][j] for v in (row[j] for row in X)):
            assert set(col) == {0.0}  # a constant pixel (always 0 in these images)
        else:
            assert var == pytest.approx(1.0, rel=1e-12)


def test_standardize_errors():
    with pytest.raises(ValueError, match="finite"):
        fit_standardizer([[1.0], [float("nan")]])
    with pytest.raises(ValueError, match="at least one example"):
        fit_standardizer([])
    with pytest.raises(ValueError, match="same length"):
        standardize([[1.0]], [0.0], [1.0, 2.0])


def test_one_hot_and_labels():
    assert one_hot([1, 0, 2], 3) == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="0 <= label < 3"):
        one_hot([3], 3)
    with pytest.raises(TypeError, match="int class label"):
        check_labels([True])
    with pytest.raises(TypeError, match="list of int class labels"):
        check_labels(5)
