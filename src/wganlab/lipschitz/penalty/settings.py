"""The gradient penalty's settings: λ, the norm it pulls towards, and whether it is one-sided."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.sections import Section, option


@dataclass
class GradientPenaltyConfig:
    """Gulrajani et al. 2017, eq. 3: λ E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = αx + (1 − α)G(z), α ~ U[0, 1] per sample."""

    weight: float = option(0.0, low=0.0, why="λ; 0 turns the penalty off")
    target: float = option(1.0, low=0.0, why="the gradient norm the penalty pulls towards (0: zero-centred, "
                           "Thanh-Tung et al. 2019)")
    one_sided: bool = option(False, why="only norms above the target are penalised (WGAN-LP, Petzka et al. 2018)")


@dataclass
class GradientPenaltySettings:
    gradient_penalty: GradientPenaltyConfig = field(default_factory=GradientPenaltyConfig)


def search_space(settings: GradientPenaltySettings) -> dict[str, dict[str, list]]:
    on = settings.gradient_penalty.weight  # λ = 10 in Gulrajani et al., 0.1-1 on the toys
    return {"lipschitz.gradient_penalty.weight": {"log_uniform": [0.1, 100.0]}} if on else {}


SETTINGS = Section("lipschitz", GradientPenaltySettings, search_space=search_space)
