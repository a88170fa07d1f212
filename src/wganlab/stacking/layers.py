"""S copies of one network as one module: every layer carries the seed dimension.

A stacked network takes and returns tensors whose first dimension is seed-major, ``S * B`` rows (seed 0's
``B`` rows, then seed 1's, ...), so the step, the objectives and the penalties handle it as one big batch. Inside,
each layer works in the layout its kernel wants:

Every reshape here is ``reshape``, never ``view``: the step converts 4-D parameters and inputs to channels-last
(``channels_last``, on by default), whose strides a view cannot always follow.

- ``seed`` layout, ``[S*B, ...]``: linear layers as one batched matrix product over ``[S, B, in]``, reshapes,
  the per-sample layer norm of the DTU networks;
- ``channel`` layout, ``[B, S*C, H, W]`` (or ``[B, S*F]``): convolutions and transposed convolutions as grouped
  ones (``groups = S``), batch, group and instance norm over ``S*C`` channels, which are exactly the per-seed
  statistics of the separate networks;
- element-wise layers (activations, padding, cropping, pooling, upsampling) work in either.

A sequential network converts between layouts only where consecutive layers want different ones (twice per
network for the DCGAN family). Parameters keep the names and order of the separate networks, with the seeds
stacked along their first dimension, so a stacked state dict splits into S ordinary ones and back
(:mod:`wganlab.stacking.state`) — checkpoints, samples and evaluation stay those of ordinary runs.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from wganlab.errors import ConfigError
from wganlab.nets.init import raw_weight
from wganlab.nets.layers import Crop, LabelFree, Reshape
from wganlab.precision import at_least_float32

SEED, CHANNEL, ANY = "seed", "channel", "any"

# Layers that act on each element, or on each sample's own rows and columns: any layout will do.
ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Tanh, nn.Sigmoid, nn.Identity, nn.Dropout, nn.ZeroPad2d,
               nn.Upsample, nn.MaxPool2d, nn.AvgPool2d, Crop)


class NotStackable(ConfigError):
    """A network holds a layer (or a trick couples samples in a way) that has no stacked form yet."""


def to_channel(x: torch.Tensor, seeds: int) -> torch.Tensor:
    """``[S*B, C, ...]`` -> ``[B, S*C, ...]``."""
    rows, channels, *rest = x.shape
    return x.reshape(seeds, rows // seeds, channels, *rest).transpose(0, 1).reshape(rows // seeds, seeds * channels,
                                                                                 *rest)


def to_seed(x: torch.Tensor, seeds: int) -> torch.Tensor:
    """``[B, S*C, ...]`` -> ``[S*B, C, ...]``."""
    rows, channels, *rest = x.shape
    return x.reshape(rows, seeds, channels // seeds, *rest).transpose(0, 1).reshape(seeds * rows, channels // seeds,
                                                                                 *rest)


def convert(x: torch.Tensor, source: str, target: str, seeds: int) -> torch.Tensor:
    if source == target or ANY in (source, target):
        return x
    return to_channel(x, seeds) if target == CHANNEL else to_seed(x, seeds)


class StackedLayer(nn.Module):
    """A leaf layer of a stacked network; ``layout`` is the layout its input must be in."""

    layout: ClassVar[str] = SEED


class StackedLinear(StackedLayer):
    """``S`` linear layers: ``weight`` is ``[S, out, in]``, one batched matrix product for all seeds."""

    layout = SEED

    def __init__(self, seeds: int, like: nn.Linear) -> None:
        super().__init__()
        self.seeds = seeds
        self.in_features, self.out_features = like.in_features, like.out_features
        self.weight = nn.Parameter(torch.empty(seeds, like.out_features, like.in_features))
        self.bias = nn.Parameter(torch.empty(seeds, like.out_features)) if like.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(self.seeds, -1, self.in_features)
        if self.bias is None:
            out = torch.bmm(rows, self.weight.transpose(1, 2))
        else:
            out = torch.baddbmm(self.bias.unsqueeze(1), rows, self.weight.transpose(1, 2))
        return out.reshape(-1, self.out_features)


class StackedConv2d(StackedLayer):
    """``S`` convolutions as one grouped convolution: ``weight`` is ``[S*out, in/groups, kh, kw]``."""

    layout = CHANNEL

    def __init__(self, seeds: int, like: nn.Conv2d) -> None:
        super().__init__()
        if like.padding_mode != "zeros" or isinstance(like.padding, str):
            raise NotStackable("a convolution with string or non-zero padding modes has no stacked form yet")
        self.seeds = seeds
        self.stride, self.padding, self.dilation = like.stride, like.padding, like.dilation
        self.groups = like.groups * seeds
        shape = raw_weight(like).shape  # never like.weight: under spectral norm that runs a power iteration
        self.weight = nn.Parameter(torch.empty(seeds * shape[0], *shape[1:]))
        self.bias = nn.Parameter(torch.empty(seeds * like.out_channels)) if like.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class StackedConvTranspose2d(StackedLayer):
    """``S`` transposed convolutions as one grouped one: ``weight`` is ``[S*in, out/groups, kh, kw]``."""

    layout = CHANNEL

    def __init__(self, seeds: int, like: nn.ConvTranspose2d) -> None:
        super().__init__()
        self.seeds = seeds
        self.stride, self.padding, self.dilation = like.stride, like.padding, like.dilation
        self.output_padding = like.output_padding
        self.groups = like.groups * seeds
        shape = raw_weight(like).shape
        self.weight = nn.Parameter(torch.empty(seeds * shape[0], *shape[1:]))
        self.bias = nn.Parameter(torch.empty(seeds * like.out_channels)) if like.bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)


class StackedLayerNorm(StackedLayer):
    """``S`` full-shape layer norms (the DTU networks' ``nn.LayerNorm([C, H, W])``): each sample normalised over
    its own features, then each seed's element-wise affine (``[S, *shape]``)."""

    layout = SEED

    def __init__(self, seeds: int, like: nn.LayerNorm) -> None:
        super().__init__()
        self.seeds, self.eps = seeds, like.eps
        self.normalized_shape = tuple(like.normalized_shape)
        self.size = int(torch.Size(self.normalized_shape).numel())
        affine = like.elementwise_affine
        self.weight = nn.Parameter(torch.empty(seeds, *self.normalized_shape)) if affine else None
        self.bias = nn.Parameter(torch.empty(seeds, *self.normalized_shape)) if affine and like.bias is not None \
            else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(self.seeds, -1, self.size)
        out = F.layer_norm(flat, (self.size,), None, None, self.eps)
        if self.weight is not None:
            out = out * self.weight.reshape(self.seeds, 1, self.size)
        if self.bias is not None:
            out = out + self.bias.reshape(self.seeds, 1, self.size)
        return out.reshape(x.shape)


def _stacked_norm(seeds: int, like: nn.Module) -> nn.Module:
    """Batch, group and instance norm over ``S*C`` channels: per seed and channel, exactly the separate
    networks' statistics (a torch module, so batch-norm detection and running statistics work as usual)."""
    if isinstance(like, nn.GroupNorm):
        norm: nn.Module = nn.GroupNorm(like.num_groups * seeds, like.num_channels * seeds, like.eps, like.affine)
    else:
        kind = type(like)
        norm = kind(like.num_features * seeds, like.eps, like.momentum, like.affine, like.track_running_stats)
    norm.layout = CHANNEL
    return norm


class StackedSpectralNorm(nn.Module):
    """Spectral normalization of ``S`` stacked weights, each divided by its own σ, with its own power iteration
    (torch's ``_SpectralNorm``, batched over seeds: the same ``_u``/``_v`` buffers with a leading seed dimension,
    the same one iteration per training-mode call, σ in at least float32 as :class:`FullPrecisionSpectralNorm`)."""

    def __init__(self, seeds: int, rows: int, cols: int, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        """``rows`` x ``cols``: one seed's weight as a matrix (output dimension first, as torch flattens it)."""
        super().__init__()
        self.seeds, self.eps, self.n_power_iterations = seeds, eps, n_power_iterations
        self.register_buffer("_u", torch.full((seeds, rows), rows ** -0.5))
        self.register_buffer("_v", torch.full((seeds, cols), cols ** -0.5))

    @torch.no_grad()
    def _power_method(self, matrix: torch.Tensor) -> None:
        for _ in range(self.n_power_iterations):
            self._u.copy_(F.normalize(torch.bmm(matrix, self._v.unsqueeze(2)).squeeze(2), dim=1, eps=self.eps))
            self._v.copy_(F.normalize(torch.bmm(matrix.transpose(1, 2), self._u.unsqueeze(2)).squeeze(2), dim=1,
                                      eps=self.eps))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.autocast(weight.device.type, enabled=False):
            full = at_least_float32(weight)
            matrix = full.reshape(self.seeds, self._u.shape[1], self._v.shape[1])
            if self.training:
                self._power_method(matrix)
            u, v = self._u.clone(), self._v.clone()
            sigma = (u * torch.bmm(matrix, v.unsqueeze(2)).squeeze(2)).sum(1)  # each seed's u·Wv
            return (full.reshape(self.seeds, -1) / sigma.unsqueeze(1)).reshape(full.shape).to(weight.dtype)


class StackedSequential(nn.Sequential):
    """A sequential network of stacked layers, converting layouts where consecutive layers differ. Called at the
    top as ``net(x, y=None)`` on seed-major rows, as every wganlab network is."""

    def __init__(self, seeds: int, children: OrderedDict[str, nn.Module]) -> None:
        super().__init__(children)
        self.seeds = seeds

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is not None:
            raise ValueError("stacked networks are not conditional: call them without labels")
        out, layout = self.run(x, SEED)
        return convert(out, layout, SEED, self.seeds)

    def run(self, x: torch.Tensor, layout: str) -> tuple[torch.Tensor, str]:
        """The layers on ``x`` (in ``layout``); returns the output and the layout it is in."""
        for layer in self:
            if isinstance(layer, StackedSequential):
                x, layout = layer.run(x, layout)
                continue
            wanted = getattr(layer, "layout", ANY)
            if wanted != ANY and wanted != layout:
                x, layout = convert(x, layout, wanted, self.seeds), wanted
            x = layer(x)
        return x, layout


def stacked_shell(network: nn.Module, seeds: int) -> nn.Module:
    """An empty stacked network shaped like ``network`` (whose parameters are then loaded with
    :func:`wganlab.stacking.state.stack_states`). Raises :class:`NotStackable` naming the first layer without a
    stacked form."""
    if isinstance(network, (nn.Sequential, LabelFree)):
        children = OrderedDict((name, stacked_shell(child, seeds)) for name, child in network.named_children())
        return StackedSequential(seeds, children)
    layer = _stacked_leaf(network, seeds)
    if parametrize.is_parametrized(network, "weight"):
        _stack_parametrization(network, layer, seeds)
    return layer


def _stacked_leaf(layer: nn.Module, seeds: int) -> nn.Module:
    if isinstance(layer, nn.Linear):
        return StackedLinear(seeds, layer)
    if isinstance(layer, nn.Conv2d):
        return StackedConv2d(seeds, layer)
    if isinstance(layer, nn.ConvTranspose2d):
        return StackedConvTranspose2d(seeds, layer)
    if isinstance(layer, nn.LayerNorm):
        return StackedLayerNorm(seeds, layer)
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) \
            and not isinstance(layer, nn.SyncBatchNorm):
        return _stacked_norm(seeds, layer)
    if isinstance(layer, (Reshape, nn.Flatten)):
        copy = _copy_module(layer)
        copy.layout = SEED
        return copy
    if isinstance(layer, ELEMENTWISE):
        return _copy_module(layer)
    raise NotStackable(f"{type(layer).__name__} layers have no stacked form yet (stacked seeds support linear, "
                       "convolution, batch/layer/group/instance norm, spectral norm and element-wise layers): "
                       "run these seeds separately")


def _copy_module(layer: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(layer)


def _stack_parametrization(network: nn.Module, layer: nn.Module, seeds: int) -> None:
    """Spectral norm on the stacked weight, when the separate layer has it (any other parametrization is
    refused)."""
    from torch.nn.utils.parametrizations import _SpectralNorm

    found = network.parametrizations.weight
    if len(found) != 1 or not isinstance(found[0], _SpectralNorm) or found[0].dim != 0:
        raise NotStackable("spectral norm has a stacked form on linear and convolution layers (dim 0), not on "
                           "transposed convolutions (dim 1) or beside other parametrizations; run these seeds "
                           "separately")
    rows = network.parametrizations.weight.original.shape[0]
    cols = network.parametrizations.weight.original[0].numel()
    spectral = StackedSpectralNorm(seeds, rows, cols, found[0].n_power_iterations, found[0].eps)
    parametrize.register_parametrization(layer, "weight", spectral, unsafe=True)
