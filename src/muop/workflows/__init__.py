"""Workflows: what the commands do, composed from the layers above.

* :mod:`muop.workflows.sweep` (with :mod:`~muop.workflows.sweep_spec` and
  :mod:`~muop.workflows.sweep_records`): LR or hyperparameter sweeps over sizes, SP vs μP;
* :mod:`muop.workflows.curves` and :mod:`muop.workflows.regret`: best LR per size, drift, and
  the regret of transferring with intervals; :mod:`muop.workflows.plots`: the figures;
* :mod:`muop.workflows.drift` (with :mod:`~muop.workflows.drift_regret`): the drift model, a line in
  log(best value) vs log(size) fitted over several proxies, and its regret on a sweep;
* :mod:`muop.workflows.transfer`: train the target with the proxy's hyperparameters, cost accounting
  (:mod:`~muop.workflows.transfer_proxies`: a proxy ladder; :mod:`~muop.workflows.advice`: advice
  before a single-proxy transfer);
* :mod:`muop.workflows.coord_check`: the coordinate check; :mod:`muop.workflows.demo`: ``muop demo``.

The functions named like their modules (:func:`muop.workflows.transfer.transfer`,
:func:`muop.workflows.coord_check.coord_check`) are imported from their modules, so that the
package attribute stays the module.
"""

from .coord_check import CoordCheckConfig, save_coord
from .curves import best_lr, seed_curves, summarise
from .demo import run_demo
from .drift import DriftFit, drift_from_curves, drift_from_trials, fit_drift
from .drift_regret import extrapolated_table
from .plots import plot_coord, plot_sweep
from .regret import regret_table
from .sweep import HPARAMS, Sweep, run_sweep, sweep_summary, write_summary
from .sweep_spec import log_grid
from .transfer import check_target, cost_ratios, lr_map, target_config
from .transfer_proxies import check_ladder

__all__ = [
    "CoordCheckConfig",
    "DriftFit",
    "HPARAMS",
    "Sweep",
    "best_lr",
    "check_ladder",
    "check_target",
    "cost_ratios",
    "drift_from_curves",
    "drift_from_trials",
    "extrapolated_table",
    "fit_drift",
    "log_grid",
    "lr_map",
    "plot_coord",
    "plot_sweep",
    "regret_table",
    "run_demo",
    "run_sweep",
    "save_coord",
    "seed_curves",
    "summarise",
    "sweep_summary",
    "target_config",
    "write_summary",
]
