"""reference.MLPClassifier: the scikit-learn-like facade."""
import array
import math

import pytest

import reference
from reference.classifier import DataConversionWarning, MLPClassifier, NotFittedError
from reference.datasets import fit_standardizer, load_digits, standardize, train_test_split, xor
from reference.optimizers import SGD, Adam


@pytest.fixture(scope="module")
def small_digits():
    X, y = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X[:400], y[:400], 0.25, seed=0)
    means, stds = fit_standardizer(X_tr)
    return standardize(X_tr, means, stds), standardize(X_te, means, stds), y_tr, y_te


def test_exported_from_the_package():
    assert reference.MLPClassifier is MLPClassifier


def test_fit_predict_score_on_real_digits(small_digits):
    X_tr, X_te, y_tr, y_te = small_digits
    clf = MLPClassifier(hidden_layer_sizes=(16,), activation="tanh", learning_rate_init=0.01, batch_size=32,
                        max_iter=15, random_state=0)
    assert clf.fit(X_tr, y_tr) is clf
    assert clf.classes_ == list(range(10))
    assert clf.n_iter_ == len(clf.loss_curve_) == len(clf.history_) <= 15
    assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert clf.score(X_te, y_te) > 0.85  # 100 held-out images, 300 training images
    proba = clf.predict_proba(X_te)
    assert all(len(p) == 10 and math.fsum(p) == pytest.approx(1.0) for p in proba)
    assert clf.predict(X_te) == [clf.classes_[p.index(max(p))] for p in proba]
    assert clf.validation_scores_ is None


def test_arbitrary_labels_and_sklearn_names():
    X, y = xor()
    labels = ["no", "yes", "yes", "no"]
    clf = MLPClassifier((5,), "logistic", solver="sgd", learning_rate_init=0.5, momentum=0.9, max_iter=300,
                        batch_size=4, random_state=1, tol=0.0)
    clf.fit(X, labels)
    assert clf.classes_ == ["no", "yes"] and clf.predict(X) == labels and clf.score(X, labels) == 1.0
    assert clf.model_.activations == ["sigmoid", "identity"]


def test_sklearn_layout_of_weights():
    X, y = xor()
    clf = MLPClassifier(hidden_layer_sizes=(3, 4), max_iter=2, random_state=0).fit(X, y)
    assert [(len(c), len(c[0])) for c in clf.coefs_] == [(2, 3), (3, 4), (4, 2)]
    assert [len(b) for b in clf.intercepts_] == [3, 4, 2]
    assert clf.coefs_[0][1][2] == clf.model_.layers[0][2][2]  # input 1 -> neuron 2 (bias is column 0)
    assert clf.intercepts_[1][3] == clf.model_.layers[1][3][0]


def test_solvers_use_the_scikit_learn_update_forms():
    clf = MLPClassifier(solver="sgd", learning_rate_init=0.2, momentum=0.8)
    opt = clf._optimizer()
    assert isinstance(opt, SGD) and opt.momentum_form == "lr_inside" and opt.nesterov and opt.lr == 0.2
    opt = MLPClassifier(solver="adam", beta_1=0.8, epsilon=1e-6)._optimizer()
    assert isinstance(opt, Adam) and opt.eps_placement == "before_bias_correction"
    assert (opt.beta1, opt.eps) == (0.8, 1e-6)
    assert type(MLPClassifier(solver="rmsprop")._optimizer()).__name__ == "RMSprop"


def test_convergence_stop_on_training_loss():
    X, y = xor()
    clf = MLPClassifier((4,), "tanh", learning_rate_init=1e-9, max_iter=100, tol=1.0, n_iter_no_change=3,
                        random_state=0, batch_size=4).fit(X, y)
    assert clf.n_iter_ == 4  # the first epoch sets the best loss, three more fail to improve by tol


def test_early_stopping_holds_out_a_validation_split(small_digits):
    X_tr, _, y_tr, _ = small_digits
    clf = MLPClassifier((12,), "tanh", learning_rate_init=0.02, batch_size=20, max_iter=40, early_stopping=True,
                        validation_fraction=0.2, n_iter_no_change=2, random_state=3).fit(X_tr, y_tr)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)
    assert clf.history_.stopped_early == (clf.n_iter_ < 40)


def test_same_random_state_same_model():
    X, y = xor()
    a = MLPClassifier((3,), max_iter=5, batch_size=2, random_state=7).fit(X, y)
    b = MLPClassifier((3,), max_iter=5, batch_size=2, random_state=7).fit(X, y)
    assert a.model_.layers == b.model_.layers and a.loss_curve_ == b.loss_curve_


def test_verbose_prints_the_loss(capsys):
    X, y = xor()
    MLPClassifier((2,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    assert capsys.readouterr().out.startswith("Iteration 1, loss = ")


@pytest.mark.parametrize("kwargs, X, y, error, message", [
    ({"solver": "lbfgs"}, [[0.0], [1.0]], [0, 1], ValueError, "unknown solver"),
    ({"activation": "swish"}, [[0.0], [1.0]], [0, 1], ValueError, "unknown activation"),
    ({"learning_rate_init": 0.0}, [[0.0], [1.0]], [0, 1], ValueError, "learning_rate_init must be"),
    ({"learning_rate_init": -1.0}, [[0.0], [1.0]], [0, 1], ValueError, "learning_rate_init must be"),
    # every parameter by the name the user gave it, not by the internal one it is passed on as
    ({"alpha": -1.0}, [[0.0], [1.0]], [0, 1], ValueError, r"^alpha must be a finite number >= 0, got -1.0$"),
    ({"validation_fraction": 1.5, "early_stopping": True}, [[0.0], [1.0]], [0, 1], ValueError,
     r"^validation_fraction must be in \(0, 1\), got 1.5$"),
    ({"n_iter_no_change": 0}, [[0.0], [1.0]], [0, 1], ValueError, r"^n_iter_no_change must be an int >= 1, got 0$"),
    ({"beta_1": 1.0}, [[0.0], [1.0]], [0, 1], ValueError, r"^beta_1 must be in \[0, 1\), got 1.0$"),
    ({"beta_2": float("nan")}, [[0.0], [1.0]], [0, 1], ValueError, r"^beta_2 must be in \[0, 1\), got nan$"),
    ({"epsilon": 0.0}, [[0.0], [1.0]], [0, 1], ValueError, r"^epsilon must be a finite number > 0, got 0.0$"),
    ({"momentum": 1.5}, [[0.0], [1.0]], [0, 1], ValueError, r"^momentum must be in \[0, 1\), got 1.5$"),
    ({"tol": "0"}, [[0.0], [1.0]], [0, 1], ValueError, r"^tol must be a finite number >= 0, got '0'$"),
    ({"random_state": "seed"}, [[0.0], [1.0]], [0, 1], TypeError, r"^random_state must be None, an int or"),
    ({}, [[0.0], [1.0], [2.0]], [0, "a", 1], TypeError, r"^y must hold labels of one sortable type .*, got int and str$"),
    ({"hidden_layer_sizes": (0,)}, [[0.0], [1.0]], [0, 1], ValueError, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": "10"}, [[0.0], [1.0]], [0, 1], TypeError, "hidden_layer_sizes"),
    ({"batch_size": 0}, [[0.0], [1.0]], [0, 1], ValueError, "batch_size"),
    ({"max_iter": 0}, [[0.0], [1.0]], [0, 1], ValueError, "max_iter"),
    ({}, [[0.0], [1.0]], [0, 0], ValueError, "at least two classes"),
    ({}, [[0.0], [1.0]], [0], ValueError, "same length"),
    ({}, [[0.0], [1.0, 2.0]], [0, 1], ValueError, "rectangular"),
])
def test_bad_input_is_rejected(kwargs, X, y, error, message):
    with pytest.raises(error, match=message):
        MLPClassifier(**kwargs).fit(X, y)


# What scikit-learn says about the same input, so its users recognise it.
@pytest.mark.parametrize("X, y, error, message", [
    ([[0.0], [float("nan")]], [0, 1], ValueError, r"^Input X contains NaN \(X\[1\]\[0\]\)\.$"),
    ([[0.0], [-math.inf]], [0, 1], ValueError, r"^Input X contains infinity or a value too large for dtype\('float64'\)"),
    ([[0.0], [10 ** 400]], [0, 1], ValueError, "^Input X contains infinity"),
    ([[0.0], [1.0]], [0, math.nan], ValueError, r"^Input y contains NaN \(y\[1\]\)\.$"),
    ([[0.0], [1.0]], [0, math.inf], ValueError, "^Input y contains infinity"),
    ([[0.0], [1j]], [0, 1], ValueError, r"^Complex data not supported \(X\[1\]\[0\] = 1j\)$"),
    ([[0.0], [1.0]], [0, 1 + 1j], ValueError, "^Complex data not supported"),
    ([[0.0], [{"a": 1}]], [0, 1], TypeError, r"^float\(\) argument must be a string or a real number, not 'dict'"),
    ([[0.0], ["1.5"]], [0, 1], ValueError, "^X\\[1\\]\\[0\\] is the string '1.5': convert your data to numeric"),
    ([], [], ValueError, r"^Found array with 0 sample\(s\) \(shape=\(0,\)\) while a minimum of 2 is required by "
     r"MLPClassifier\.$"),
    ([[], []], [0, 1], ValueError, r"^Found array with 0 feature\(s\) \(shape=\(2, 0\)\) while a minimum of 1"),
    ([[0.0, 1.0]], [0], ValueError, r"^Found array with 1 sample\(s\) \(shape=\(1, 2\)\) while a minimum of 2"),
    ([0.0, 1.0], [0, 1], ValueError, r"^Expected 2D array, got 1D array instead\. Reshape your data"),
    ([[[0.0]], [[1.0]]], [0, 1], ValueError, r"^Found array with dim 3\. MLPClassifier expected <= 2\.$"),
    ([[0.0], 1.0], [0, 1], ValueError, r"^X must be rectangular: X\[0\] has 1 entries, X\[1\] is a float$"),
    (3.0, [0, 1], TypeError, "^Expected a 2D array"),
    ([[0.0], [1.0], [2.0]], [0.0, 0.5, 1.0], ValueError, r"^Unknown label type: continuous \(y\[1\] = 0.5\)"),
    ([[0.0], [1.0]], None, ValueError, "^MLPClassifier requires y to be passed, but the target y is None"),
    ([[0.0], [1.0]], [[0, 1], [1, 0]], ValueError, "^y should be a 1d array"),
    ([[0.0], [1.0]], [0, 1, 0], ValueError, r"inconsistent numbers of samples: \[2, 3\]$"),
])
def test_input_errors_say_what_scikit_learn_says(X, y, error, message):
    with pytest.raises(error, match=message):
        MLPClassifier(max_iter=1).fit(X, y)


class Sparse:
    """Quacks like a scipy.sparse matrix (which the reference recognises without importing scipy)."""

    nnz = 1
    shape = (2, 1)


def test_sparse_input_is_not_supported():
    with pytest.raises(TypeError, match="^Sparse data was passed for X, but dense data is required: sparse input is not"):
        MLPClassifier().fit(Sparse(), [0, 1])
    with pytest.raises(TypeError, match="^Sparse data was passed for y"):
        MLPClassifier().fit([[0.0], [1.0]], Sparse())


def test_any_sequences_of_numbers():
    """Rows and labels are read with len() and iteration: tuples, array.array, numpy arrays."""
    X, y = xor()
    reference_fit = MLPClassifier((3,), max_iter=3, batch_size=2, random_state=0).fit(X, y)
    inputs = [tuple(map(tuple, X)), [array.array("d", row) for row in X], [[int(v) for v in row] for row in X]]
    np = pytest.importorskip("numpy")
    inputs.append(np.array(X, dtype=np.float32))
    for X_as in inputs:
        for y_as in (tuple(y), array.array("q", y), np.array(y)):
            clf = MLPClassifier((3,), max_iter=3, batch_size=2, random_state=0).fit(X_as, y_as)
            assert clf.loss_curve_ == reference_fit.loss_curve_ and clf.n_features_in_ == 2
            assert clf.predict(X_as) == reference_fit.predict(X) and clf.score(X_as, y_as) == reference_fit.score(X, y)


def test_float_and_column_vector_labels():
    X, y = xor()
    clf = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, [float(v) for v in y])  # whole numbers: classes
    assert clf.classes_ == [0.0, 1.0]
    with pytest.warns(DataConversionWarning, match="^A column-vector y was passed when a 1d array was expected"):
        clf.fit(X, [[v] for v in y])
    assert clf.classes_ == [0, 1]


def test_get_and_set_params_follow_scikit_learn():
    clf = MLPClassifier((7,), "tanh", alpha=0.5)
    params = clf.get_params()
    assert list(params) == sorted(params) and len(params) == 20
    assert params["hidden_layer_sizes"] == (7,) and params["alpha"] == 0.5 and params["random_state"] is None
    assert clf.set_params(alpha=-1.0, max_iter=3) is clf and clf.alpha == -1.0  # stored as given ...
    with pytest.raises(ValueError, match="^alpha must be"):  # ... and checked at fit
        clf.fit(*xor())
    with pytest.raises(ValueError, match="^Invalid parameter 'learning_rate_schedule' for estimator MLPClassifier"):
        clf.set_params(learning_rate_schedule="constant")
    copy = MLPClassifier(**clf.get_params())
    assert copy.get_params() == clf.get_params()


def test_use_before_fit_and_mismatched_scoring():
    clf = MLPClassifier()
    for use in (clf.predict, clf.predict_proba, lambda X: clf.score(X, [0])):
        with pytest.raises(NotFittedError, match="^This MLPClassifier instance is not fitted yet"):
            use([[0.0]])
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "n_features_in_")
    X, y = xor()
    clf = MLPClassifier((2,), max_iter=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="same length"):
        clf.score(X, y[:3])
    with pytest.raises(ValueError, match="^X has 3 features, but MLPClassifier is expecting 2 features as input"):
        clf.predict([[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="^Found array with 0 sample"):
        clf.predict_proba([])


def test_learning_rate_schedule_option():
    from reference.classifier import MLPClassifier as C
    X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    assert C(hidden_layer_sizes=(2,), learning_rate="constant", max_iter=2, random_state=0).fit(X, y).n_iter_ >= 1
    C(hidden_layer_sizes=(2,), learning_rate="adaptive", solver="adam", max_iter=1, random_state=0).fit(X, y)  # ignored by adam
    with pytest.raises(NotImplementedError, match="adaptive"):
        C(learning_rate="adaptive", solver="sgd").fit(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        C(learning_rate="fast").fit(X, y)
