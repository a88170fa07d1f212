"""Minibatch discrimination (Salimans et al. 2016, §3.2; the practical guide, §4.3).

Features f(x_i) ∈ R^A are multiplied by a tensor T ∈ R^{A×B×C} into M_i ∈ R^{B×C}; for each kernel b,
o(x_i)_b = Σ_j exp(−‖M_{i,b} − M_{j,b}‖₁) over the whole batch (j = i included, contributing 1), and o(x_i) ∈ R^B
is concatenated to f(x_i). A collapsed generator's batch has near-identical rows, so its o values approach the
batch size: the discriminator can see the missing diversity.
"""

from __future__ import annotations

import torch
from torch import nn


class MinibatchDiscrimination(nn.Module):
    def __init__(self, in_features: int, kernels: int, kernel_dim: int) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        # T as a bias-free linear map, so that weight init and spectral norm treat it like every other layer
        self.T = nn.Linear(in_features, kernels * kernel_dim, bias=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        m = self.T(features).view(-1, self.kernels, self.kernel_dim)  # N x B x C
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(-1)  # N x N x B
        return torch.cat([features, torch.exp(-l1).sum(1)], dim=1)
