"""neuraloperator 2.x: declare every parameter of ``neuralop.models.FNO`` / ``TFNO`` for muop.

Roles (docs/parametrization.md has the rules; "Already using neuraloperator?" in docs/neuralop.md
the usage):

==============================================  ===========================================
parameter                                       role
==============================================  ===========================================
``lifting.fcs.0`` (in + d -> lifting channels)  input
``lifting.fcs.1..``                             hidden
``fno_blocks.convs.i.weight`` (dense, complex)  spectral
``fno_blocks.convs.i.weight`` (Tucker/CP/TT)    one spectral factor, the others hidden/input
``fno_blocks.fno_skips.i`` linear               hidden; soft-gating: a gain (bias rules)
``fno_blocks.channel_mlp.i.fcs.*``              hidden
``fno_blocks.channel_mlp_skips.i``              as the fno skips
``fno_blocks.norm.*`` (group/batch norm)        gains and biases (bias rules)
``projection.fcs.0..-2``                        hidden
``projection.fcs.-1`` (-> out_channels)         output (its multiplier scales its input)
every bias                                      bias
==============================================  ===========================================

Residual models (identity skips, no norm: ``fno_skip="identity"`` and, with a channel MLP,
``channel_mlp_skip="identity"``) scale with depth (docs/parametrization.md, "Depth"): their block is
``σ(x + MLP(σ(K x + x)))`` (``σ(K x + x)`` without a channel MLP), so the branch's output layer is
the MLP's last layer (else K), which carries the branch multiplier as a hook on its output (bias
included); K and the MLP's other layers are inner branch parameters. ``muop_shape`` then has the
depth (``n_layers``).

Dense parameters keep neuraloperator's own initial values, multiplied by the rule's init
multiplier (``init="scale"``): neuraloperator's init is SP-shaped (std ∝ 1/sqrt(fan_in)), so SP,
and μP at the model's own shape, leave the model exactly as built. Factors of a factorized
spectral weight are rescaled to the SP std of their stage (``init="normalize"``, see the docs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
from torch import nn

from ..core.modes import modes_from_neuralop
from ..core.rules import Role
from ..core.scaling import ParamSpec, declare, iter_specs, multiplier, multiply_input
from ..core.shape import Shape
from ..errors import UsageError
from ..models.fno import FNO, LIFTING_RATIO, MLP_EXPANSION, FNOConfig
from ..models.layers import ACTIVATIONS

__all__ = ["declare_model", "SUPPORTED", "watched_modules"]

SUPPORTED = (
    "neuralop.models.FNO and TFNO (any dimension, real data): dense, Tucker, CP or TT spectral weights; "
    "linear, soft-gating or identity skips; channel MLPs; group, batch or instance norm; grid embedding; "
    "SFNO with dense spherical weights; UNO over width"
)


def _unsupported(what: str) -> UsageError:
    return UsageError(f"muop cannot parametrize {what}; supported: {SUPPORTED}")


def _decl(
    module: nn.Module,
    name: str,
    role: Role,
    fan_in: tuple = (),
    fan_out: tuple = (0,),
    w_in: bool = False,
    w_out: bool = False,
    init: str = "scale",
    **kw,
) -> None:
    if getattr(module, name, None) is not None:
        declare(
            module,
            name,
            ParamSpec(role, fan_in_dims=fan_in, fan_out_dims=fan_out, width_in=w_in, width_out=w_out, init=init, **kw),
        )


def _pointwise(conv: nn.Module, role: Role, w_in: bool, w_out: bool, where: str) -> None:
    """A 1×1 ``nn.Conv1d`` (weight (out, in, 1)) with an optional bias."""
    if not isinstance(conv, nn.Conv1d) or conv.kernel_size != (1,) or conv.groups != 1:
        raise _unsupported(f"{where} ({type(conv).__name__}, expected a 1x1 Conv1d)")
    _decl(conv, "weight", role, fan_in=(1, 2), w_in=w_in, w_out=w_out)
    _decl(conv, "bias", Role.BIAS, w_out=w_out)


def _channel_mlp(mlp: nn.Module, where: str, first: Role, last: Role, w_in: bool, w_out: bool) -> None:
    """neuralop's ChannelMLP: ``fcs[0]`` gets ``first``, ``fcs[-1]`` ``last``, the rest hidden."""
    from neuralop.layers.channel_mlp import ChannelMLP

    if type(mlp) is not ChannelMLP:
        raise _unsupported(f"{where} ({type(mlp).__name__})")
    n = len(mlp.fcs)
    for i, fc in enumerate(mlp.fcs):
        role = first if i == 0 else (last if i == n - 1 else Role.HIDDEN)
        if n == 1:
            role = first if first is not Role.HIDDEN else last
        _pointwise(
            fc, role, w_in=w_in if i == 0 else True, w_out=w_out if i == n - 1 else True, where=f"{where}.fcs.{i}"
        )
    if last is Role.OUTPUT:
        multiply_input(mlp.fcs[-1])


def _skip(skip: nn.Module, where: str) -> None:
    from neuralop.layers.skip_connections import Flattened1dConv, SoftGating

    if isinstance(skip, nn.Identity):
        return
    if type(skip) is Flattened1dConv:
        _pointwise(skip.conv, Role.HIDDEN, True, True, f"{where}.conv")
    elif type(skip) is SoftGating:  # x * w (+ b), w initialised to ones: a per-channel gain
        _decl(skip, "weight", Role.BIAS, fan_out=(1,), w_out=True)
        _decl(skip, "bias", Role.BIAS, fan_out=(1,), w_out=True)
    else:
        raise _unsupported(f"the skip {where} ({type(skip).__name__})")


def _norm(norm: nn.Module, where: str) -> None:
    from neuralop.layers.normalization_layers import BatchNorm, InstanceNorm

    if type(norm) is InstanceNorm:  # no parameters
        return
    inner = norm.norm if type(norm) is BatchNorm else norm
    if not isinstance(inner, (nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
        raise _unsupported(f"the normalisation layer {where} ({type(norm).__name__})")
    _decl(inner, "weight", Role.BIAS, w_out=True)
    _decl(inner, "bias", Role.BIAS, w_out=True)


def _spectral(conv: nn.Module, where: str, modes_shape: tuple[int, ...]) -> None:
    """The spectral weight (in, out, *modes), dense or factorized by tltorch, and its bias."""
    from neuralop.layers.spectral_convolution import SpectralConv

    if not isinstance(conv, SpectralConv):
        raise _unsupported(f"the convolution {where} ({type(conv).__name__})")
    if conv.separable:
        raise _unsupported(f"{where} with separable=True (a diagonal spectral weight)")
    if conv.complex_data:
        raise _unsupported(f"{where} with complex_data=True")
    w = conv.weight
    d = len(modes_shape)
    full = (conv.in_channels, conv.out_channels, *modes_shape)
    if tuple(w.shape) != full:
        raise _unsupported(f"{where} with weight shape {tuple(w.shape)} != {full} (max_n_modes other than n_modes)")
    kind = type(w).__name__
    chan = dict(w_in=True, w_out=True)
    if kind == "DenseTensor":  # (in, out, *modes), complex
        _decl(w, "tensor", Role.SPECTRAL, fan_in=(0,), fan_out=(1,), mode_dims=tuple(range(2, 2 + d)), **chan)
    elif kind == "TuckerTensor" and len(w.factors) == 2 + d:
        # W = core x_0 U_in x_1 U_out x_2 U_1 ... : a chain in -> r_in -> (core) -> r_out -> out
        f = dict(init="normalize", factor=True)
        _decl(w, "core", Role.SPECTRAL, fan_in=(0,), fan_out=(1,), mode_dims=tuple(range(2, 2 + d)), **chan, **f)
        _decl(w.factors, "factor_0", Role.HIDDEN, fan_in=(0,), fan_out=(1,), **chan, **f)  # U_in (in, r_in)
        _decl(w.factors, "factor_1", Role.HIDDEN, fan_in=(1,), fan_out=(0,), **chan, **f)  # U_out (out, r_out)
        for j in range(d):  # U_k (N_k, r_k): no width
            _decl(w.factors, f"factor_{2 + j}", Role.HIDDEN, fan_in=(1,), fan_out=(0,), **f)
    elif kind == "CPTensor" and len(w.factors) == 2 + d:
        # W_k = B diag(lambda * c_k) A^T: A in -> R (carries g), B R -> out, c_k diagonal gains
        f = dict(init="normalize", factor=True)
        _decl(w, "weights", Role.BIAS, w_out=True, factor=True)  # lambda, ones: a gain
        _decl(w.factors, "factor_0", Role.SPECTRAL, fan_in=(0,), fan_out=(1,), **chan, **f)
        _decl(w.factors, "factor_1", Role.HIDDEN, fan_in=(1,), fan_out=(0,), **chan, **f)
        for j in range(d):
            _decl(w.factors, f"factor_{2 + j}", Role.INPUT, fan_in=(), fan_out=(1,), w_out=True, **f)
    elif kind == "TTTensor" and len(w.factors) == 2 + d:
        # G0 (1, in, r1) -> G1 (r1, out, r2) carries g -> G2.. (r, N_k, r'): rank chain over the modes
        f = dict(init="normalize", factor=True)
        _decl(w.factors, "factor_0", Role.HIDDEN, fan_in=(1,), fan_out=(2,), **chan, **f)
        _decl(w.factors, "factor_1", Role.SPECTRAL, fan_in=(0,), fan_out=(1,), **chan, **f)
        for j in range(d):
            _decl(w.factors, f"factor_{2 + j}", Role.HIDDEN, fan_in=(0,), fan_out=(1,), **f)
    else:
        raise _unsupported(f"the spectral weight {where}.weight ({kind})")
    _decl(conv, "bias", Role.BIAS, w_out=True)


def declare_model(model: nn.Module) -> None:
    """Declare every parameter of a neuraloperator FNO/TFNO and set ``model.muop_shape``.

    Raises :class:`UsageError` naming the model or layer muop cannot classify.
    """
    if model.__dict__.get("_muop_adapter") == "neuralop":
        return
    from neuralop.models import FNO as NFNO

    name = type(model).__name__
    if not isinstance(model, NFNO):
        raise _unsupported(f"neuralop's {name}")
    if getattr(model, "complex_data", False):
        raise _unsupported(f"neuralop's {name} with complex_data=True")
    try:
        modes = modes_from_neuralop(tuple(model.n_modes))
    except ValueError as e:
        raise UsageError(f"neuralop's {name} with n_modes={tuple(model.n_modes)}: {e}") from None
    modes_shape = (*[2 * k for k in modes[:-1]], modes[-1])
    declare_body(model, lambda conv, where: _spectral(conv, where, modes_shape), modes)


def declare_body(model: nn.Module, spectral: Callable[[nn.Module, str], None], modes: tuple[int, ...]) -> None:
    """Declare an FNO-layout model's lifting, blocks and projection (``spectral(conv, where)``
    declares each spectral convolution) and set its ``muop_shape`` with ``modes``: shared by the
    FNO/TFNO adapter here and the SFNO one (:mod:`muop.adapters.neuralop_sphere`)."""
    name = type(model).__name__
    blocks = model.fno_blocks
    _channel_mlp(model.lifting, "lifting", Role.INPUT, Role.HIDDEN, w_in=False, w_out=True)
    _channel_mlp(model.projection, "projection", Role.HIDDEN, Role.OUTPUT, w_in=True, w_out=False)
    for i, conv in enumerate(blocks.convs):
        spectral(conv, f"fno_blocks.convs.{i}")
    _block_extras(blocks, "fno_blocks")
    left = [(n, owner) for n, owner, _, _, spec in iter_specs(model) if spec is None]
    if left:
        n, owner = left[0]
        raise _unsupported(
            f"the parameter {n} of {type(owner).__name__} in neuralop's {name} ({len(left)} unclassified)"
        )
    residual = _residual_branches(blocks)
    model.__dict__["muop_shape"] = Shape(model.hidden_channels, modes, model.n_layers if residual else None)
    model.__dict__["muop_depth"] = model.n_layers
    model.__dict__["_muop_adapter"] = "neuralop"


def _block_extras(blocks: nn.Module, where: str) -> None:
    """The skips, channel MLPs and norms of an ``FNOBlocks`` (all width -> width)."""
    for attr in ("fno_skips", "channel_mlp_skips"):
        for i, skip in enumerate(getattr(blocks, attr, None) or ()):
            _skip(skip, f"{where}.{attr}.{i}")
    if blocks.use_channel_mlp:
        for i, mlp in enumerate(blocks.channel_mlp):
            _channel_mlp(mlp, f"{where}.channel_mlp.{i}", Role.HIDDEN, Role.HIDDEN, w_in=True, w_out=True)
    for i, norm in enumerate(blocks.norm or ()):
        _norm(norm, f"{where}.norm.{i}")


def to_muop(model: nn.Module) -> FNO:
    """muop's FNO with the ``"neuralop"`` block and ``model``'s weights (dtype kept).

    ``model`` must be a dense ``neuralop.models.FNO`` in neuraloperator's default layout (linear
    fno skip, soft-gating channel-MLP skip, channel MLP expansion 0.5, lifting ratio 2, no norm,
    padding or preactivation); any of its widths, modes, depth and projection ratio. The two
    models then compute the same function (tests/test_adapters_neuralop.py: to 1e-10 in float64).
    """
    missing = _default_layout_gaps(model)
    if missing:
        name = type(model).__name__
        raise UsageError(f"to_muop needs neuraloperator's default FNO layout; this {name} lacks: {', '.join(missing)}")
    act = {f: n for n, f in ACTIVATIONS.items()}[model.non_linearity]
    modes = modes_from_neuralop(tuple(model.n_modes))
    cfg = FNOConfig(
        modes=modes,
        width=model.hidden_channels,
        depth=model.n_layers,
        in_channels=model.in_channels,
        out_channels=model.out_channels,
        projection_ratio=model.projection_channel_ratio,
        activation=act,
        append_coords=model.positional_embedding is not None,
        block="neuralop",
    )
    out = FNO(cfg).to(model.projection.fcs[0].weight.dtype)
    _copy_weights(out, model)
    return out


def _default_layout_gaps(model: nn.Module) -> list[str]:
    """What ``model`` lacks of neuraloperator's default FNO layout (empty: it has it all)."""
    from neuralop.models import FNO as NFNO

    blocks = getattr(model, "fno_blocks", None)
    act = {f: n for n, f in ACTIVATIONS.items()}.get(getattr(model, "non_linearity", None))
    layout = {
        "a neuralop.models.FNO": isinstance(model, NFNO),
        "dense weights": getattr(model, "factorization", None) is None,
        f"lifting_channel_ratio={LIFTING_RATIO}": getattr(model, "lifting_channel_ratio", None) == LIFTING_RATIO,
        "fno_skip='linear'": blocks is not None and blocks.fno_skip == "linear",
        "channel_mlp_skip='soft-gating'": blocks is not None
        and blocks.use_channel_mlp
        and blocks.channel_mlp_skip == "soft-gating",
        f"channel_mlp_expansion={MLP_EXPANSION}": blocks is not None and blocks.channel_mlp_expansion == MLP_EXPANSION,
        "norm=None, preactivation=False, no domain padding": blocks is not None
        and blocks.norm is None
        and not blocks.preactivation
        and model.domain_padding is None,
        f"non_linearity one of {sorted(ACTIVATIONS)}": act is not None,
    }
    return [k for k, ok in layout.items() if not ok]


@torch.no_grad()
def _copy_weights(out: FNO, model: nn.Module) -> None:
    """Copy a default-layout neuraloperator FNO's weights into muop's FNO ``out`` of the same shape."""
    blocks, d = model.fno_blocks, len(out.config.modes)
    pairs = [
        (out.lifting, model.lifting.fcs[0]),
        (out.lifting_out, model.lifting.fcs[1]),
        (out.projection_hidden, model.projection.fcs[0]),
        (out.projection_out, model.projection.fcs[1]),
    ]
    for i, layer in enumerate(out.layers):
        pairs += [
            (layer.pointwise, blocks.fno_skips[i].conv),
            (layer.mlp_in, blocks.channel_mlp[i].fcs[0]),
            (layer.mlp_out, blocks.channel_mlp[i].fcs[1]),
        ]
        layer.gate.copy_(blocks.channel_mlp_skips[i].weight.reshape(-1))
        conv = blocks.convs[i]
        w = conv.weight.to_tensor()  # (in, out, N_1, ..., K_d), fftshifted in the dims before the last
        for j in range(d - 1):
            w = torch.roll(w, shifts=-(w.shape[2 + j] // 2), dims=2 + j)
        layer.spectral.weight.copy_(torch.view_as_real(w.permute(*range(2, 2 + d), 0, 1).contiguous()))
        layer.spectral.bias.copy_(conv.bias.reshape(-1))
    for mine, theirs in pairs:
        mine.weight.copy_(theirs.weight.reshape(mine.weight.shape))
        if mine.bias is not None:
            mine.bias.copy_(theirs.bias)


def _residual_branches(blocks: nn.Module) -> bool:
    """Mark the residual branches of a block stack built with identity skips, no norm and dense
    spectral weights (see the module docstring); returns whether it has them. Other layouts are
    left as declared (they do not scale with depth)."""
    mlp = blocks.use_channel_mlp
    if blocks.fno_skip != "identity" or (mlp and blocks.channel_mlp_skip != "identity") or blocks.norm is not None:
        return False
    specs = [
        (sub, name, spec)
        for conv in blocks.convs
        for sub in conv.modules()
        for name, spec in sub.__dict__.get("_muop_specs", {}).items()
    ]
    if any(spec.factor for _, _, spec in specs):  # factorized weights have input-role factors: not a branch rule
        return False
    for i, conv in enumerate(blocks.convs):
        branch = [(conv, "inner" if mlp else "out")]
        if mlp:
            fcs = blocks.channel_mlp[i].fcs
            branch += [(fc, "out" if j == len(fcs) - 1 else "inner") for j, fc in enumerate(fcs)]
        for module, where in branch:
            for sub in module.modules():
                for name, spec in list(sub.__dict__.get("_muop_specs", {}).items()):
                    declare(sub, name, replace(spec, branch=where))
            if where == "out" and not module.__dict__.get("_muop_branch_hook"):
                module.register_forward_hook(_branch_output_hook)
                module.__dict__["_muop_branch_hook"] = True
    return True


def _branch_output_hook(module: nn.Module, args: tuple, out):
    """Multiply a branch's output layer's output (weight and bias together) by the branch multiplier
    a: the forward multiplier the plan set on the layer's first declared parameter."""
    m = next((multiplier(sub, name) for sub in module.modules() for name in sub.__dict__.get("_muop_specs", {})), 1.0)
    return None if m == 1.0 else out * m


def watched_modules(model: nn.Module, axis: str = "width") -> dict[str, nn.Module]:
    """The modules of a neuraloperator FNO/TFNO whose outputs the coordinate check records
    (:mod:`muop.workflows.coord_check`): the lifting, each layer's spectral convolution and channel MLP, and
    the projection (the model's output). Over depth, the first, middle and last layer's, named
    ``blocks.first``/``mid``/``last``, since the number of layers differs between sizes."""
    blocks = model.fno_blocks
    n = model.n_layers
    layers = [("first", 0), ("mid", n // 2), ("last", n - 1)] if axis == "depth" else [(str(i), i) for i in range(n)]
    prefix = "blocks" if axis == "depth" else "layers"
    mods: dict[str, nn.Module] = {"lifting": model.lifting}
    for label, i in layers:
        mods[f"{prefix}.{label}.spectral"] = blocks.convs[i]
        if blocks.use_channel_mlp:
            mods[f"{prefix}.{label}.channel_mlp"] = blocks.channel_mlp[i]
    mods["output"] = model.projection
    return mods
