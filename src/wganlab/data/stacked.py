"""Stacked MNIST (Metz et al. 2017; VEEGAN, PacGAN): three random digits as the R, G, B channels of one image.

With 10 digit classes per channel there are 1,000 modes. Triples are drawn fresh for every batch from torch's
global RNG (so resume stays exact); the label of a sample is 100·d_R + 10·d_G + d_B.
"""

from __future__ import annotations

import torch

from wganlab.data.images import to_float


class StackedDigits:
    """A :class:`~wganlab.data.sources.DataSource` over any single-channel digit set (uint8 N x 1 x H x W and
    labels)."""

    is_vectors = False
    num_classes = 1000

    def __init__(self, digits: torch.Tensor, labels: torch.Tensor, device: torch.device,
                 pixel_range: str = "symmetric") -> None:
        self.digits = digits[:, 0].to(device)
        self.digit_labels = labels.long().to(device)
        self.shape = (3, *self.digits.shape[1:])
        self.device = device
        self.pixel_range = pixel_range

    def sample_with_labels(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.randint(len(self.digits), (batch_size, 3), device=self.device)
        images = self.digits[index]  # B x 3 x H x W
        d = self.digit_labels[index]
        return to_float(images, self.pixel_range), 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]

    def sample(self, batch_size: int) -> torch.Tensor:
        return self.sample_with_labels(batch_size)[0]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        del state
