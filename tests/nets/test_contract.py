"""Every registered architecture, generated from the registry: its shapes at each size it supports, and the one
calling convention G(z, y=None), D(x, y=None)."""

from __future__ import annotations

import pytest
import torch

from wganlab.config import load_config
from wganlab.errors import ConfigError
from wganlab.nets.build import BUILD_STEPS, build_networks
from wganlab.registry import ARCHITECTURES

IMAGE_SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]


def built(name: str, shape: tuple[int, ...]):
    data = "8gaussians" if len(shape) == 1 else "mnist"
    config = load_config("dcgan", [f"data={data}", f"model.arch={name}", "model.width=8"])
    return build_networks(config, shape)


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_architecture_builds_at_its_sizes_and_takes_optional_labels(name):
    shapes = ([(2,)] if ARCHITECTURES.can(name, "points") else []) + \
        (IMAGE_SHAPES if ARCHITECTURES.can(name, "images") else [])
    sizes = 0
    for shape in shapes:
        try:
            nets = built(name, shape)
        except ConfigError as err:  # a study's exact network is made for some sizes only, and says so
            assert f"arch={name} needs" in str(err) and "pick another arch" in str(err), err
            continue
        sizes += 1
        z = torch.randn(3, nets.latent_dim)
        fake = nets.generator(z, None)
        assert fake.shape == (3, *shape), (name, shape)
        assert torch.equal(fake, nets.generator(z))  # y defaults to None
        assert nets.discriminator(fake, None).numel() == 3, (name, shape)
    assert sizes >= 1, f"{name} builds at none of {shapes}"


def test_a_plain_network_refuses_labels_and_a_conditional_one_needs_them():
    plain = built("dcgan", (1, 28, 28))
    with pytest.raises(ValueError, match="not conditional"):
        plain.generator(torch.randn(2, plain.latent_dim), torch.tensor([0, 1]))
    config = load_config("dcgan", ["data=mnist", "model.width=8", "conditioning.mode=concat"])
    conditional = build_networks(config, (1, 28, 28), num_classes=10)
    with pytest.raises(ValueError, match="give a class"):
        conditional.generator(torch.randn(2, conditional.latent_dim))
    fake = conditional.generator(torch.randn(2, conditional.latent_dim), torch.tensor([3, 4]))
    assert conditional.discriminator(fake, torch.tensor([3, 4])).numel() == 2


def test_the_build_is_an_ordered_list_of_named_steps():
    assert [name for name, _ in BUILD_STEPS] == ["condition", "head", "init", "spectral norm", "virtual batch norm"]


def test_a_plain_network_keeps_its_state_dict_keys():
    nets = built("dcgan", (1, 28, 28))
    assert next(iter(nets.generator.state_dict())).startswith("0.")  # no wrapper prefix: old checkpoints load
