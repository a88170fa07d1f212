"""Virtual and reference batch normalization (Salimans et al. 2016, §3.4; the practical guide, §4.4).

A reference batch is fixed at the start of training and passed through the network before every batch, each
normalization layer recording its statistics (the reference batch itself is normalized by them).

- ``reference``: every sample is normalized with the reference batch's mean and variance only.
- ``virtual``: each sample's own statistics join the reference's with weight 1/(n_ref + 1), as OpenAI's
  implementation does: μ = c·μ_x + (1 − c)·μ_ref and E[x²] likewise, c = 1/(n_ref + 1), σ² = E[x²] − μ²; μ_x is
  the sample's mean over its spatial positions (the value itself for dense layers). The guide's notebook forgot to
  subtract the mean (its code); here it is subtracted.

Samples never see each other's statistics, so a batch of one normalizes as in a batch of a hundred.
"""

from __future__ import annotations

import torch
from torch import nn


class VirtualBatchNorm(nn.Module):
    def __init__(self, channels: int, mode: str = "virtual", eps: float = 1e-5) -> None:
        super().__init__()
        if mode not in ("virtual", "reference"):
            raise ValueError(f"mode must be virtual or reference, got {mode}")
        self.mode, self.eps = mode, eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.recording = False
        self._reference: tuple[torch.Tensor, torch.Tensor, int] | None = None

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        return (1, -1) + (1,) * (x.dim() - 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch_dims = [0, *range(2, x.dim())]
        if self.recording:
            mean, mean_sq = x.mean(batch_dims, keepdim=True), (x * x).mean(batch_dims, keepdim=True)
            self._reference = (mean, mean_sq, x.shape[0])
        elif self._reference is None:
            raise RuntimeError("virtual batch norm needs a reference pass first; wrap the network in WithReference")
        else:
            ref_mean, ref_mean_sq, n_ref = self._reference
            if self.mode == "reference":
                mean, mean_sq = ref_mean, ref_mean_sq
            else:
                spatial = list(range(2, x.dim()))
                own_mean = x.mean(spatial, keepdim=True) if spatial else x
                own_mean_sq = (x * x).mean(spatial, keepdim=True) if spatial else x * x
                c = 1.0 / (n_ref + 1.0)
                mean, mean_sq = c * own_mean + (1 - c) * ref_mean, c * own_mean_sq + (1 - c) * ref_mean_sq
        variance = (mean_sq - mean * mean).clamp_min(0)
        normalized = (x - mean) * torch.rsqrt(variance + self.eps)
        return normalized * self.weight.view(self._shape(x)) + self.bias.view(self._shape(x))


def swap_batch_norm(network: nn.Module, mode: str) -> int:
    """Replace every BatchNorm1d/2d of ``network`` with :class:`VirtualBatchNorm` in ``mode``; returns how many."""
    count = 0
    for name, child in network.named_children():
        if isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(network, name, VirtualBatchNorm(child.num_features, mode, child.eps))
            count += 1
        else:
            count += swap_batch_norm(child, mode)
    return count


class WithReference(nn.Module):
    """Runs ``network`` on its fixed reference input (recording statistics) before every call on real input.

    The reference input is a buffer, so it is saved in checkpoints and exported generators; gradients flow
    through the reference statistics, as in Salimans et al.'s implementation.
    """

    def __init__(self, network: nn.Module, reference: torch.Tensor,
                 reference_labels: torch.Tensor | None = None, labels_from_batch: bool = False) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("reference", reference.clone())
        self.register_buffer("reference_labels", None if reference_labels is None else reference_labels.clone())
        self.labels_from_batch = labels_from_batch
        self._norms = [m for m in network.modules() if isinstance(m, VirtualBatchNorm)]

    @property
    def num_classes(self) -> int:
        return getattr(self.network, "num_classes", 0)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        self.record(y)
        return self.network(x, y)

    def features(self, x: torch.Tensor, y: torch.Tensor | None = None, layer: str = "features") -> torch.Tensor:
        self.record(y)
        return self.network.features(x, y, layer)

    def record(self, labels: torch.Tensor | None) -> None:
        """Pass the reference batch through the network so every normalization layer holds its statistics."""
        for norm in self._norms:
            norm.recording = True
        try:
            ref_labels = None
            if labels is not None:
                ref_labels = self.reference_labels
                if self.labels_from_batch or ref_labels is None:  # the guide's "current batch condition"
                    ref_labels = labels[torch.arange(len(self.reference), device=labels.device) % len(labels)]
            self.network(self.reference, ref_labels)
        finally:
            for norm in self._norms:
                norm.recording = False
