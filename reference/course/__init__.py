"""The course's worked examples as small literate programs, one module per topic.

Each module is a sequence of percent-format cells (``# %%``), so it opens as a notebook in Jupyter
or VS Code (with jupytext) and runs as a script. Running a module *is* the example: it prints what
it computes and leaves its results in module-level names, which the tests assert.

    python -m reference.course --list          the examples, in the order of the course
    python -m reference.course patients        run one
    python -m reference.course --all           run every one (well under 2 minutes on 2 cores)

``reference/COURSE.md`` maps every slide of the decks to the code and to these examples.
"""
from __future__ import annotations

# name -> one-line title, in the order a student meets them.
EXAMPLES = {
    "exam_neuron": "the 'will I pass the exam?' neuron: weights, threshold, bias",
    "boolean": "NOT/AND/OR as one neuron; why no neuron computes XOR; the XOR lines; any truth table",
    "perceptron": "learning AND and OR by the rule; the convergence bound (R/γ)²; XOR never converges",
    "delta_rule": "Δw_ji = η (d_j - y_j) g'(ξ_j) x_i with a sigmoid g, and the ADALINE",
    "activations": "step, sigmoid with steepness λ, tanh, ReLU and their derivatives; PV021's 'tanh'",
    "approximation": "one wide hidden layer (ReLU hinges, sigmoid steps) or many narrow ones; the ReLU set hint",
    "depth": "parity and majority: truth table vs counting vs depth; what Håstad's lemma says; the sawtooth",
    "regions": "half-planes, their intersections (convex) and unions; a disk covered by squares",
    "alpha_beta_gamma": "the 3-3-2-1 network in α/β/γ notation: 23 parameters, the formula = the forward pass",
    "chain_rule": "dy/dx = dy/dg · dg/dx on y = sin(x²), checked by central differences",
    "backprop_by_hand": "back-propagation by hand on a 2-2-1 network, checked by the gradient checker",
    "cross_entropy": "BCE and CCE with the slide's numbers (in bits: 0.3677 and 0.0923) and its typos",
    "softmax": "probabilities from scores, invariance to shifts, overflow, the gradient p - e_y",
    "optimizers": "gradient descent vs SGD vs momentum vs Adam on a two-weight loss surface",
    "learning_rate": "η too small, right and too large on a quadratic and on a network, judged over a window",
    "regularization": "overfitting, and L2, dropout and early stopping against it",
    "patients": "age and blood pressure -> disease: BCE + Adam (lr 0.01, 1000 epochs), raw vs standardized inputs",
    "mnist_recipe": "the hardware deck's MNIST recipe (SGD, batches of 100, 10 epochs) on the 8x8 digits",
    "frameworks": "the scikit-learn and Keras slides' code, translated to the reference",
}


def module_name(name: str) -> str:
    """The importable module of example ``name`` (ValueError for an unknown one)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown example {name!r}; expected one of {', '.join(EXAMPLES)}")
    return f"{__name__}.{name}"
