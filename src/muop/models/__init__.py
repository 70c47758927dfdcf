"""Models that declare their own scaling: muop's n-d FNO and its layers, and building a model from a config.

* :mod:`muop.models.layers`: the pointwise map and the n-d spectral convolution (truncated FFTs);
* :mod:`muop.models.fno`: :class:`FNOConfig` and :class:`FNO` (classic and neuraloperator-style
  blocks, optional residual blocks), and its FLOP count;
* :mod:`muop.models.spec`: the run config's model section (:class:`ModelConfig`), which builds
  muop's FNO or a neuraloperator model.

Every parameter declares its role and which dims scale (:mod:`muop.core.scaling`); this layer
imports :mod:`muop.core` only.
"""

from .fno import (
    BLOCKS,
    FNO,
    LIFTING_RATIO,
    MLP_EXPANSION,
    RESIDUALS,
    FNOConfig,
    FourierLayer,
    Lifting,
    NeuralopLayer,
    ResidualFourierLayer,
    ResidualNeuralopLayer,
    fno_flops,
)
from .layers import ACTIVATIONS, Pointwise, SpectralConv
from .spec import MODEL_LIBRARIES, ModelConfig, check_modes_fit

__all__ = [
    "ACTIVATIONS",
    "BLOCKS",
    "FNO",
    "LIFTING_RATIO",
    "MLP_EXPANSION",
    "MODEL_LIBRARIES",
    "RESIDUALS",
    "FNOConfig",
    "FourierLayer",
    "Lifting",
    "ModelConfig",
    "NeuralopLayer",
    "Pointwise",
    "ResidualFourierLayer",
    "ResidualNeuralopLayer",
    "SpectralConv",
    "check_modes_fit",
    "fno_flops",
]
