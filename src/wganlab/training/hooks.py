"""Hooks: what a training trick or a Lipschitz method adds to the step, each in its own package.

The step (:mod:`wganlab.training.step`) reads: draw a batch, let the hooks adjust it, the objective's loss plus
the hooks' terms, one optimizer step, the hooks' after-step actions. A hook overrides only the phases it needs:

- ``check``: refuse a run it cannot serve (experience replay under torchrun);
- ``adjust_critic_batch``: change what the critic sees (an image pool's past fakes, label targets);
- ``critic_view``: transform every sample the critic scores, real or fake, in either step (DiffAugment);
- ``critic_terms`` / ``generator_terms``: named loss terms, each added with its weight and logged under its name
  (the gradient penalty, historical averaging, feature matching);
- ``after_critic_step`` / ``after_generator_step``: act once an optimizer step is done (weight clipping, running
  averages, experience replay's extra step, the generator's moving average);
- ``state_dict`` / ``load_state_dict``: whatever the hook must carry through a checkpoint.

Hooks are registered in :data:`wganlab.registry.HOOKS`, in the order they run. Each is a package: its settings
(:mod:`wganlab.sections`, no torch) and the hook, whose ``from_settings`` gets only its own settings and the run's
shared facts and returns the hook when they ask for it, None otherwise; a new trick is its package plus one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import torch
from torch import nn

from wganlab.registry import HOOKS

if TYPE_CHECKING:
    from wganlab.config import RunConfig
    from wganlab.sections import Facts

T = TypeVar("T")


@dataclass(frozen=True)
class Term:
    """One named part of a loss: ``weight · value`` is added, ``value`` is logged (e.g. the penalty before λ)."""

    name: str
    value: torch.Tensor
    weight: float = 1.0


@dataclass(frozen=True)
class CriticBatch:
    """What one critic update sees. ``real`` is None for a step on fakes alone (experience replay's)."""

    real: torch.Tensor | None
    real_labels: torch.Tensor | None
    fake: torch.Tensor
    fake_labels: torch.Tensor | None
    real_target: torch.Tensor | None = None  # per-sample targets (label smoothing, flips); None: the plain 1
    fake_target: torch.Tensor | None = None  # ... and the plain 0

    @property
    def fakes_only(self) -> bool:
        return self.real is None


class StepContext(Protocol):
    """What a hook may use of the step it is part of (tests pass a small fake of it)."""

    step: int  # generator steps done before this one
    device: torch.device
    generator: nn.Module
    discriminator: nn.Module
    batch_size: int  # this process's share of the batch
    processes: int  # torchrun processes training together (1 without torchrun)
    dataset_size: int | None  # images in the training set; None for endless toy data

    def critic(self, x: torch.Tensor, labels: torch.Tensor | None = None, eager: bool = False) -> torch.Tensor: ...
    def per_seed(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """Per-sample values as ``[S, B]`` for a stack of S seeds (unchanged for one): a term is each seed's mean,
        ``context.per_seed(values).mean(-1)`` (:mod:`wganlab.stacking.axis`)."""
        ...
    def critic_features(self, x: torch.Tensor, labels: torch.Tensor | None, layer: str) -> torch.Tensor: ...
    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]: ...
    def shard(self, n: int, draw: Callable[[int], T]) -> T: ...
    def critic_step_on_fakes(self, images: torch.Tensor, labels: torch.Tensor | None) -> None: ...


class Hook:
    """A part of the step; every phase does nothing unless a subclass says otherwise."""

    name: ClassVar[str] = ""  # its registry name, which is also its key in checkpoints
    replaces_generator_objective: ClassVar[bool] = False  # its generator terms are the generator's whole loss

    @classmethod
    def from_settings(cls, settings: Any, facts: Facts, context: StepContext) -> Hook | None:
        """The hook its ``settings`` ask for, built for ``context``'s networks; None when it is switched off."""
        raise NotImplementedError

    def check(self, context: StepContext) -> None:
        """Raise :class:`~wganlab.errors.ConfigError` when this run cannot use the hook."""

    def adjust_critic_batch(self, batch: CriticBatch, context: StepContext) -> CriticBatch:
        return batch

    def critic_view(self, x: torch.Tensor, context: StepContext) -> torch.Tensor:
        """The samples as the critic's adversarial loss sees them (penalties see them untransformed)."""
        return x

    def critic_terms(self, batch: CriticBatch, context: StepContext) -> list[Term]:
        return []

    def after_critic_step(self, batch: CriticBatch, context: StepContext) -> None:
        """Called after every critic optimizer step, experience replay's extra ones included."""

    def generator_terms(self, fake: torch.Tensor, labels: torch.Tensor | None, context: StepContext) -> list[Term]:
        return []

    def after_generator_step(self, context: StepContext) -> None:
        pass

    def sampling_generator(self) -> nn.Module | None:
        """A network to draw samples from instead of the trained generator (its moving average)."""
        return None

    def state_dict(self) -> dict[str, Any] | None:
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class Hooks:
    """The run's hooks in registry order, each phase run over all of them."""

    def __init__(self, hooks: Sequence[Hook]) -> None:
        self.hooks = list(hooks)
        self.replaces_generator_objective = any(h.replaces_generator_objective for h in self.hooks)

    @classmethod
    def from_config(cls, config: RunConfig, context: StepContext) -> Hooks:
        """Every registered hook that ``config`` switches on, checked against ``context``."""
        built = [build_hook(name, config, context) for name in HOOKS.names()]
        hooks = cls([hook for hook in built if hook is not None])
        for hook in hooks.hooks:
            hook.check(context)
        return hooks

    def names(self) -> list[str]:
        return [hook.name for hook in self.hooks]

    def adjust_critic_batch(self, batch: CriticBatch, context: StepContext) -> CriticBatch:
        for hook in self.hooks:
            batch = hook.adjust_critic_batch(batch, context)
        return batch

    def critic_view(self, x: torch.Tensor, context: StepContext) -> torch.Tensor:
        for hook in self.hooks:
            x = hook.critic_view(x, context)
        return x

    def critic_terms(self, batch: CriticBatch, context: StepContext) -> list[Term]:
        return [term for hook in self.hooks for term in hook.critic_terms(batch, context)]

    def after_critic_step(self, batch: CriticBatch, context: StepContext) -> None:
        for hook in self.hooks:
            hook.after_critic_step(batch, context)

    def generator_terms(self, fake: torch.Tensor, labels: torch.Tensor | None, context: StepContext) -> list[Term]:
        return [term for hook in self.hooks for term in hook.generator_terms(fake, labels, context)]

    def after_generator_step(self, context: StepContext) -> None:
        for hook in self.hooks:
            hook.after_generator_step(context)

    def sampling_generator(self) -> nn.Module | None:
        return next((net for hook in self.hooks if (net := hook.sampling_generator()) is not None), None)

    def state_dict(self) -> dict[str, Any]:
        return {hook.name: state for hook in self.hooks if (state := hook.state_dict()) is not None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for hook in self.hooks:
            if state.get(hook.name) is not None:
                hook.load_state_dict(state[hook.name])


def build_hook(name: str, config: RunConfig, context: StepContext) -> Hook | None:
    """The registered hook ``name`` as ``config`` sets it up: given its own settings and the shared facts only."""
    section = HOOKS.settings(name)
    settings = None if section is None else config.settings_of(section)
    return HOOKS.load(name).from_settings(settings, config.facts, context)


def total_loss(first: torch.Tensor | None, terms: Sequence[Term]) -> torch.Tensor:
    """``first + Σ weight · value`` in this order (the order fixes the float rounding, so runs stay bit-exact)."""
    loss = first
    for term in terms:
        part = term.value if term.weight == 1.0 else term.weight * term.value
        loss = part if loss is None else loss + part
    if loss is None:
        raise ValueError("a step needs the objective's loss or at least one term")
    return loss
