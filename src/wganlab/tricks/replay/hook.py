"""Experience replay of past fakes (the practical guide, §4.2).

:class:`ReplayBuffer` is the guide's version: keep one random fake of every discriminator batch; when ``every``
are kept, take one extra discriminator step on them as fakes and start over. The guide advises deriving ``every``
from the dataset and batch sizes (its notebooks: 195 kept fakes at batch 128, about two replay steps per CIFAR-10
epoch); the default is one replay step per epoch, dataset size / batch size. :class:`ImagePool` is the image-pool
variant (Shrivastava et al. 2017): each fake of a discriminator batch is, with probability ``share``, swapped for a
stored past fake, which takes its place in the pool.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import torch

from wganlab.errors import ConfigError
from wganlab.training.hooks import CriticBatch, Hook, StepContext

if TYPE_CHECKING:
    from wganlab.sections import Facts
    from wganlab.tricks.replay.settings import ReplaySettings


def default_replay_every(dataset_size: int | None, batch_size: int) -> int:
    """One kept fake per batch of an epoch: dataset size / batch size (200 for endless 2D toys)."""
    if not dataset_size:
        return 200
    return max(1, dataset_size // batch_size)


class ReplayBuffer:
    def __init__(self, every: int) -> None:
        self.every = every
        self.images: list[torch.Tensor] = []
        self.labels: list[torch.Tensor] = []

    def keep_one(self, fakes: torch.Tensor, labels: torch.Tensor | None = None) -> bool:
        """Store one random fake of the batch (detached); True when the buffer is full and a replay step is due."""
        index = int(torch.randint(len(fakes), (1,)))
        self.images.append(fakes[index].detach().clone())
        if labels is not None:
            self.labels.append(labels[index].clone())
        return len(self.images) >= self.every

    def drain(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        images = torch.stack(self.images)
        labels = torch.stack(self.labels) if self.labels else None
        self.images, self.labels = [], []
        return images, labels

    def state_dict(self) -> dict:
        return {"images": list(self.images), "labels": list(self.labels)}

    def load_state_dict(self, state: dict) -> None:
        self.images, self.labels = list(state["images"]), list(state["labels"])


class ImagePool:
    def __init__(self, size: int, share: float) -> None:
        self.size, self.share = size, share
        self.images: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None

    @torch.no_grad()
    def query(self, fakes: torch.Tensor,
              labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch the discriminator sees: fakes, some swapped for stored ones (with their labels)."""
        fakes = fakes.detach()
        out, out_labels = fakes.clone(), None if labels is None else labels.clone()
        for i in range(len(fakes)):
            stored = 0 if self.images is None else len(self.images)
            if stored < self.size:
                self.images = _append(self.images, fakes[i : i + 1])
                if labels is not None:
                    self.labels = _append(self.labels, labels[i : i + 1])
            elif float(torch.rand(())) < self.share:
                slot = int(torch.randint(self.size, (1,)))
                out[i] = self.images[slot]
                self.images[slot] = fakes[i]
                if labels is not None:
                    out_labels[i] = self.labels[slot]
                    self.labels[slot] = labels[i]
        return out, out_labels

    def state_dict(self) -> dict:
        return {"images": self.images, "labels": self.labels}

    def load_state_dict(self, state: dict) -> None:
        self.images, self.labels = state["images"], state["labels"]


class ExperienceReplay(Hook):
    """The guide's replay: after each critic step one fake is kept; every ``every`` kept fakes, one extra critic
    step on them (as fakes) runs through the step's own critic update, so clipping and penalties apply to it."""

    name = "experience-replay"

    def __init__(self, every: int) -> None:
        self.buffer = ReplayBuffer(every)
        self.steps = 0  # extra critic steps taken so far

    @classmethod
    def from_settings(cls, settings: ReplaySettings, facts: Facts, context: StepContext) -> ExperienceReplay | None:
        replay = settings.replay
        if replay.mode != "step":
            return None
        return cls(replay.every or default_replay_every(context.dataset_size, facts.batch_size))

    def check(self, context: StepContext) -> None:
        _single_process(context)

    def after_critic_step(self, batch: CriticBatch, context: StepContext) -> None:
        if batch.fakes_only:  # its own extra step
            return
        if self.buffer.keep_one(batch.fake, batch.fake_labels):
            context.critic_step_on_fakes(*self.buffer.drain())
            self.steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {**self.buffer.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.buffer.load_state_dict(state)
        self.steps = int(state.get("steps", 0))


class ImagePoolHook(Hook):
    """Shrivastava et al.'s image pool: the critic's fakes are partly past fakes (with their labels)."""

    name = "image-pool"

    def __init__(self, size: int, share: float) -> None:
        self.pool = ImagePool(size, share)

    @classmethod
    def from_settings(cls, settings: ReplaySettings, facts: Facts, context: StepContext) -> ImagePoolHook | None:
        replay = settings.replay
        return cls(replay.pool_size, replay.pool_share) if replay.mode == "pool" else None

    def check(self, context: StepContext) -> None:
        _single_process(context)

    def adjust_critic_batch(self, batch: CriticBatch, context: StepContext) -> CriticBatch:
        if batch.fakes_only:
            return batch
        fake, labels = self.pool.query(batch.fake, batch.fake_labels)
        return replace(batch, fake=fake, fake_labels=labels)

    def state_dict(self) -> dict[str, Any]:
        return self.pool.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool.load_state_dict(state)


def _single_process(context: StepContext) -> None:
    if context.processes > 1:
        raise ConfigError("tricks.replay keeps one process's past fakes, so it cannot be split over torchrun "
                          "processes; train it in a single process")


def _append(stored: torch.Tensor | None, item: torch.Tensor) -> torch.Tensor:
    return item.clone() if stored is None else torch.cat([stored, item])
