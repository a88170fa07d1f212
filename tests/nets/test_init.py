import torch
from torch import nn

from wganlab.config import load_config
from wganlab.nets.build import build_networks
from wganlab.nets.init import raw_weight


def weights(net):
    return [raw_weight(m) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]


def test_dcgan_init_is_normal_002():
    torch.manual_seed(0)
    nets = build_networks(load_config("dcgan"), (1, 28, 28))
    for w in weights(nets.generator) + weights(nets.discriminator):
        if w.numel() > 500:
            assert abs(w.std().item() - 0.02) < 0.003


def test_init_reaches_spectrally_normalized_layers():
    """Seed 000's ``m.weight.data.normal_`` missed SN layers; ours must write the raw weight."""
    torch.manual_seed(0)
    nets = build_networks(load_config("dtu-wgan-sn"), (1, 28, 28))
    sn_layers = [m for m in nets.discriminator.modules() if hasattr(m, "parametrizations")]
    assert len(sn_layers) == 4
    for layer in sn_layers:
        original = layer.parametrizations.weight.original
        if original.numel() > 500:
            assert abs(original.std().item() - 0.02) < 0.004
