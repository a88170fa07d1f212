"""Minibatch discrimination against hand-computed values."""

from __future__ import annotations

import torch

from wganlab.tricks.minibatch.layer import MinibatchDiscrimination


def test_n_identical_samples_give_exactly_n_in_every_feature():
    layer = MinibatchDiscrimination(in_features=6, kernels=4, kernel_dim=3)
    x = torch.randn(1, 6).repeat(5, 1)
    out = layer(x)
    assert out.shape == (5, 6 + 4)
    assert torch.equal(out[:, :6], x)
    assert torch.allclose(out[:, 6:], torch.full((5, 4), 5.0))


def test_matches_the_formula_for_distinct_samples():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=3, kernels=2, kernel_dim=2)
    x = torch.randn(3, 3)
    m = (x @ layer.T.weight.T).view(3, 2, 2)
    expected = torch.zeros(3, 2)
    for i in range(3):
        for b in range(2):
            expected[i, b] = sum(torch.exp(-(m[i, b] - m[j, b]).abs().sum()) for j in range(3))
    assert torch.allclose(layer(x)[:, 3:], expected, atol=1e-6)
