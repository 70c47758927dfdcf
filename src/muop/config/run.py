"""The whole run config (:class:`RunConfig`): its sections, validation, identity and copies.

Example (``experiments/burgers_modes.yaml``)::

    data:  {problem: burgers, n_train: 200, n_test: 50, resolution: 256}
    model: {modes: [16], width: 32, depth: 4}
    parametrization: {kind: mup, base_width: 32, base_modes: [4]}
    optimizer: {name: adam, lr: 3.0e-3}
    schedule: {name: cosine}
    train: {epochs: 20, batch_size: 20, seed: 0}

Unknown keys and bad values raise :class:`~muop.errors.ConfigError` naming the field. A config's
:meth:`RunConfig.identity` hashes every field; :meth:`RunConfig.identities` also hashes it as each
earlier schema wrote it (:mod:`muop.config.changes`), so records made before a change resume.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace

import yaml

from ..core.modes import normalize_modes
from ..data.problems import PROBLEMS, make_params
from ..errors import ConfigError
from ..models.spec import ModelConfig, check_modes_fit
from ..utils.hashing import content_key
from .changes import RENAMED, identity_dicts, upgrade_record
from .coerce import coerce
from .sections import DataConfig, OptimConfig, ParamConfig, ScheduleConfig, TrainConfig, TuneConfig

__all__ = ["RunConfig", "SECTIONS", "with_fields", "config_hash"]

SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "parametrization": ParamConfig,
    "optimizer": OptimConfig,
    "schedule": ScheduleConfig,
    "train": TrainConfig,
    "tune": TuneConfig,
}


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    parametrization: ParamConfig = field(default_factory=ParamConfig)
    optimizer: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)

    def validate(self) -> RunConfig:
        for name in SECTIONS:
            try:
                getattr(self, name).validate()
            except TypeError as e:  # e.g. a list of strings where numbers belong
                raise ConfigError(f"{name}: a value has the wrong type ({e})") from None
        d = self.data
        if d.problem is not None:  # the grid is known before any data is made: check the modes against it
            modes = normalize_modes(tuple(self.model.modes) if isinstance(self.model.modes, list) else self.model.modes)
            shape = PROBLEMS[d.problem].shapes(make_params(d.problem, d.params), d.resolution)[0][1:]
            grid = [-(-n // d.stride) for n in shape]  # the problem's real grid, e.g. s x 2s on the sphere
            where = f"data.resolution={d.resolution} with data.stride={d.stride}"
            check_modes_fit(modes, grid, where, spherical=self.model.spherical)
        if self.train.checkpoint_activations and self.model.library != "muop":
            raise ConfigError(
                f"train.checkpoint_activations=true: only muop's FNO checkpoints its layers (model.library: muop), not "
                f"model.library={self.model.library}; set it to false"
            )
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def identity_dicts(self) -> list[dict]:
        """:meth:`to_dict` as each schema of :data:`~muop.config.changes.SCHEMA_CHANGES` wrote it,
        the current one first (:func:`~muop.config.changes.identity_dicts`)."""
        return identity_dicts(self.to_dict())

    def identity(self) -> str:
        """A short hash of everything this config decides (what new records are marked with)."""
        return config_hash(self.to_dict())

    def identities(self) -> set[str]:
        """This config's identity under the current and every earlier schema (to recognise old records)."""
        return {config_hash(d) for d in self.identity_dicts()}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_record(cls, d: Mapping) -> RunConfig:
        """A config as muop recorded it (``to_dict`` output: a sweep's ``base_config``, a study's
        ``config`` attribute). A recorded section lacks a field only if it was written before the
        field existed, so the field takes the value that did what that schema did
        (:mod:`muop.config.changes`), not today's default: e.g. ``model.block: classic``."""
        return cls.from_dict(upgrade_record(d))

    @classmethod
    def from_dict(cls, d: Mapping | None) -> RunConfig:
        d = dict(d or {})
        unknown = sorted(set(d) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"unknown section(s) {unknown}; allowed: {sorted(SECTIONS)}")
        parts = {}
        for name, typ in SECTIONS.items():
            sec = d.get(name) or {}
            if not isinstance(sec, Mapping):
                raise ConfigError(f"{name}={sec!r}: expected a mapping of fields")
            sec = {RENAMED.get((name, k), k): v for k, v in sec.items()}
            if name == "data" and sec.get("path") is not None and "problem" not in sec:
                sec["problem"] = None  # a file, not a built-in problem
            allowed = {f.name for f in fields(typ)}
            bad = sorted(set(sec) - allowed)
            if bad:
                raise ConfigError(
                    f"unknown key(s) {[f'{name}.{b}' for b in bad]}; allowed in {name}: {sorted(allowed)}"
                )
            parts[name] = coerce(typ, name, dict(sec))
        return cls(**parts).validate()


def with_fields(cfg: RunConfig, **sections: dict) -> RunConfig:
    """A copy with some fields of some sections replaced, e.g. ``with_fields(cfg, optimizer={"lr": 1e-3})``."""
    parts = {name: replace(getattr(cfg, name), **vals) for name, vals in sections.items()}
    return dataclasses.replace(cfg, **parts).validate()


def config_hash(d: Mapping) -> str:
    """A short stable hash of a JSON-able mapping (cache keys, identities)."""
    return content_key(d)
