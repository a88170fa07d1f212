"""Weight initialisation that also reaches parametrized (spectrally normalized) layers.

Seed 000's code applied N(0, 0.02) through ``m.weight.data``; on a layer wrapped by
``torch.nn.utils.parametrizations.spectral_norm`` that is a freshly computed tensor, so the write is lost and
the critic silently kept PyTorch's default init. Here the raw parameter (``parametrizations.weight.original``)
is written instead.
"""

from __future__ import annotations

import torch
from torch import nn

_LINEAR = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
_NORM = (nn.BatchNorm1d, nn.BatchNorm2d)


def raw_weight(module: nn.Module) -> torch.Tensor:
    """The trainable weight tensor, under any parametrization."""
    if hasattr(module, "parametrizations") and "weight" in module.parametrizations:
        return module.parametrizations.weight.original
    return module.weight


@torch.no_grad()
def init_weights(network: nn.Module, scheme: str) -> None:
    """``dcgan``: conv/linear N(0, 0.02), batch-norm scale N(1, 0.02), biases 0 (Radford et al. 2016, §4).
    ``keras``: Glorot-uniform weights and zero biases (the TensorFlow networks of seeds 001 and 004).
    ``resnet``: Xavier-uniform with each layer's ``init_gain`` (√2 on residual convs, else 1) and zero biases
    (Gulrajani et al.'s ``he_init`` and SNGAN's initialisation are this rule; :mod:`wganlab.nets.resnet`).
    ``pytorch``: leave PyTorch's defaults."""
    if scheme == "pytorch":
        return
    for module in network.modules():
        if isinstance(module, _LINEAR):
            weight = raw_weight(module)
            if scheme == "dcgan":
                weight.normal_(0.0, 0.02)
            elif scheme == "resnet":
                nn.init.xavier_uniform_(weight, gain=getattr(module, "init_gain", 1.0))
            else:
                nn.init.xavier_uniform_(weight)
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, _NORM) and module.affine and scheme == "dcgan":
            module.weight.normal_(1.0, 0.02)
            module.bias.zero_()
