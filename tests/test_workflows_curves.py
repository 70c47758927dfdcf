"""LR curves (muop.workflows.curves): the best LR of a curve (a parabola in log LR), its edges and
diverged points, and the drift of the best LR over sizes."""

import math

import pytest

from muop.workflows import best_lr, log_grid, summarise


@pytest.mark.parametrize("true_lr", [2.7e-3, 1.1e-2, 4.2e-4])
def test_best_lr_recovers_known_minimum_of_a_parabola(true_lr):
    lrs = log_grid(1e-4, 1e-1, 7)
    losses = [0.3 * (math.log10(lr) - math.log10(true_lr)) ** 2 + 0.05 for lr in lrs]
    got, edge = best_lr(lrs, losses)
    assert not edge and got == pytest.approx(true_lr, rel=1e-9)


def test_best_lr_edges_nan_and_asymmetric_curve():
    lrs = log_grid(1e-4, 1e-1, 7)
    got, edge = best_lr(lrs, [float(i) for i in range(7)])  # increasing: minimum at the first point
    assert edge and got == pytest.approx(1e-4)
    losses = [1.0, 0.5, 0.2, 0.3, float("nan"), float("nan"), float("nan")]  # diverged at high LR
    got, edge = best_lr(lrs, losses)
    assert not edge and lrs[1] < got < lrs[3]
    # a non-parabolic curve with a known minimum: the estimate stays within a grid step of it
    true = 3e-3
    losses = [abs(math.log10(lr) - math.log10(true)) ** 1.5 + 0.1 for lr in lrs]
    got, _ = best_lr(lrs, losses)
    assert abs(math.log10(got) - math.log10(true)) < 0.5


def test_drift_from_records():
    runs = []
    for par, shift in (("sp", 0.5), ("mup", 0.0)):
        for i, size in enumerate((4, 8, 16)):
            best = 1e-3 * 10 ** (shift * i)  # SP's best LR moves half a decade per size
            for lr in log_grid(1e-5, 1e0, 11):
                for seed in (0, 1):
                    loss = (math.log10(lr) - math.log10(best)) ** 2 + 0.1 + 0.01 * seed
                    runs.append(
                        {
                            "parametrization": par,
                            "size": size,
                            "lr": lr,
                            "seed": seed,
                            "test_rel_l2": loss,
                            "diverged": False,
                        }
                    )
    doc = summarise(runs, "modes")
    assert doc["drift"]["mup"] == pytest.approx(1.0)
    assert doc["drift"]["sp"] == pytest.approx(10.0)
    assert doc["best_lr"]["sp"]["16"] == pytest.approx(1e-2)
