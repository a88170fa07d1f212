"""GAN and WGAN objectives on raw discriminator outputs.

All losses take the discriminator's raw output ``D(x)`` (a logit for GANs, a critic value for WGANs) and are
written as quantities to *minimise*. Working on logits with softplus is the same function as sigmoid + BCE
(what seed 000's code used) without its saturation to log(0) = -inf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F


class Objective(Protocol):
    name: str

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor: ...
    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Minimax:
    """Goodfellow et al. 2014, eq. 1: D maximises E log D(x) + E log(1 − D(G(z))); G minimises E log(1 − D(G(z))).

    The generator term saturates when D rejects fakes confidently (its gradient vanishes): kept because it is
    the objective the theory is about, and seed 003 reproduces it.
    """

    name: str = "minimax"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        # -log σ(r) = softplus(-r);  -log(1 - σ(f)) = softplus(f)
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake).mean()  # E log(1 - σ(f))


@dataclass(frozen=True)
class NonSaturating(Minimax):
    """Goodfellow et al. 2014, §3: G maximises E log D(G(z)) instead, which has strong gradients early on."""

    name: str = "non-saturating"

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()  # -E log σ(f)


@dataclass(frozen=True)
class Wasserstein:
    """Arjovsky et al. 2017, eq. 3: the critic maximises E D(x) − E D(G(z)); G minimises −E D(G(z))."""

    name: str = "wasserstein"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean() - real.mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


OBJECTIVES = {cls.name: cls for cls in (Minimax, NonSaturating, Wasserstein)}


def make_objective(name: str) -> Objective:
    return OBJECTIVES[name]()
