"""reference.MLPClassifier as a scikit-learn estimator, through the two-line adapter a user writes
(the reference itself never imports scikit-learn): clone, pipelines, search, and scikit-learn's own
estimator checks."""
import pickle

import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")  # check_estimator(on_fail=None)

from sklearn.base import BaseEstimator, ClassifierMixin, clone  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import reference  # noqa: E402
from reference.datasets import load_digits  # noqa: E402


class SkMLPClassifier(ClassifierMixin, BaseEstimator, reference.MLPClassifier):
    pass


# The checks a standard-library model cannot pass, with why (scikit-learn's expected_failed_checks),
# and the failure each must end in, so that one failing for another reason is caught. Every other
# check must pass.
EXPECTED_FAILURES = {
    "check_classifiers_train": ("reads predict(X).shape: predictions come back as a list, not a numpy array",
                                AttributeError, "'list' object has no attribute 'shape'"),
    "check_supervised_y_2d": ("calls predict(X).ravel(): predictions come back as a list, not a numpy array",
                              AttributeError, "'list' object has no attribute 'ravel'"),
    "check_classifier_data_not_an_array": ("its X offers its data only through numpy's __array__, not through "
                                           "len() and iteration", TypeError, "got _NotAnArray"),
    "check_estimators_unfitted": ("wants scikit-learn's own NotFittedError class; the reference raises its own "
                                  "(also a ValueError and an AttributeError)", AssertionError,
                                  "should raise a NotFittedError"),
}


def small():
    # check_estimator trains about a hundred models; scikit-learn's defaults (100 hidden units, 200
    # epochs) take ~5 minutes in pure Python, these ~10 s, and no check depends on the accuracy.
    return SkMLPClassifier(hidden_layer_sizes=(10,), max_iter=20, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array API checks: not for lists
def test_scikit_learn_estimator_checks():
    results = check_estimator(small(), on_fail=None,
                              expected_failed_checks={name: why for name, (why, _, _) in EXPECTED_FAILURES.items()})
    assert [r["check_name"] for r in results if r["status"] == "failed"] == []
    expected = [r for r in results if r["expected_to_fail"]]  # some checks run more than once
    assert {r["check_name"] for r in expected} == set(EXPECTED_FAILURES)
    for r in expected:
        _, error, message = EXPECTED_FAILURES[r["check_name"]]
        assert r["status"] == "xfail" and type(r["exception"]) is error and message in str(r["exception"]), r
    assert sum(r["status"] == "passed" for r in results) >= 45


def test_clone_keeps_the_parameters_and_drops_the_fit():
    clf = small().set_params(alpha=0.1, activation="tanh").fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    copy = clone(clf)
    assert copy.get_params() == clf.get_params() and not hasattr(copy, "classes_")
    assert copy.get_params() == reference.MLPClassifier.get_params(clf)  # scikit-learn's and the reference's agree


def test_pipeline_and_grid_search_on_digits():
    X, y = load_digits()
    X, y = X[:300], y[:300]
    clf = small().set_params(learning_rate_init=0.01, batch_size=32)
    search = GridSearchCV(make_pipeline(StandardScaler(), clf), {"skmlpclassifier__alpha": [1e-4, 1.0]}, cv=2).fit(X, y)
    assert search.best_score_ > 0.75  # 150 training images per fold
    model = pickle.loads(pickle.dumps(search.best_estimator_))
    assert list(model.predict(X)) == list(search.predict(X)) and model.score(X, y) > 0.9
