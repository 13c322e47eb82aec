# %% [markdown]
# # Boolean functions: NOT, AND, OR, and why XOR needs two layers
#
# Every neuron here has the unit step activation, σ(ξ) = 1 if ξ >= 0 else 0, and inputs in {0, 1}.

# %%
from itertools import product

from reference.boolean import AND, NOT, OR, XOR, inputs, network_from_truth_table, truth_table

print("NOT: ξ = -x1            ", [NOT([x]) for x in (0, 1)])
print("AND: ξ = -2 + x1 + x2   ", [AND(2)(list(x)) for x in inputs(2)])
print("OR:  ξ = -1 + x1 + x2   ", [OR(2)(list(x)) for x in inputs(2)])
not_table = [NOT([x]) for x in (0, 1)]
and_table = [AND(2)(list(x)) for x in inputs(2)]
or_table = [OR(2)(list(x)) for x in inputs(2)]

# %% [markdown]
# ## No single neuron computes XOR
# Suppose w0 + w1 x1 + w2 x2 did. Then (0,0) -> 0 needs w0 < 0; (1,0) -> 1 and (0,1) -> 1 need
# w0 + w1 >= 0 and w0 + w2 >= 0; (1,1) -> 0 needs w0 + w1 + w2 < 0. Adding the middle two gives
# 2 w0 + w1 + w2 >= 0, i.e. w0 + w1 + w2 >= -w0 > 0: a contradiction. Geometrically, no line
# separates {(0,1), (1,0)} from {(0,0), (1,1)}. A search over a grid of weights agrees: of the 16
# Boolean functions of two inputs, a single neuron computes 14, all but XOR and XNOR.

# %%
grid = [v / 2 for v in range(-6, 7)]  # weights -3, -2.5, ..., 3
found = set()
for w0, w1, w2 in product(grid, repeat=3):
    found.add(tuple(int(w0 + w1 * a + w2 * b >= 0) for a, b in inputs(2)))
xor_table = truth_table(lambda x: x[0] ^ x[1], 2)
n_single_neuron = len(found)
print(f"{n_single_neuron} of 16 functions found by one neuron; XOR among them: {tuple(xor_table) in found}")

# %% [markdown]
# ## The XOR lines (PV021)
# Two lines do separate XOR: P1: -1 + 2x1 + 2x2 = 0 (above it: at least one input is 1, an OR) and
# P2: 3 - 2x1 - 2x2 = 0 (below it: not both inputs are 1, a NAND). XOR is the AND of the two half
# planes, a second-layer neuron -2 + y1 + y2.

# %%
print("hidden layer:", XOR.layers[0], " output:", XOR.layers[1])
for x1, x2 in inputs(2):
    y1 = int(-1 + 2 * x1 + 2 * x2 >= 0)
    y2 = int(3 - 2 * x1 - 2 * x2 >= 0)
    print(f"x = ({x1},{x2})  P1 side y1 = {y1}  P2 side y2 = {y2}  XOR = {XOR([x1, x2])}")
xor_network_table = [XOR(list(x)) for x in inputs(2)]

# %% [markdown]
# ## Any truth table in two layers (PV021's constructive proof)
# For each input a with F(a) = 1 take a hidden neuron N_a that fires on a alone: weight +1 for
# the inputs that are 1 in a, -1 for those that are 0, bias -(number of ones in a); then OR the
# hidden neurons. For XOR that gives two hidden neurons, for the 3-input parity four.

# %%
xor_built = network_from_truth_table(xor_table)
print("XOR from its truth table, hidden layer:", xor_built.layers[0])
parity3 = truth_table(lambda x: sum(x) % 2, 3)
parity_net = network_from_truth_table(parity3)
parity_ok = [parity_net(list(a)) for a in inputs(3)] == parity3
print(f"3-input parity: {len(parity_net.layers[0])} hidden neurons, correct on all 8 inputs: {parity_ok}")
