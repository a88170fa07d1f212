"""Minibatch discrimination's settings: the kernels added before the discriminator's output."""

from __future__ import annotations

from dataclasses import dataclass, field

from wganlab.sections import Facts, Section, option, require_composable


@dataclass
class MinibatchConfig:
    """Minibatch discrimination (Salimans et al. 2016, §3.2; the guide, §4.3) before the discriminator's output."""

    kernels: int = option(0, low=0, why="B, the features added; the guide's best: 128; 0 turns it off")
    kernel_dim: int = option(5, low=1, why="C, the dimension each kernel compares in")
    dense_after: int = option(0, low=0, why="units of a dense layer after it (the guide's best: 256)")


@dataclass
class MinibatchSettings:
    minibatch: MinibatchConfig = field(default_factory=MinibatchConfig)


def check(settings: MinibatchSettings, facts: Facts) -> None:
    if settings.minibatch.kernels:
        require_composable(facts.arch, "tricks.minibatch")


SETTINGS = Section("tricks", MinibatchSettings, check, needs_head=lambda settings: bool(settings.minibatch.kernels))
