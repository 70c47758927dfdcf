"""Ray's OptunaSearch, but a trial the scheduler stops early is PRUNED in the study (imports Ray)."""

from __future__ import annotations

from ray.tune.search.optuna import OptunaSearch


class PruningOptunaSearch(OptunaSearch):
    """Ray records a trial that ASHA stopped as COMPLETE with its last intermediate value; muop's
    trials send ``final: True`` with their last report, so anything else was stopped: PRUNED."""

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if result is not None and not error and not result.get("final"):
            result = None  # OptunaSearch tells Optuna PRUNED when there is no result and no error
        super().on_trial_complete(trial_id, result, error)
