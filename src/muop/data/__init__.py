"""PDE data: offline generators (Burgers, Darcy, Navier–Stokes), one HDF5 format, loaders, normalisers."""

from .burgers import BurgersParams, burgers_generate, burgers_solve
from .darcy import DarcyParams, darcy_generate, darcy_solve
from .loaders import OperatorData, has_splits, load
from .navier_stokes import NSParams, ns_generate, ns_solve
from .normalize import ChannelNormalizer
from .prepare import Datasets, prepare_data
from .problems import PROBLEMS, generate
from .store import DataError, read_dataset

__all__ = [
    "BurgersParams",
    "DarcyParams",
    "NSParams",
    "burgers_generate",
    "burgers_solve",
    "darcy_generate",
    "darcy_solve",
    "ns_generate",
    "ns_solve",
    "generate",
    "PROBLEMS",
    "load",
    "has_splits",
    "OperatorData",
    "read_dataset",
    "DataError",
    "ChannelNormalizer",
    "Datasets",
    "prepare_data",
]
