"""Conditional networks and the discriminator head: every conditioning mode uses the label."""

from __future__ import annotations

import pytest
import torch

from wganlab.config import load_config
from wganlab.errors import ConfigError
from wganlab.nets.build import build_networks
from wganlab.nets.heads import HeadedDiscriminator


@pytest.mark.parametrize("mode", ["concat", "channels", "projection"])
@pytest.mark.parametrize("data, shape", [("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_conditional_networks_take_and_use_labels(mode, data, shape):
    torch.manual_seed(0)
    config = load_config("dcgan", [f"data={data}", "model.width=8", f"conditioning.mode={mode}"])
    nets = build_networks(config, shape, num_classes=10)
    assert nets.num_classes == 10
    z, labels = torch.randn(4, nets.latent_dim), torch.tensor([0, 1, 2, 3])
    images = nets.generator.eval()(z, labels)
    assert images.shape == (4, *shape)
    assert not torch.allclose(images, nets.generator(z, torch.tensor([5, 6, 7, 8])))
    d = nets.discriminator.eval()
    scores = d(images, labels)
    assert scores.shape == (4, 1)
    assert not torch.allclose(scores, d(images, torch.tensor([9, 8, 7, 6])))


def test_guide_conditional_discriminator_matches_its_table():
    config = load_config("guide-cdcgan", ["data=cifar10"])
    d = build_networks(config, (3, 32, 32), num_classes=10).discriminator
    assert isinstance(d, HeadedDiscriminator)
    assert d.body_features == 256 * 4 * 4
    assert (d.dense.in_features, d.dense.out_features) == (256 * 4 * 4 + 10, 256)  # concat c, dense 256
    assert d.output.in_features == 256


def test_projection_adds_the_inner_product_with_the_class_embedding():
    torch.manual_seed(0)
    config = load_config("dcgan", ["data=mnist", "model.width=4", "model.d_norm=none", "conditioning.mode=projection"])
    d = build_networks(config, (1, 28, 28), num_classes=3).discriminator
    x, y = torch.randn(2, 1, 28, 28), torch.tensor([1, 2])
    h = d.features(x, y, "last")
    assert torch.allclose(d(x, y), d.output(h) + (d.embed(y) * h).sum(1, keepdim=True), atol=1e-6)


def test_conditioning_needs_labels_and_a_family_network():
    config = load_config("dcgan", ["data=mnist", "conditioning.mode=concat"])
    with pytest.raises(ConfigError, match="needs labelled data"):
        build_networks(config, (1, 28, 28), num_classes=0)
    with pytest.raises(ConfigError, match="exact network"):
        load_config("dcgan", ["data=mnist", "model.arch=tf-tutorial", "conditioning.mode=concat"])
