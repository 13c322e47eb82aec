# %% [markdown]
# # Depth against width: parity, majority and the sawtooth
#
# The "Modeling" deck cites Håstad's switching lemma: some functions that a deep network computes
# with few neurons need exponentially many in a single hidden layer; its examples are the parity
# of n bits (is the number of ones odd?) and the majority (are more than half of them ones?).
#
# As worded, for neurons, that is wrong. Håstad's bound (1986) is about circuits of AND, OR and NOT
# gates: of depth d, they need 2^(Ω(n^(1/(d-1)))) gates for parity, and majority is as hard. A step
# neuron is a threshold gate, which can count, and counting makes both easy in one hidden layer:
#
# * PV021's truth-table construction (one hidden neuron per input with F = 1, then an OR) is
#   exactly an AND/OR circuit, and for parity it uses 2^(n-1) hidden neurons: there Håstad bites;
# * counting: hidden neuron k fires iff at least k inputs are 1, and h_1 - h_2 + h_3 - ... is 1
#   iff their number is odd: n hidden neurons, one hidden layer (`boolean.parity_network`);
# * majority is a single neuron, ξ = -(⌊n/2⌋ + 1) + Σ x_i (`boolean.majority`);
# * a deep ReLU network (`approximation.relu_parity_network`): the tent map g(t) = 2σ(t) - 4σ(t - ½)
#   applied k = ⌈log2 n⌉ times to t = Σ x_i / 2^k gives the parity with 2k hidden ReLUs.

# %%
from reference.approximation import relu_parity_network, sawtooth_network
from reference.boolean import inputs, majority, network_from_truth_table, parity_network, truth_table

SIZES = range(2, 9)
hidden = {"truth table": [], "counting": [], "deep ReLU": []}
all_correct = True
for n in SIZES:
    table = truth_table(lambda x: sum(x) % 2, n)
    nets = {"truth table": network_from_truth_table(table), "counting": parity_network(n)}
    deep = relu_parity_network(n)
    for name, net in nets.items():
        hidden[name].append(sum(len(layer) for layer in net.layers[:-1]))
        all_correct &= [net(list(a)) for a in inputs(n)] == table
    hidden["deep ReLU"].append(sum(deep.sizes[1:-1]))
    all_correct &= [deep.forward(list(a))[0] for a in inputs(n)] == [float(v) for v in table]
    print(f"parity of {n} bits, hidden neurons: truth table {hidden['truth table'][-1]:3d}, "
          f"counting {hidden['counting'][-1]}, deep ReLU {hidden['deep ReLU'][-1]} ({len(deep.sizes) - 2} layers)")
print("every network right on every input:", all_correct)
majority_ok = all(majority(n)(list(a)) == int(2 * sum(a) > n) for n in SIZES for a in inputs(n))
print("majority of n bits as one neuron, right for n = 2..8:", majority_ok)

# %% [markdown]
# So depth is not what parity needs once neurons can count. Where depth does pay is in the number
# of linear pieces a ReLU network can make. A hidden layer of m ReLUs on one input bends its output
# at most m times, so it has at most m + 1 pieces. The tent map composed k times, 2 ReLUs a layer,
# has 2^k pieces (each tent doubles the teeth): a single hidden layer needs 2^k - 1 ReLUs for it,
# against 2k (Telgarsky 2016 makes this a theorem about approximation, not only exact computation).
# Counted on a grid of 2^12 + 1 points (the kinks sit on it):

# %%
GRID = [i / 4096 for i in range(4097)]


def pieces(net):
    """Linear pieces of a function of one input, from the changes of slope on GRID."""
    ys = [net.forward([x])[0] for x in GRID]
    slopes = [b - a for a, b in zip(ys, ys[1:])]
    return 1 + sum(abs(s1 - s0) > 1e-9 for s0, s1 in zip(slopes, slopes[1:]))


sawtooth_pieces = {}
for k in range(1, 7):
    sawtooth_pieces[k] = pieces(sawtooth_network(k))
    print(f"depth {k}: {2 * k:2d} ReLUs, {sawtooth_pieces[k]:2d} pieces; one hidden layer needs >= "
          f"{sawtooth_pieces[k] - 1} ReLUs")
