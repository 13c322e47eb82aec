# %% [markdown]
# # Regions from half-planes: what three layers of step neurons can cut out
#
# PV021: in a network of step neurons, the first layer divides the input space into half-spaces,
# the second may intersect them (convex sets), the third may unite those (any union of convex
# sets); and three-layer networks approximate any reasonable set A by covering it with small
# squares, OR-ing the squares that meet A (`reference.regions`).

# %%
import math

from reference.regions import disagreement, grid_cover, union_network

# x >= -0.6, y >= -0.6, x + y <= 0.4: a triangle (convex), two layers.
triangle = [[0.6, 1.0, 0.0], [0.6, 0.0, 1.0], [0.4, -1.0, -1.0]]
# its mirror image through the origin, and the union of both: not convex, three layers.
mirrored = [[0.6, -1.0, 0.0], [0.6, 0.0, -1.0], [0.4, 1.0, 1.0]]


def in_triangle(x, y):
    return x >= -0.6 and y >= -0.6 and x + y <= 0.4


def in_union(x, y):
    return in_triangle(x, y) or in_triangle(-x, -y)


convex_net, union_net = union_network([triangle]), union_network([triangle, mirrored])
region_wrong = {"triangle": disagreement(convex_net, in_triangle), "union": disagreement(union_net, in_union)}
print(f"triangle: neurons per layer {[len(layer) for layer in convex_net.layers]}, "
      f"wrong on {region_wrong['triangle']:.0%} of a 64 x 64 grid")
print(f"union of two triangles (not convex): neurons per layer {[len(layer) for layer in union_net.layers]}, "
      f"wrong on {region_wrong['union']:.0%}")

# %% [markdown]
# ## Approximating a disk by squares
# A is the disk of radius 0.7 in [-1, 1]². An m × m grid has up to 2(m + 1) vertical and 2(m + 1)
# horizontal half-planes (x >= a and x <= a for each grid line a): the first layer. Each square that
# meets A is an AND of four of them, the second layer; the output ORs the squares. The cover
# contains A, so it errs only in the squares that straddle the boundary: an area of at most about
# the perimeter 2π · 0.7 times a square's diagonal, which halves with each doubling of m.

# %%
RADIUS = 0.7


def meets_disk(x0, x1, y0, y1):
    """Whether the square [x0, x1] × [y0, y1] meets the open disk: its nearest point is inside."""
    return math.hypot(max(x0, min(0.0, x1)), max(y0, min(0.0, y1))) < RADIUS


def in_disk(x, y):
    return math.hypot(x, y) < RADIUS


cover_error, cover_sizes = {}, {}
for m in (2, 4, 8, 16):
    net = grid_cover(meets_disk, m)
    cover_sizes[m] = [len(layer) for layer in net.layers]
    cover_error[m] = disagreement(net, in_disk) * 4  # area, [-1, 1]² has area 4
    bound = 2 * math.pi * RADIUS * math.sqrt(2) * 2 / m
    print(f"m = {m:2d}: neurons per layer {cover_sizes[m]}, area wrong {cover_error[m]:.3f} "
          f"(disk {math.pi * RADIUS ** 2:.3f}; bound {bound:.3f})")
