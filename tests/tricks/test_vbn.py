"""Virtual and reference batch norm against the weighted-statistics formula."""

from __future__ import annotations

import torch
from torch import nn

from wganlab.nets.layers import LabelFree
from wganlab.tricks.vbn import VirtualBatchNorm, WithReference, swap_batch_norm


def _by_formula(x, ref, eps=1e-5, mode="virtual"):
    ref_mean = ref.mean((0, 2, 3), keepdim=True)
    ref_sq = (ref * ref).mean((0, 2, 3), keepdim=True)
    if mode == "reference":
        mean, sq = ref_mean, ref_sq
    else:
        c = 1 / (len(ref) + 1)
        mean = c * x.mean((2, 3), keepdim=True) + (1 - c) * ref_mean
        sq = c * (x * x).mean((2, 3), keepdim=True) + (1 - c) * ref_sq
    return (x - mean) / torch.sqrt(sq - mean**2 + eps)


def test_virtual_batch_norm_equals_the_weighted_statistics():
    torch.manual_seed(0)
    ref, x = torch.randn(16, 3, 4, 4) * 2 + 1, torch.randn(5, 3, 4, 4)
    for mode in ("virtual", "reference"):
        net = WithReference(LabelFree(VirtualBatchNorm(3, mode)), ref)
        assert torch.allclose(net(x), _by_formula(x, ref, mode=mode), atol=1e-5)


def test_a_sample_is_normalized_independently_of_its_batch():
    torch.manual_seed(1)
    net = WithReference(LabelFree(nn.Conv2d(1, 4, 3), VirtualBatchNorm(4)), torch.randn(8, 1, 6, 6))
    x = torch.randn(6, 1, 6, 6)
    assert torch.allclose(net(x)[:1], net(x[:1]), atol=1e-6)


def test_dense_layers_use_the_value_itself_as_the_sample_statistic():
    ref, x = torch.randn(10, 4), torch.randn(3, 4)
    out = WithReference(LabelFree(VirtualBatchNorm(4)), ref)(x)
    c = 1 / 11
    mean = c * x + (1 - c) * ref.mean(0)
    sq = c * x * x + (1 - c) * (ref * ref).mean(0)
    assert torch.allclose(out, (x - mean) / torch.sqrt(sq - mean**2 + 1e-5), atol=1e-5)


def test_swap_replaces_every_batch_norm():
    net = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2)))
    assert swap_batch_norm(net, "reference") == 2
    assert sum(isinstance(m, VirtualBatchNorm) for m in net.modules()) == 2
