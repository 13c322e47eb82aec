"""The reference: a readable, standard-library-only float64 implementation of the course's neural
networks, used as the numerical oracle for the fast kernels and read as teaching material.

Submodules (import what you need; ``import reference`` itself loads nothing else):

* ``vector``, ``activations``, ``linear``, ``losses``, ``gradcheck`` – the numerical building blocks;
* ``core`` – a first read: the MLP's forward pass and back-propagation in ~60 lines;
* ``mlp`` – the multilayer perceptron with back-propagation;
* ``initialization``, ``optimizers``, ``regularization``, ``training`` – learning;
* ``classifier`` – ``MLPClassifier``, a scikit-learn-like facade; ``datasets`` – XOR, the patients and the digits;
* ``python -m reference.train digits`` – train on the real handwritten digits from the command line.

The names below are re-exported here and imported on first use.

>>> import reference
>>> reference.MLP([3, 3, 2, 1]).n_parameters
23
"""
from importlib import import_module

_EXPORTS = {
    "MLP": "mlp",
    "MLPClassifier": "classifier",
    "NotFittedError": "classifier",
    "load_digits": "datasets",
    "load_patients": "datasets",
    "xor": "datasets",
    "train_test_split": "datasets",
    "fit": "training",
    "History": "training",
    "EarlyStopping": "regularization",
    "SGD": "optimizers",
    "Adam": "optimizers",
    "AdamW": "optimizers",
    "RMSprop": "optimizers",
    "Adagrad": "optimizers",
    "get_activation": "activations",
    "cross_entropy": "losses",
    "gradcheck": "gradcheck",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    # Lazy: importing the package stays cheap, and a submodule is loaded only when one of its
    # names is first used.
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
