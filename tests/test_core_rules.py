"""The rule table (muop.core.rules) against the formulas of μTransfer-FNO (Li, Yoo & Yang, ICML 2025,
arXiv 2506.19396) and width μP (Tensor Programs V, Yang et al. 2022, arXiv 2203.03466).

``expected`` below is written from the papers, independently of muop.core.rules; ``check_table``
compares any table with it. The real table must pass and deliberately wrong ones must fail.
"""

import math

import pytest

from muop.core import MUP, SP, Role, Rule, Scaling, mode_factor, table

# (m_in, m_out, g) points to probe the monomials at
POINTS = [(1.0, 1.0, 1.0), (4.0, 4.0, 0.7), (0.5, 2.0, 0.9), (8.0, 1.0, 0.588)]


def expected(role: Role, m_in: float, m_out: float, g: float) -> dict[str, float]:
    """μTransfer-FNO / TP5: init std (× SP std), forward multiplier, Adam LR, SGD LR multipliers."""
    if role is Role.INPUT:  # fan-in fixed: SP init, Adam η, SGD η·fan_out
        return dict(init=1, mult=1, adam=1, sgd=m_out)
    if role is Role.HIDDEN:  # var 1/fan_in, Adam η/fan_in, SGD η·fan_out/fan_in
        return dict(init=1, mult=1, adam=1 / m_in, sgd=m_out / m_in)
    if role is Role.SPECTRAL:  # hidden in width, × sqrt(log K_base / log K) on init std and Adam LR
        return dict(init=g, mult=1, adam=g / m_in, sgd=m_out / m_in)
    if role is Role.OUTPUT:  # effective weight mult*W: std ∝ 1/fan_in and Adam update ∝ η/fan_in
        return dict(init=math.sqrt(m_in), mult=1 / m_in, adam=1, sgd=m_in)
    return dict(init=1, mult=1, adam=1, sgd=m_out)  # bias


def check_table(table) -> None:
    for role in Role:
        rule = table[role]
        for m_in, m_out, g in POINTS:
            exp = expected(role, m_in, m_out, g)
            got = {k: getattr(rule, k)(m_in, m_out, g) for k in exp}
            for k in exp:
                assert got[k] == pytest.approx(exp[k], rel=1e-12), (
                    f"{role.value}.{k} at {(m_in, m_out, g)}: {got[k]} != {exp[k]}"
                )
        # the effective readout (mult * init std) must scale like 1/fan_in, i.e. 1/m_in relative to SP's 1/sqrt(fan_in)
        if role is Role.OUTPUT:
            m = 16.0
            assert rule.mult(m, 1, 1) * rule.init(m, 1, 1) * math.sqrt(1 / m) == pytest.approx(1 / m)


def test_mup_table_matches_papers():
    check_table(MUP)


def test_sp_table_is_all_ones():
    for role in Role:
        for pt in POINTS:
            r = SP[role]
            assert (r.init(*pt), r.mult(*pt), r.adam(*pt), r.sgd(*pt)) == (1, 1, 1, 1)


WRONG = {
    "spectral Adam LR ~ 1/log K (no sqrt)": (Role.SPECTRAL, "adam", Scaling(m_in=-1, g=2)),
    "spectral Adam LR without the mode factor": (Role.SPECTRAL, "adam", Scaling(m_in=-1)),
    "spectral init without the mode factor": (Role.SPECTRAL, "init", Scaling()),
    "hidden Adam LR not divided by width": (Role.HIDDEN, "adam", Scaling()),
    "readout without 1/width multiplier": (Role.OUTPUT, "mult", Scaling()),
    "input SGD LR not scaled with fan-out": (Role.INPUT, "sgd", Scaling()),
}


@pytest.mark.parametrize("what", list(WRONG))
def test_wrong_rule_is_caught(what):
    role, col, bad = WRONG[what]
    table = dict(MUP)
    fields = {k: getattr(MUP[role], k) for k in ("init", "mult", "adam", "sgd")}
    fields[col] = bad
    table[role] = Rule(**fields)
    with pytest.raises(AssertionError):
        check_table(table)


def test_mode_factor_paper_example():
    # μTransfer-FNO (Algorithm 1), K 3 -> 24: R's learning rate × sqrt(log 3 / log 24) = 0.588; d cancels for equal d
    assert mode_factor((24,), (3,)) == pytest.approx(0.588, abs=5e-4)
    assert mode_factor((24, 24, 24), (3, 3, 3)) == pytest.approx(math.sqrt(math.log(3) / math.log(24)))
    # anisotropic: sum of log K_i
    assert mode_factor((8, 32), (4, 4)) == pytest.approx(math.sqrt(2 * math.log(4) / (math.log(8) + math.log(32))))
    assert mode_factor((5, 7), (5, 7)) == 1.0


@pytest.mark.parametrize("bad", [((1,), (4,)), ((4,), (1,)), ((4, 4), (4,))])
def test_mode_factor_rejects_bad_modes(bad):
    with pytest.raises(ValueError):
        mode_factor(*bad)


def test_overrides_take_rows_or_column_groups_from_the_other_table():
    """``table(kind, overrides)``: rule-table variants for ablations (the plan they give: tests/test_core_plan.py)."""
    assert table("mup", {"output": "sp"})[Role.OUTPUT] == SP[Role.OUTPUT]
    assert all(table("mup", {"output": "sp"})[r] == MUP[r] for r in Role if r is not Role.OUTPUT)
    lr_only = table("mup", {"hidden.lr": "sp"})[Role.HIDDEN]
    assert (lr_only.init, lr_only.mult, lr_only.adam, lr_only.sgd) == (
        MUP[Role.HIDDEN].init,
        MUP[Role.HIDDEN].mult,
        SP[Role.HIDDEN].adam,
        SP[Role.HIDDEN].sgd,
    )
    # a whole row first, then the column groups, whatever the order given
    assert table("sp", {"output.init": "sp", "output": "mup"})[Role.OUTPUT].init == SP[Role.OUTPUT].init
