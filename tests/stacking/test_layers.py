"""Stacked networks compute, for every seed, what its separate network computes: outputs, parameter gradients
and input gradients (to float32 rounding), for every family the stacked studies use."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from wganlab.config import load_config
from wganlab.nets.build import build_networks
from wganlab.stacking.layers import NotStackable, stacked_shell, to_channel, to_seed
from wganlab.stacking.state import join_states, split_state
from wganlab.stacking.trainer import stack_network
from wganlab.training.trainer import seed_everything

SEEDS, ROWS = 3, 4
MNIST = (1, 28, 28)
FAMILIES = [  # (preset, overrides, sample shape): MLPs, the DCGAN family and the DTU study's networks
    ("wgan-gp", ["data=8gaussians"], (2,)),
    ("gan", ["data=mnist", "model.width=4"], MNIST),  # nearest upsampling and max-pooling (the guide's §2.2)
    ("dcgan", ["data=mnist", "model.width=4"], MNIST),  # batch norm in both networks
    ("wgan-gp", ["data=mnist", "model.width=4"], MNIST),  # layer norm (one-group group norm) in the critic
    ("wgan-sn", ["data=mnist", "model.width=4"], MNIST),  # spectral norm
    ("hinge-sn", ["data=mnist", "model.width=4"], MNIST),
    ("dtu-wgan-gp", [], MNIST),  # transposed convolutions, a batch-norm critic
    ("dtu-wgan-sn", [], MNIST),  # full-shape LayerNorm and spectral norm
]


def separate_networks(preset: str, overrides: list[str], shape: tuple[int, ...]):
    """One network pair per seed, each initialised from its own seed as an ordinary run's."""
    built = []
    for seed in range(SEEDS):
        seed_everything(seed)
        built.append(build_networks(load_config(preset, [*overrides, f"seed={seed}"]), shape))
    return built


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


@pytest.mark.parametrize("preset,overrides,shape", FAMILIES, ids=[f"{p}-{len(s)}d" for p, _, s in FAMILIES])
@pytest.mark.parametrize("role", ["generator", "discriminator"])
def test_stacked_network_matches_each_separate_network(preset, overrides, shape, role):
    built = separate_networks(preset, overrides, shape)
    networks = [getattr(nets, role) for nets in built]
    stacked = stack_network(networks)
    assert [name for name, _ in stacked.named_parameters()] == [name for name, _ in networks[0].named_parameters()]
    torch.manual_seed(7)
    inputs = [torch.randn(ROWS, built[0].latent_dim) if role == "generator" else torch.randn(ROWS, *shape)
              for _ in range(SEEDS)]
    inputs = [x.requires_grad_(True) for x in inputs]
    joint = torch.cat([x.detach() for x in inputs]).requires_grad_(True)
    outputs = [network(x) for network, x in zip(networks, inputs, strict=True)]
    stacked_out = stacked(joint)
    weights = torch.randn_like(stacked_out)  # a loss that weighs every output differently
    (stacked_out * weights).sum().backward()
    for seed, out in enumerate(outputs):
        assert relative(stacked_out[seed * ROWS:(seed + 1) * ROWS], out) < 1e-5
        (out * weights[seed * ROWS:(seed + 1) * ROWS]).sum().backward()
    assert relative(joint.grad, torch.cat([x.grad for x in inputs])) < 1e-5
    for (name, whole), *own in zip(stacked.named_parameters(), *[n.parameters() for n in networks], strict=True):
        separate = torch.stack([p.grad for p in own]).reshape(whole.shape)
        assert relative(whole.grad, separate) < 1e-5, name
    if role == "discriminator" and "sn" in preset:  # each seed's power iteration moved its own vectors
        for (name, buffer), *own in zip(stacked.named_buffers(), *[n.buffers() for n in networks], strict=True):
            if name.endswith(("_u", "_v")):
                assert relative(buffer, torch.stack(own)) < 1e-5, name


@pytest.mark.parametrize("preset,overrides", [("wgan-sn", ["data=mnist", "model.width=4"]), ("dtu-wgan-sn", [])])
def test_stacking_leaves_the_separate_networks_untouched(preset, overrides):
    """Building a stack reads each layer's raw weight: reading a spectrally normalized weight would run a power
    iteration and move that seed's vectors (the separate run, and a resumed stack, would differ)."""
    networks = [nets.discriminator for nets in separate_networks(preset, overrides, MNIST)]
    before = [{k: v.clone() for k, v in network.state_dict().items()} for network in networks]
    stack_network(networks)
    for network, state in zip(networks, before, strict=True):
        assert all(torch.equal(network.state_dict()[k], v) for k, v in state.items())


def test_stacked_state_splits_into_each_seeds_ordinary_state_and_back():
    built = separate_networks("dtu-wgan-gp", [], MNIST)
    networks = [nets.discriminator for nets in built]
    stacked = stack_network(networks)
    state = stacked.state_dict()
    for seed, network in enumerate(networks):
        own = split_state(state, network.state_dict(), SEEDS, seed)
        assert own.keys() == network.state_dict().keys()
        for key, value in network.state_dict().items():
            assert torch.equal(own[key], value), key
    rejoined = join_states([network.state_dict() for network in networks], state)
    assert all(torch.equal(rejoined[key], value) for key, value in state.items())


def test_layouts_round_trip_seed_major_rows():
    x = torch.arange(2 * 3 * 4 * 5 * 5, dtype=torch.float32).reshape(2 * 3, 4, 5, 5)  # S=2, B=3, C=4
    channels = to_channel(x, 2)
    assert channels.shape == (3, 8, 5, 5)
    assert torch.equal(channels[1, 4:], x[3 + 1])  # row 1 of seed 1 holds seed 1's channels
    assert torch.equal(to_seed(channels, 2), x)


def test_a_layer_without_a_stacked_form_is_refused_by_name():
    with pytest.raises(NotStackable, match="GRU"):
        stacked_shell(nn.Sequential(nn.Linear(2, 2), nn.GRU(2, 2)), 2)
