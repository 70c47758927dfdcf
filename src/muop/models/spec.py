"""The model section of a run config (:class:`ModelConfig`): which model to build, and building it.

muop's own FNO (:mod:`muop.models.fno`) or a neuraloperator model (``library: neuralop``; the
package is an optional dependency, imported when such a model is asked for). The shared fields
(modes, width, depth, ...) map onto each library's constructor; ``options`` are further keyword
arguments, checked by name. Bad values raise :class:`~muop.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

from torch import nn

from ..core.modes import max_modes, modes_to_neuralop, normalize_modes
from ..core.shape import Shape
from ..errors import ConfigError, expect
from .fno import FNO, LIFTING_RATIO, FNOConfig
from .layers import ACTIVATIONS

__all__ = ["ModelConfig", "MODEL_LIBRARIES", "check_modes_fit"]


def check_modes_fit(modes: Sequence[int], grid: Sequence[int], what: str, spherical: bool = False) -> None:
    """ConfigError unless every K_i fits the grid: the FFT bounds of :func:`muop.core.modes.max_modes`,
    or with ``spherical`` an SFNO's (L degrees, M orders) on an nlat x nlon equiangular grid:
    L <= nlat (torch-harmonics' largest degree there) and M <= nlon // 2 + 1 (the real FFT's orders)."""
    sphere = spherical and len(grid) == 2
    top = (grid[0], grid[1] // 2 + 1) if sphere else max_modes(grid)
    if any(k > m for k, m in zip(modes, top)):
        rule = " (SFNO: L <= nlat degrees, M <= nlon // 2 + 1 orders)" if sphere else ""
        raise ConfigError(
            f"model.modes={list(modes)}: more than the {'x'.join(map(str, grid))} grid of {what} resolves; allowed: at "
            f"most {list(top)}{rule}"
        )


def _channels(ratio: float, width: int, what: str) -> int:
    """``ratio * width`` channels: ConfigError unless it is a positive integer (rounding would break
    the ratio that μP scales, docs/neuralop.md)."""
    n = ratio * width
    if not (n >= 1 and abs(n - round(n)) < 1e-9):
        raise ConfigError(
            f"{what}: {ratio} x model.width={width} = {n:g} channels; expected a positive whole number of channels "
            "(choose the ratio or the width so that their product is one)"
        )
    return round(n)


#: Model libraries a run config can name, and the model classes of each (``model.library``,
#: ``model.name``); the neuraloperator ones are those :mod:`muop.adapters.neuralop` parametrizes.
MODEL_LIBRARIES = {"muop": ("FNO",), "neuralop": ("FNO", "TFNO", "SFNO", "UNO")}
#: ModelConfig fields that describe which model to build rather than an FNOConfig field.
_MODEL_SOURCE = ("library", "name", "options")


@dataclass(frozen=True)
class ModelConfig:
    """The model: its scaled axes (``modes`` in muop's convention, see :mod:`muop.core.modes`; ``width``;
    ``depth``) and the rest of :class:`muop.FNOConfig`, whose defaults and checks it uses. The
    channel counts come from the data. ``append_coords`` was called ``grid`` before; configs that
    still say ``grid`` are read as ``append_coords``.

    ``library``/``name`` choose the model class (:data:`MODEL_LIBRARIES`; default muop's FNO) and
    ``options`` are further keyword arguments of its constructor, checked by name. For
    ``library: neuralop`` the shared fields map to the constructor: modes -> ``n_modes`` (exact
    conversion, :func:`muop.modes_to_neuralop`), width -> ``hidden_channels``, depth ->
    ``n_layers``, projection_ratio -> ``projection_channel_ratio``, activation ->
    ``non_linearity``, append_coords -> ``positional_embedding`` ("grid" or None). Example::

        model: {library: neuralop, name: TFNO, modes: [8, 8], width: 32, depth: 4, options: {rank: 0.2}}

    SFNO: ``modes: [L, M]`` are the degrees and orders kept (``n_modes = (L, 2M)``), at most
    ``nlat`` and ``nlon // 2 + 1`` on the grid (:func:`check_modes_fit`); its μP shape has modes
    ``(L,)`` (docs/parametrization.md, "Spherical modes"). UNO: every block gets ``modes``, ``width``
    and scaling 1 unless ``options`` set ``uno_n_modes``/``uno_out_channels``/``uno_scalings``; the
    muop option ``width_ratios: [r_1, ...]`` gives block widths ``r_i * width`` (so they scale with
    width), and lifting/projection channels are ``2 * width`` and ``projection_ratio * width``
    (each a whole number of channels, else a ConfigError; docs/neuralop.md, "SFNO and UNO").
    """

    modes: list = field(default_factory=lambda: [16])
    width: int = 32
    depth: int = 4
    projection_ratio: float = FNOConfig.projection_ratio
    activation: str = FNOConfig.activation
    append_coords: bool = FNOConfig.append_coords
    block: str = FNOConfig.block  # the Fourier layer: classic | neuralop (muop.models.fno.BLOCKS)
    residual: str = FNOConfig.residual  # none | pre | post: residual blocks x + a·F(x) (muop.models.fno.RESIDUALS)
    library: str = "muop"
    name: str = "FNO"
    options: dict = field(default_factory=dict)

    def validate(self) -> None:
        for name in ("width", "depth"):
            v = getattr(self, name)
            expect(isinstance(v, int) and not isinstance(v, bool) and v >= 1, f"model.{name}", v, "a positive integer")
        try:
            normalize_modes(tuple(self.modes) if isinstance(self.modes, list) else self.modes)
        except ValueError as e:
            raise ConfigError(f"model.modes={self.modes!r}: {e}") from None
        expect(self.library in MODEL_LIBRARIES, "model.library", self.library, f"one of {', '.join(MODEL_LIBRARIES)}")
        names = MODEL_LIBRARIES[self.library]
        expect(self.name in names, "model.name", self.name, f"one of {', '.join(names)} (library {self.library})")
        expect(isinstance(self.options, dict), "model.options", self.options, "a mapping of constructor arguments")
        self.fno(1, 1) if self.library == "muop" else self._neuralop_kwargs(1, 1)

    @property
    def spherical(self) -> bool:
        """Whether this is an SFNO, whose modes are (degrees, orders) (:func:`check_modes_fit`)."""
        return (self.library, self.name) == ("neuralop", "SFNO")

    @property
    def shape(self) -> Shape:
        """Width and modes (muop's convention) of this model: the shape μP scales from (an SFNO's
        modes are its degrees ``(L,)`` only)."""
        modes = normalize_modes(tuple(self.modes) if isinstance(self.modes, list) else self.modes)
        return Shape(self.width, modes[:1] if self.spherical else modes)

    def fno(self, in_channels: int, out_channels: int) -> FNOConfig:
        """The :class:`muop.FNOConfig` of this model for data with these channel counts."""
        if self.library != "muop":
            raise ConfigError(
                f"model.library={self.library!r}: the model is not muop's FNO; build it with ModelConfig.build"
            )
        allowed = sorted(
            {f.name for f in fields(FNOConfig)}
            - {f.name for f in fields(self)}
            - {"in_channels", "out_channels", "dim"}
        )
        bad = sorted(set(self.options) - set(allowed))
        if bad:
            raise ConfigError(
                f"model.options: muop's FNO takes no option(s) {bad}; allowed: {allowed} (the others are model fields)"
            )
        options = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _MODEL_SOURCE}
        options["modes"] = tuple(self.modes) if isinstance(self.modes, list) else self.modes
        try:
            return FNOConfig(**options, **self.options, in_channels=in_channels, out_channels=out_channels)
        except ValueError as e:
            raise ConfigError(f"model: {e}") from None

    def _neuralop_kwargs(self, in_channels: int, out_channels: int) -> tuple[type, dict]:
        """The neuraloperator class and its keyword arguments (names checked, values not)."""
        expect(
            self.block == FNOConfig.block,
            "model.block",
            self.block,
            f"{FNOConfig.block!r} with library neuralop (its layout is set by model.options)",
        )
        expect(
            self.residual == FNOConfig.residual,
            "model.residual",
            self.residual,
            f"{FNOConfig.residual!r} with library neuralop (its residual form comes from options "
            "fno_skip/channel_mlp_skip: identity)",
        )
        try:
            import neuralop.models as nm
        except ImportError:
            raise ConfigError(
                "model.library='neuralop': the neuraloperator package is not installed (pip install neuraloperator)"
            ) from None
        cls = getattr(nm, self.name, None)
        if cls is None:
            raise ConfigError(f"model.name={self.name!r}: neuralop has no such model here (SFNO needs muop[sphere])")
        modes = tuple(self.modes) if isinstance(self.modes, list) else self.modes
        try:
            n_modes = (modes[0], 2 * modes[1]) if self.spherical and len(modes) == 2 else modes_to_neuralop(modes)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"model.modes={self.modes!r}: {e}") from None
        expect(self.activation in ACTIVATIONS, "model.activation", self.activation, f"one of {sorted(ACTIVATIONS)}")
        kwargs = dict(
            in_channels=in_channels,
            out_channels=out_channels,
            hidden_channels=self.width,
            n_layers=self.depth,
            non_linearity=ACTIVATIONS[self.activation],
            positional_embedding="grid" if self.append_coords else None,
        )
        options, defaults = dict(self.options), {}
        if self.name == "UNO":  # muop's per-block defaults, each of which options may set instead
            defaults = self._uno_kwargs(n_modes, options)
        else:
            kwargs |= dict(n_modes=n_modes, projection_channel_ratio=self.projection_ratio)
        for klass in cls.__mro__:  # TFNO(*args, **kwargs) passes them on to FNO
            params = inspect.signature(klass.__init__).parameters.values()
            if any(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params if p.name != "self"):
                break
        takes = {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)} - {"self"} - set(kwargs)
        bad = sorted(set(options) - takes)
        if bad:
            shared = sorted(set(bad) & set(kwargs))
            hint = f"; {shared} come from the model fields (modes, width, depth, ...)" if shared else ""
            raise ConfigError(
                f"model.options: neuralop's {self.name} takes no argument(s) {bad}{hint}; allowed: {sorted(takes)}"
            )
        return cls, {**kwargs, **defaults, **options}

    def _uno_kwargs(self, n_modes: tuple[int, ...], options: dict) -> dict:
        """A UNO's default per-block widths, modes and scalings (scaled with width; see the class
        docstring); ``options`` override them. Pops muop's ``width_ratios`` from ``options``."""
        ratios = options.pop("width_ratios", None)
        if ratios is not None and "uno_out_channels" in options:
            raise ConfigError(
                "model.options: both width_ratios and uno_out_channels set the UNO's block widths; give one of them"
            )
        ratios = [1] * self.depth if ratios is None else ratios
        ok = isinstance(ratios, list) and len(ratios) == self.depth and all(isinstance(r, (int, float)) for r in ratios)
        expect(ok, "model.options.width_ratios", ratios, f"a list of {self.depth} numbers (one per block)")
        out = dict(
            lifting_channels=LIFTING_RATIO * self.width,
            uno_n_modes=[list(n_modes)] * self.depth,
            uno_scalings=[[1] * len(n_modes)] * self.depth,
            channel_mlp_skip="linear",
        )
        if "projection_channels" not in options:
            out["projection_channels"] = _channels(self.projection_ratio, self.width, "model.projection_ratio")
        if "uno_out_channels" not in options:
            out["uno_out_channels"] = [_channels(r, self.width, "model.options.width_ratios") for r in ratios]
        return out

    def layout(self, in_channels: int, out_channels: int) -> FNOConfig:
        """The :class:`muop.FNOConfig` whose shapes stand for this model: muop's FNO's own config;
        for a neuraloperator model, muop's ``neuralop`` block at the same modes, width, depth and
        lifting/projection (the same layer shapes as neuraloperator's default FNO). Used for the
        μP base shape, the memory check and the FLOP count (a factorized TFNO is counted as the
        dense FNO it reconstructs)."""
        if self.library == "muop":
            return self.fno(in_channels, out_channels)
        self._neuralop_kwargs(in_channels, out_channels)  # the same checks as building it
        twin = replace(self, library="muop", name="FNO", options={}, block="neuralop")
        return twin.fno(in_channels, out_channels)

    def build(self, in_channels: int, out_channels: int) -> nn.Module:
        """The model (an ``nn.Module``) for data with these channel counts; initialise it with
        :func:`muop.parametrize` (neuraloperator models keep their own SP-shaped init there)."""
        if self.library == "muop":
            return FNO(self.fno(in_channels, out_channels))
        cls, kwargs = self._neuralop_kwargs(in_channels, out_channels)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError, AssertionError) as e:
            raise ConfigError(f"model.options={self.options!r}: neuralop's {self.name} refused them: {e}") from None
