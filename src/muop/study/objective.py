"""What a trial does: an :class:`Objective`, supplied by a command (tuning, a sweep) and run by any worker.

:class:`RunObjective` is the base of objectives whose trials train a model on one run config's data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import optuna

from ..config import DataConfig
from ..data import Datasets, prepare_data
from ..training import set_threads

__all__ = ["Objective", "RunObjective"]


class Objective(ABC):
    """The work of one trial, supplied by a command (tuning, a sweep) and run by any worker.

    Contract: an objective is built in the command's process and pickled to worker processes, so
    it holds plain data (configs), not loaded data or open files. :meth:`prepare` is called once in
    each process before its first trial (load data there). :meth:`__call__` runs one trial and
    returns the value to minimise; it may set user attributes and may raise ``optuna.TrialPruned``.
    An exception listed in ``worker_loop``'s ``catch`` marks the trial FAIL and the worker goes on;
    a :class:`muop.errors.InputError` (the user's mistake, the same for every trial) stops it.
    """

    def prepare(self) -> None:
        """Once per process, before the first trial."""

    @abstractmethod
    def __call__(self, trial: optuna.Trial) -> float:
        """Run one trial; the value to minimise."""

    def use_threads(self, n: int) -> None:
        """Once per worker process, before :meth:`prepare`: use ``n`` compute threads (its share of the cores)."""


class RunObjective(Objective):
    """An :class:`Objective` whose trials train on the data of ``data_config``: the
    data is loaded once per process (:meth:`prepare`), and never pickled to worker processes."""

    data_config: DataConfig
    data: Datasets | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "data": None}  # each worker process loads the data itself

    def prepare(self) -> None:
        self.data = self.data or prepare_data(self.data_config)

    def use_threads(self, n: int) -> None:
        set_threads(n)
