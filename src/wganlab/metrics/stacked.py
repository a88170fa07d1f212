"""Mode counting on Stacked MNIST (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

Each of the three channels is classified by the MNIST classifier; the triple of digits is one of 1,000 modes.
A mode is covered when at least one sample lands in it; KL is that of the generated mode histogram to the
uniform distribution over all 1,000 modes. The protocol uses 26,000 samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from wganlab.metrics.classifier import DigitNet, predict

STACKED_SAMPLES = 26_000


@dataclass(frozen=True)
class StackedModes:
    covered: int
    kl_to_uniform: float
    samples: int


def stacked_modes(images: torch.Tensor, net: DigitNet) -> StackedModes:
    """Modes covered and KL to uniform for float images N x 3 x 28 x 28 in [-1, 1]."""
    digits = [predict(net, images[:, c : c + 1])[1].argmax(1) for c in range(3)]
    modes = 100 * digits[0] + 10 * digits[1] + digits[2]
    counts = torch.bincount(modes, minlength=1000).double()
    p = counts / counts.sum()
    kl = float((p[p > 0] * torch.log(p[p > 0] * 1000)).sum())
    return StackedModes(int((counts > 0).sum()), kl, len(images))
