"""One training step: ``n_critic`` critic updates, then one generator update, composed from the config's parts.

Each update reads the same way: draw a batch, let the hooks adjust it, the objective's loss plus the hooks'
named terms, one optimizer step, the hooks' after-step actions (:mod:`wganlab.training.hooks`). Nothing here asks which
model, trick or constraint it runs. Losses stay on the device; the caller reads them once per ``log_every``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from wganlab.config import RunConfig
from wganlab.lipschitz.penalty.hook import has_batch_coupling
from wganlab.objectives import make_objective
from wganlab.registry import OBJECTIVES
from wganlab.stacking.axis import SeedAxis
from wganlab.training.distributed import Distributed
from wganlab.training.execution import NetworkRunner
from wganlab.training.hooks import CriticBatch, Hooks, Term, total_loss
from wganlab.training.optim import make_lr_schedule, make_optimizer
from wganlab.training.schedule import CriticSchedule

T = TypeVar("T")


class TrainingStep:
    """The networks, the objective, the hooks and both optimizers of a run; calling it trains one step."""

    def __init__(self, config: RunConfig, generator: nn.Module, discriminator: nn.Module, latent_dim: int,
                 num_classes: int, data: Any, device: torch.device, group: Distributed,
                 seeds: SeedAxis | None = None) -> None:
        """``data`` is the (sharded) training source, ``group`` the torchrun process group; ``seeds`` the seeds
        stacked in the networks (:mod:`wganlab.stacking`; one by default), whose losses are each seed's own."""
        self.generator, self.discriminator = generator, discriminator
        self.seeds = seeds or SeedAxis()
        self.per_seed = self.seeds.per_seed
        self.latent_dim, self.num_classes = latent_dim, num_classes  # num_classes > 0: a conditional model
        self.data, self.device, self.group = data, device, group
        self.processes = group.world
        images = getattr(data, "images", None)
        self.dataset_size = None if images is None else len(images)
        self.batch_size = group.local_batch(config.resolved_batch_size) * self.seeds.seeds  # this process's rows
        runner = functools.partial(NetworkRunner, device=device, precision=config.precision,
                                   channels_last=config.channels_last, compile_mode=config.compile)
        self.run_generator, self.run_critic = runner(generator), runner(discriminator)
        self.objective = make_objective(config.objective)
        self.relativistic = OBJECTIVES.can(config.objective, "relativistic")
        self.schedule = CriticSchedule(config.critic_steps, config.critic_burst, config.critic_burst_steps)
        # One critic pass over cat(real, fake) is exact only when samples do not interact (no batch norm).
        self.joint_critic_pass = not has_batch_coupling(discriminator)
        self.step = 0  # generator steps done
        self.critic_updates = 0
        self.hooks = Hooks.from_config(config, self)  # weight clipping clamps the fresh critic here
        self.g_params, self.d_params = list(generator.parameters()), list(discriminator.parameters())
        self.g_optimizer = make_optimizer(self.g_params, config.g_optimizer)
        self.d_optimizer = make_optimizer(self.d_params, config.d_optimizer)
        self.lr_scale = 1.0  # lowered by divergence rollbacks
        schedule = functools.partial(make_lr_schedule, kind=config.lr_schedule, total_steps=config.steps,
                                     scale=lambda: self.lr_scale, decay_from=config.lr_decay_from)
        self.g_lr, self.d_lr = schedule(self.g_optimizer), schedule(self.d_optimizer)

    def __call__(self) -> dict[str, torch.Tensor]:
        """Train one step; returns its losses and terms (those of the last critic update), on the device."""
        critic: dict[str, torch.Tensor] = {}
        for _ in range(self.schedule.steps_before(self.step)):
            critic = self.critic_update(*self.real_batch())
        generator = self.generator_update()
        self.g_lr.step()
        self.d_lr.step()
        self.step += 1
        first = {"d_loss": critic.pop("d_loss"), "g_loss": generator.pop("g_loss")}
        return {**first, **critic, **generator}

    def critic_update(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One critic step on ``real`` against fresh fakes drawn for the same labels (so a conditional penalty's
        interpolates share them); returns the loss, the Wasserstein estimate and the hooks' terms."""
        with torch.no_grad():
            fake = self.generate(real.shape[0], labels)
        batch = self.hooks.adjust_critic_batch(CriticBatch(real, labels, fake, labels), self)
        real_out, fake_out = (self.per_seed(out) for out in self._scores(batch))
        adversarial = self.objective.critic_loss(real_out, fake_out, self.per_seed(batch.real_target),
                                                 self.per_seed(batch.fake_target))
        loss, terms = self._critic_step(batch, adversarial)
        estimate = real_out.detach().mean(-1) - fake_out.detach().mean(-1)
        return {"d_loss": loss, "wasserstein_estimate": estimate, **terms}

    def critic_step_on_fakes(self, images: torch.Tensor, labels: torch.Tensor | None) -> None:
        """An extra critic step on ``images`` as fakes alone (experience replay), with every hook applied."""
        batch = self.hooks.adjust_critic_batch(CriticBatch(None, None, images, labels), self)
        fake_out = self.critic(self.hooks.critic_view(batch.fake, self), batch.fake_labels).flatten()
        self._critic_step(batch, self.objective.fake_loss(self.per_seed(fake_out), self.per_seed(batch.fake_target)))

    def _scores(self, batch: CriticBatch) -> tuple[torch.Tensor, torch.Tensor]:
        real, fake = self.hooks.critic_view(batch.real, self), self.hooks.critic_view(batch.fake, self)
        if not self.joint_critic_pass:
            return self.critic(real, batch.real_labels).flatten(), self.critic(fake, batch.fake_labels).flatten()
        labels = None if batch.real_labels is None else self.seeds.cat(batch.real_labels, batch.fake_labels)
        out = self.critic(self.seeds.cat(real, fake), labels).flatten()
        return self.seeds.split(out, len(real))

    def _critic_step(self, batch: CriticBatch, adversarial: torch.Tensor
                     ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        terms = self.hooks.critic_terms(batch, self)
        loss = total_loss(adversarial, terms)
        self._optimizer_step(loss, self.d_optimizer, self.d_params)
        self.critic_updates += 1
        self.hooks.after_critic_step(batch, self)
        return loss.detach(), _detached(terms)

    def generator_update(self) -> dict[str, torch.Tensor]:
        """One generator step against the current critic, whose parameters are frozen meanwhile."""
        labels = self.random_labels(self.batch_size)
        fake = self.generate(self.batch_size, labels)
        self.discriminator.requires_grad_(False)
        adversarial = None if self.hooks.replaces_generator_objective else self._generator_objective(fake, labels)
        terms = self.hooks.generator_terms(fake, labels, self)
        loss = total_loss(adversarial, terms)
        self._optimizer_step(loss, self.g_optimizer, self.g_params)
        self.discriminator.requires_grad_(True)
        self.hooks.after_generator_step(self)
        return {"g_loss": loss.detach(), **_detached(terms)}

    def _generator_objective(self, fake: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The objective's generator loss; a relativistic one compares with the scores of a fresh real batch."""
        fake_out = self.per_seed(self.critic(self.hooks.critic_view(fake, self), labels).flatten())
        if not self.relativistic:
            return self.objective.generator_loss(fake_out)
        real, real_labels = self.real_batch()
        real_out = self.per_seed(self.critic(self.hooks.critic_view(real, self), real_labels).flatten())
        return self.objective.generator_loss(fake_out, real_out)

    def _optimizer_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                        params: list[nn.Parameter]) -> None:
        """Backward, gradients averaged over the torchrun processes, one update: the same for both networks.
        A stack's loss is one per seed; their sum gives each seed's parameters its own loss's gradient."""
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.group.average_gradients(params)
        optimizer.step()

    # ------------------------------------------------------------------------- what hooks may call (StepContext)

    def critic(self, x: torch.Tensor, labels: torch.Tensor | None = None, eager: bool = False) -> torch.Tensor:
        """The critic's scores in (at least) float32 (``eager``: uncompiled, for the penalty's double backward)."""
        return self.run_critic(x, labels, eager=eager)

    def critic_features(self, x: torch.Tensor, labels: torch.Tensor | None, layer: str) -> torch.Tensor:
        return self.run_critic.call(self.discriminator.features, x, labels, layer)

    def generate(self, n: int, labels: torch.Tensor | None = None, generator: nn.Module | None = None,
                 z: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` fakes (for ``labels``) from fresh latents, or from ``z``; ``generator`` replaces the trained one."""
        network = self.run_generator if generator is None else generator
        if z is None:
            z = self.shard(n, lambda m: torch.randn(m, self.latent_dim, device=self.device))
        return network(z, labels)

    def random_labels(self, n: int) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return self.shard(n, lambda m: torch.randint(self.num_classes, (m,), device=self.device))

    def real_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """A fresh real batch, with its labels when the model is conditional."""
        if self.num_classes:
            return self.data.sample_with_labels(self.batch_size)
        return self.data.sample(self.batch_size), None

    def shard(self, n: int, draw: Callable[[int], T]) -> T:
        """``draw`` for the global batch, this process's rows (see :meth:`Distributed.shard`)."""
        return self.group.shard(n, draw)

    def sampling_generator(self) -> nn.Module:
        """The network samples come from: the moving average when a hook keeps one, else the generator."""
        return self.hooks.sampling_generator() or self.generator

    # ------------------------------------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "critic_updates": self.critic_updates,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "g_optimizer": self.g_optimizer.state_dict(),
            "d_optimizer": self.d_optimizer.state_dict(),
            "g_lr": self.g_lr.state_dict(),
            "d_lr": self.d_lr.state_dict(),
            "lr_scale": self.lr_scale,
            "hooks": self.hooks.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.critic_updates = int(state["critic_updates"])
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.g_lr.load_state_dict(state["g_lr"])
        self.d_lr.load_state_dict(state["d_lr"])
        self.lr_scale = float(state["lr_scale"])
        self.hooks.load_state_dict(state["hooks"])

    def scale_learning_rates(self, factor: float) -> None:
        """Multiply both learning rates by ``factor`` from now on (a divergence rollback's remedy)."""
        self.lr_scale *= factor
        for schedule in (self.g_lr, self.d_lr):
            for group, base in zip(schedule.optimizer.param_groups, schedule.base_lrs, strict=True):
                group["lr"] = base * schedule.lr_lambdas[0](schedule.last_epoch)


def _detached(terms: list[Term]) -> dict[str, torch.Tensor]:
    return {term.name: term.value.detach() for term in terms}
