"""Run configs: one YAML file describes a run.

Its sections: data, model, parametrization, optimizer, schedule, training, tuning.

* :mod:`muop.config.sections` and :mod:`muop.models.spec` (the model section): the schema, one small
  dataclass per section, each validated with one-line errors naming the field;
* :mod:`muop.config.run`: :class:`RunConfig`, its identity hashes and copies (:func:`with_fields`);
* :mod:`muop.config.coerce` and :mod:`muop.config.io`: reading YAML and ``--set`` overrides;
* :mod:`muop.config.changes`: how the schema changed, so old records still resume;
* :mod:`muop.config.hparams`: the one registry of hyperparameters (tuned and swept).
"""

from ..errors import ConfigError
from ..models.spec import MODEL_LIBRARIES, ModelConfig, check_modes_fit
from .changes import RENAMED, SCHEMA_CHANGES
from .hparams import HYPERPARAMETERS, Hyperparameter, apply_params
from .io import apply_overrides, load_config
from .run import SECTIONS, RunConfig, config_hash, with_fields
from .sections import (
    PRECISIONS,
    SAMPLERS,
    SCHEDULES,
    DataConfig,
    OptimConfig,
    ParamConfig,
    ScheduleConfig,
    TrainConfig,
    TuneConfig,
)

__all__ = [
    "HYPERPARAMETERS",
    "MODEL_LIBRARIES",
    "PRECISIONS",
    "RENAMED",
    "SAMPLERS",
    "SCHEDULES",
    "SCHEMA_CHANGES",
    "SECTIONS",
    "ConfigError",
    "DataConfig",
    "Hyperparameter",
    "ModelConfig",
    "OptimConfig",
    "ParamConfig",
    "RunConfig",
    "ScheduleConfig",
    "TrainConfig",
    "TuneConfig",
    "apply_overrides",
    "apply_params",
    "check_modes_fit",
    "config_hash",
    "load_config",
    "with_fields",
]
