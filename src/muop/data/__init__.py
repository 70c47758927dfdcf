"""PDE data: offline generators (Burgers, Darcy, Navier–Stokes, the FNO paper's), one HDF5 format, loaders, normalisers.

The loaders read muop's files, FNO ``.mat``, PDEBench, neuraloperator ``.pt`` and The Well's HDF5.
"""

from .burgers import BurgersParams, burgers_generate, burgers_solve
from .darcy import DarcyParams, darcy_generate, darcy_solve
from .fno_paper import PUBLISHED, FNOBurgersParams, FNODarcyParams, FNONSParams
from .loaders import OperatorData, has_splits, load
from .navier_stokes import NSParams, ns_generate, ns_solve
from .normalize import ChannelNormalizer
from .prepare import Datasets, prepare_data
from .problems import PROBLEMS, generate
from .store import DataError, read_dataset
from .well import WellWindow, read_well, well_channels

__all__ = [
    "BurgersParams",
    "DarcyParams",
    "FNOBurgersParams",
    "FNODarcyParams",
    "FNONSParams",
    "PUBLISHED",
    "WellWindow",
    "read_well",
    "well_channels",
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
