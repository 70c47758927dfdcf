"""Test helper: sweep records from error curves, and the hand-computed example of tests/test_workflows_regret.py
(also read by the sweep and plot tests)."""

LRS = [1e-3, 1e-2, 1e-1]  # log10: -3, -2, -1


def records(par, size, per_seed, lrs=LRS, diverged=()):
    """Sweep records from ``per_seed[seed][j]`` = error at ``lrs[j]``; ``diverged``: (seed, j) pairs."""
    return [
        {"parametrization": par, "size": size, "lr": lr, "seed": s, "test_rel_l2": e, "diverged": (s, j) in diverged}
        for s, errs in enumerate(per_seed)
        for j, (lr, e) in enumerate(zip(lrs, errs))
    ]


# Hand example: three sizes, two seeds.
# Proxy 8: seed 0 [0.3, 0.2, 0.5], seed 1 [0.5, 0.2, 0.3], mean [0.4, 0.2, 0.4].
#   Parabola vertex (equal steps h = 1 in log10): x1 + (y0 - y2) / (2 (y0 - 2 y1 + y2)):
#   mean -> -2 exactly; seed 0 alone -> -2 - 0.2/0.8 = -2.25; seed 1 alone -> -1.75.
# Target 16: seeds proportional (x1, x2) to [0.16, 0.01, 0.81], so every resample has the shape
#   [16, 1, 81], whose own parabola vertex is at -2 + (16 - 81) / (2 (16 - 2 + 81)) = -2.342: the
#   interpolant gets a knot there with the best error 1, so it is flat (1) on [-2.342, -2].
#   Regret 0 at 10^-2 and at 10^-2.25 (on the flat part; without the knot, the chord from 16 to 1
#   gave 16^0.25 = 2 -> 1 there); at 10^-1.75 the chord from 1 to 81 gives 81^0.25 = 3 -> 2.
# Target 32: seed 0 [0.8, 0.4, 0.3], seed 1 [0.8, 0.4, 0.1], mean [0.8, 0.4, 0.2]; minimum at 1e-1.
#   (Seed order chosen so that resampling the same seed numbers at every size would give another interval.)
PROXY = [[0.3, 0.2, 0.5], [0.5, 0.2, 0.3]]
T16 = [[0.16, 0.01, 0.81], [0.32, 0.02, 1.62]]
T32 = [[0.8, 0.4, 0.3], [0.8, 0.4, 0.1]]
HAND = records("mup", 8, PROXY) + records("mup", 16, T16) + records("mup", 32, T32)
