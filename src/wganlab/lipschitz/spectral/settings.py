"""Spectral normalization's switch (Miyato et al. 2018): every critic layer divided by its largest singular value."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.sections import Section


@dataclass
class SpectralNormSettings:
    spectral_norm: bool = False


SETTINGS = Section("lipschitz", SpectralNormSettings)
