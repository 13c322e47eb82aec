# %% [markdown]
# # Will I pass the exam? One formal neuron
#
# The "Modeling: Neural Networks" deck's first neuron decides "pass" (1) or "fail" (0) from three
# inputs x1, x2, x3 weighted 0.3, 0.8 and 0.5: pass when 0.3 x1 + 0.8 x2 + 0.5 x3 >= 3. In PV021's
# notation it is a formal neuron with a unit step activation: the threshold h = 3 becomes a bias
# w0 = -h on a constant input x0 = 1, so
#
#     ξ = w0 + w1 x1 + w2 x2 + w3 x3 = -3 + 0.3 x1 + 0.8 x2 + 0.5 x3,   y = σ(ξ) = 1 if ξ >= 0 else 0.

# %%
from reference.neuron import exam_neuron, threshold_potential

exam = exam_neuron()
print("weights [w0, w1, w2, w3] =", exam.weights)
students = {"Ann": [2, 2, 2], "Bob": [5, 0, 2], "Cid": [0, 3, 1], "Dee": [10, 0, 0]}
results = {}
for who, x in students.items():
    xi = exam.potential(x)
    results[who] = exam.output(x)
    print(f"{who}: x = {x}  ξ = {xi:+.2f}  y = {results[who]:.0f}")

# %% [markdown]
# The threshold form and the bias form are the same neuron: Σ w_i x_i - h = w0 + Σ w_i x_i.

# %%
same = all(threshold_potential([0.3, 0.8, 0.5], 3.0, x) == exam.potential(x) for x in students.values())
print("threshold form == bias form for every student:", same)

# %% [markdown]
# Geometrically the neuron cuts the input space in two by the plane 0.3 x1 + 0.8 x2 + 0.5 x3 = 3:
# every input on or above it passes. x2 matters most (0.8 a unit), yet Cid, with x2 = 3 and
# x3 = 1, falls just short (ξ = -3 + 2.4 + 0.5 = -0.1). Dee passes on x1 alone, exactly on the
# plane (ξ = 0, and the step function gives σ(0) = 1).
