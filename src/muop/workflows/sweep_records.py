"""A sweep's records: ``runs.jsonl`` as a readable view of the sweep's study, and the study's records.

``runs.jsonl`` holds one line per finished run, appended in the order they finish. Lines it holds
from before (runs of other base configs, or of sweeps run before the study existed) are kept as
they are, and finished runs of this sweep found only there are imported into the study instead of
being trained again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import optuna

from ..config import RunConfig, with_fields
from ..errors import UsageError
from ..study import finite_or_none
from ..utils.atomic import atomic_write
from ..utils.lines import repair_tail, torn_backup
from ..utils.locks import FileLock
from .sweep_spec import JOB_DISTRIBUTIONS, Sweep, record_key, sweep_idents

__all__ = ["RunsView", "study_records", "refuse_another_sweep"]

log = logging.getLogger("muop")


class RunsView:
    """``runs.jsonl`` as a view of the sweep's study (see the module docstring); ``idents`` are the
    sweep's identities (:func:`~muop.workflows.sweep_spec.sweep_idents`): records marked with any
    of them are this sweep's."""

    def __init__(self, path: Path, idents: list[str]) -> None:
        self.path, self.idents = path, set(idents)

    def _lines(self, damaged: list[str] | None = None) -> list[str]:
        """The file's complete JSON lines; the others (a line cut by a kill) go to ``damaged``."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                json.loads(line)
                out.append(line)
            except json.JSONDecodeError:
                if damaged is not None:
                    damaged.append(line)
        return out

    def records(self, lines: list[str] | None = None) -> dict[tuple, dict]:
        """This sweep's records in the file (or in ``lines`` already read from it), by job."""
        recs = (json.loads(line) for line in (self._lines() if lines is None else lines))
        return {record_key(r): r for r in recs if isinstance(r, dict) and r.get("config_hash") in self.idents}

    def import_into(self, study: optuna.Study, value: Callable[[dict], float]) -> int:
        """Add this sweep's finished runs found only in the file to the study as COMPLETE trials."""
        have = {record_key(r) for r in study_records(study)}
        new = [r for k, r in self.records().items() if k not in have]
        for r in new:
            dists = {k: d for k, d in JOB_DISTRIBUTIONS.items() if k in r}
            params = {k: r[k] for k in dists}
            study.add_trial(
                optuna.trial.create_trial(
                    params=params,
                    distributions=dists,
                    value=value(r),
                    user_attrs={"record": {k: finite_or_none(v) for k, v in r.items()}},
                )
            )
        return len(new)

    def sync(self, study: optuna.Study) -> list[dict]:
        """Append the study's finished runs missing from the file (under a file lock); returns them."""
        with FileLock(self.path.with_name(self.path.name + ".lock")):
            repair_tail(self.path)
            damaged: list[str] = []
            lines = self._lines(damaged)
            have = set(self.records(lines))
            new = [r for r in study_records(study) if r.get("config_hash") in self.idents and record_key(r) not in have]
            if damaged:  # lines that are not JSON: kept aside, never silently dropped
                backup = torn_backup(self.path)
                backup.write_text("".join(line + "\n" for line in damaged))
                log.warning("muop: %s had %d damaged line(s); moved them to %s", self.path, len(damaged), backup)
            if new or damaged:
                atomic_write(self.path, "".join(line + "\n" for line in lines + [json.dumps(r) for r in new]))
        return new


def study_records(study: optuna.Study) -> list[dict]:
    """The records of the study's finished sweep runs (NaN errors restored)."""
    out = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if "record" in t.user_attrs:
            out.append(
                {
                    k: (float("nan") if v is None and k == "test_rel_l2" else v)
                    for k, v in t.user_attrs["record"].items()
                }
            )
    return out


def refuse_another_sweep(out: Path, idents: list[str], base: RunConfig | None = None) -> None:
    """A UsageError if ``out`` already holds the summary of a sweep with another base config or axis
    (naming ``model.block`` when that is the difference: its default changed in muop 0.2)."""
    prev = out / "sweep.json"
    if not prev.exists():
        return
    recorded = None
    try:
        doc = json.loads(prev.read_text())
        recorded = RunConfig.from_record(doc["base_config"])
        old = sweep_idents(
            recorded, Sweep(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc["spec"].items()})
        )
    except (ValueError, KeyError, TypeError):
        old = []
    if not set(old) & set(idents):
        hint = ""
        if (
            recorded is not None
            and base is not None
            and recorded.model.block != base.model.block
            and with_fields(base, model={"block": recorded.model.block}).model == recorded.model
        ):
            hint = (
                f" (it was run with model.block={recorded.model.block!r}, the default before muop 0.2: "
                f"add block: {recorded.model.block} to the config's model to resume it)"
            )
        raise UsageError(
            f"--out {out}: holds the sweep.json of a sweep with another base config or axis{hint}; use another output "
            "directory (existing results are never overwritten)"
        )
