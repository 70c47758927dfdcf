"""A proxy cheap on every axis at once (muop.workflows.transfer_axes, transfer(target=...)): which target
configs are compatible with the proxy's, the axes that moved, and what a target config excludes. (The
transfer itself, end to end with its cost counts: tests/test_cli_budget.py.)"""

import pytest

from muop.config import with_fields
from muop.errors import UsageError
from muop.workflows.transfer import transfer
from muop.workflows.transfer_axes import axes_moved, check_compatible, describe


def target_of(proxy):
    """The proxy's target: 2x wider, 2x the modes, 2x the epochs, 50 training samples instead of 24, the full grid."""
    return with_fields(
        proxy,
        model={"width": 16, "modes": [8]},
        train={"epochs": 2 * proxy.train.epochs},
        data={"n_train": 60, "stride": 1},
    )


def test_a_target_may_differ_in_shape_and_budget_but_not_in_what_it_learns(tune_cfg):
    proxy = with_fields(tune_cfg, data={"stride": 2})
    target = target_of(proxy)
    check_compatible(proxy, target)  # shape and budget: allowed
    for change, field in [
        ({"data": {"problem": "darcy", "params": {}}}, "data.problem"),
        ({"data": {"params": {"T": 0.5}}}, "data.params"),
        ({"model": {"block": "classic" if target.model.block != "classic" else "neuralop"}}, "model.block"),
        ({"optimizer": {"name": "sgd"}}, "optimizer.name"),
        ({"schedule": {"name": "constant"}}, "schedule.name"),
        ({"parametrization": {"kind": "sp"}}, "parametrization.kind"),
    ]:
        with pytest.raises(UsageError, match=f"--target-config: {field} is ") as e:
            check_compatible(proxy, with_fields(target, **change))
        assert "\n" not in str(e.value)


def test_axes_moved_names_each_axis_with_both_values(tune_cfg):
    proxy = with_fields(tune_cfg, data={"stride": 2})  # 64 points / 2; 30 samples, 6 held out for validation
    moved = axes_moved(proxy, with_fields(target_of(proxy), train={"batch_size": 8}))
    assert moved == {"width": [8, 16], "modes": [[4], [8]], "epochs": [2, 4], "n_train": [24, 54], "grid": [32, 64]}
    assert describe(moved) == "width 8 -> 16, modes [4] -> [8], epochs 2 -> 4, n_train 24 -> 54, grid 32 -> 64"
    assert axes_moved(proxy, proxy) == {} and describe({}).startswith("none")


def test_a_target_config_excludes_the_target_options_and_a_ladder(tune_cfg, tmp_path):
    target = target_of(tune_cfg)
    with pytest.raises(UsageError, match="drop --target-modes/--target-width/--target-depth"):
        transfer(tune_cfg, "x", target_width=16, out_dir=tmp_path / "o", run_dir=tmp_path, target=target)
    with pytest.raises(UsageError, match="works with one proxy study"):
        transfer(tune_cfg, "x", out_dir=tmp_path / "o", run_dir=tmp_path, target=target, proxies=[8, 12])
    with pytest.raises(UsageError, match="data.problem is 'darcy'"):
        transfer(
            tune_cfg,
            "x",
            out_dir=tmp_path / "o",
            run_dir=tmp_path,
            target=with_fields(target, data={"problem": "darcy", "params": {}}),
        )
    assert not (tmp_path / "o").exists()
