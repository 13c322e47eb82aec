"""Everything in reference/ pickles: activations, networks, optimizers mid-training, learning curves,
fitted classifiers; a round trip computes the same."""
import pickle

import pytest

from reference.activations import ACTIVATIONS
from reference.boolean import XOR
from reference.classifier import MLPClassifier
from reference.datasets import xor
from reference.mlp import MLP
from reference.neuron import Neuron
from reference.optimizers import OPTIMIZERS
from reference.regularization import EarlyStopping
from reference.training import fit, predict_proba


def round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation(name):
    act = round_trip(ACTIVATIONS[name])
    assert act == ACTIVATIONS[name]
    assert [act.f(x) for x in (-2.0, 0.5)] == [ACTIVATIONS[name].f(x) for x in (-2.0, 0.5)]
    assert [act.df(x) for x in (-2.0, 0.5)] == [ACTIVATIONS[name].df(x) for x in (-2.0, 0.5)]


def test_neuron_and_boolean_network():
    neuron = round_trip(Neuron([0.0, 1.0], "sigmoid", lam=2.0))
    assert neuron.output([1.0]) == Neuron([0.0, 1.0], "sigmoid", lam=2.0).output([1.0])
    assert [round_trip(XOR)(x) for x in ([0, 0], [0, 1])] == [0, 1]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_training_resumes_identically_after_a_round_trip(name):
    """The network, the optimizer's state (moments, step count) and the stopper survive pickling."""
    X, y = xor()
    net = MLP([2, 3, 2], ["leaky_relu", "identity"], activation_params=[{"negative_slope": 0.2}, {}], seed=0)
    opt, stop = OPTIMIZERS[name](0.05), EarlyStopping(patience=50, monitor="train_loss")
    history = fit(net, X, y, opt, epochs=2, batch_size=2, seed=0)
    copies = round_trip((net, opt, history))
    assert copies[2] == history and copies[1].t == opt.t
    for model, optimizer in ((net, opt), copies[:2]):
        fit(model, X, y, optimizer, epochs=2, batch_size=2, seed=1, early_stopping=round_trip(stop))
    assert copies[0].layers == net.layers
    assert predict_proba(copies[0], X) == predict_proba(net, X)


def test_fitted_classifier_predicts_the_same():
    X, y = xor()
    clf = MLPClassifier((4,), "tanh", max_iter=20, batch_size=4, random_state=0, early_stopping=True,
                        validation_fraction=0.5, n_iter_no_change=3).fit(X * 3, y * 3)
    copy = round_trip(clf)
    assert copy.predict_proba(X) == clf.predict_proba(X) and copy.predict(X) == clf.predict(X)
    assert copy.get_params() == clf.get_params() and copy.loss_curve_ == clf.loss_curve_
