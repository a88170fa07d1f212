"""R1's and R2's weights γ, each 0 (off) unless set."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.sections import Section, option


@dataclass
class ZeroCentredSettings:
    r1: float = option(0.0, low=0.0, why="γ of R1, (γ/2) E‖∇D(x)‖² on reals (Mescheder et al. 2018, eq. 9); 0: off")
    r2: float = option(0.0, low=0.0, why="γ of R2, (γ/2) E‖∇D(G(z))‖² on fakes (R3GAN); 0: off")


def search_space(settings: ZeroCentredSettings) -> dict[str, dict[str, list]]:
    """One γ for the penalties switched on (R3GAN uses the same for R1 and R2)."""
    keys = "+".join(key for key, on in (("lipschitz.r1", settings.r1), ("lipschitz.r2", settings.r2)) if on)
    return {keys: {"log_uniform": [0.01, 10.0]}} if keys else {}


SETTINGS = Section("lipschitz", ZeroCentredSettings, search_space=search_space)
