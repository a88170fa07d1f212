"""GAN and WGAN objectives on raw discriminator outputs.

All losses take the discriminator's raw output ``D(x)`` (a logit for GANs, a critic value for WGANs) and are
written as quantities to *minimise*. They average over the last dimension, the batch: scores of a stack of
seeds shaped ``[S, B]`` (:mod:`wganlab.stacking`) give one loss per seed. Working on logits with softplus is the
same function as sigmoid + BCE (what the DTU study's code used) without its saturation to log(0) = -inf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from wganlab.registry import OBJECTIVES


class Objective(Protocol):
    name: str

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, real_target: torch.Tensor | None = None,
                    fake_target: torch.Tensor | None = None) -> torch.Tensor: ...
    def fake_loss(self, fake: torch.Tensor, fake_target: torch.Tensor | None = None) -> torch.Tensor: ...
    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """``real``: the critic's scores of a real batch, given only to objectives registered as relativistic."""
        ...


def binary_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of −[t log σ(x) + (1 − t) log(1 − σ(x))] from logits: t·softplus(−x) + (1 − t)·softplus(x)."""
    return (target * F.softplus(-logits) + (1 - target) * F.softplus(logits)).mean(-1)


@dataclass(frozen=True)
class Minimax:
    """Goodfellow et al. 2014, eq. 1: D maximises E log D(x) + E log(1 − D(G(z))); G minimises E log(1 − D(G(z))).

    The generator term saturates when D rejects fakes confidently (its gradient vanishes): kept because it is
    the objective the theory is about, Astroth's survey restates it, and the DTU study's toy notebook trains with it.
    """

    name: str = "minimax"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, real_target: torch.Tensor | None = None,
                    fake_target: torch.Tensor | None = None) -> torch.Tensor:
        """Per-sample targets (label smoothing, noisy labels) replace the plain 1 for real and 0 for fake."""
        if real_target is None and fake_target is None:
            # -log σ(r) = softplus(-r);  -log(1 - σ(f)) = softplus(f)
            return F.softplus(-real).mean(-1) + F.softplus(fake).mean(-1)
        return binary_cross_entropy(real, real_target) + self.fake_loss(fake, fake_target)

    def fake_loss(self, fake: torch.Tensor, fake_target: torch.Tensor | None = None) -> torch.Tensor:
        """The discriminator's loss on fakes alone (experience replay's extra step)."""
        return F.softplus(fake).mean(-1) if fake_target is None else binary_cross_entropy(fake, fake_target)

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -F.softplus(fake).mean(-1)  # E log(1 - σ(f))


@dataclass(frozen=True)
class NonSaturating(Minimax):
    """Goodfellow et al. 2014, §3: G maximises E log D(G(z)) instead, which has strong gradients early on."""

    name: str = "non-saturating"

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return F.softplus(-fake).mean(-1)  # -E log σ(f)


@dataclass(frozen=True)
class Wasserstein:
    """Arjovsky et al. 2017, eq. 3: the critic maximises E D(x) − E D(G(z)); G minimises −E D(G(z))."""

    name: str = "wasserstein"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, real_target: torch.Tensor | None = None,
                    fake_target: torch.Tensor | None = None) -> torch.Tensor:
        return fake.mean(-1) - real.mean(-1)  # no targets: the config refuses label tricks for a critic

    def fake_loss(self, fake: torch.Tensor, fake_target: torch.Tensor | None = None) -> torch.Tensor:
        return fake.mean(-1)

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -fake.mean(-1)


@dataclass(frozen=True)
class Hinge:
    """Lim & Ye 2017; Miyato et al. 2018, eq. 16-17: D minimises E max(0, 1 − D(x)) + E max(0, 1 + D(G(z)));
    G minimises −E D(G(z)). The critic stops pushing a sample once it is beyond the margin."""

    name: str = "hinge"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, real_target: torch.Tensor | None = None,
                    fake_target: torch.Tensor | None = None) -> torch.Tensor:
        return F.relu(1 - real).mean(-1) + self.fake_loss(fake)

    def fake_loss(self, fake: torch.Tensor, fake_target: torch.Tensor | None = None) -> torch.Tensor:
        return F.relu(1 + fake).mean(-1)

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -fake.mean(-1)


@dataclass(frozen=True)
class LeastSquares:
    """Mao et al. 2017, eq. 2 with a = 0, b = c = 1: D minimises ½E(D(x) − b)² + ½E(D(G(z)) − a)²; G minimises
    ½E(D(G(z)) − c)². Per-sample targets (label smoothing, flips) replace b and a."""

    name: str = "least-squares"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, real_target: torch.Tensor | None = None,
                    fake_target: torch.Tensor | None = None) -> torch.Tensor:
        target = 1.0 if real_target is None else real_target
        return 0.5 * (real - target).square().mean(-1) + self.fake_loss(fake, fake_target)

    def fake_loss(self, fake: torch.Tensor, fake_target: torch.Tensor | None = None) -> torch.Tensor:
        target = 0.0 if fake_target is None else fake_target
        return 0.5 * (fake - target).square().mean(-1)

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * (fake - 1).square().mean(-1)


@dataclass(frozen=True)
class RelativisticPairing:
    """Jolicoeur-Martineau 2019 (RSGAN); Huang et al. 2024 (R3GAN's RpGAN, eq. 2): each real score is compared
    with one fake score, D minimises E softplus(−(D(x) − D(G(z)))), G minimises E softplus(−(D(G(z)) − D(x))).
    Sample i of the real batch is paired with fake i, so both batches have the same size."""

    name: str = "relativistic"

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor, real_target: torch.Tensor | None = None,
                    fake_target: torch.Tensor | None = None) -> torch.Tensor:
        return F.softplus(fake - real).mean(-1)

    def fake_loss(self, fake: torch.Tensor, fake_target: torch.Tensor | None = None) -> torch.Tensor:
        raise ValueError("a relativistic loss compares fakes with reals: it has no loss on fakes alone (the config "
                         "refuses experience replay with it)")

    def generator_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        if real is None:
            raise ValueError("a relativistic generator loss needs the critic's scores of a real batch")
        return F.softplus(real - fake).mean(-1)


def make_objective(name: str) -> Objective:
    """The objective registered as ``name`` (:data:`wganlab.registry.OBJECTIVES`)."""
    return OBJECTIVES.load(name)()
