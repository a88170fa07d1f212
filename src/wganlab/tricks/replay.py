"""Experience replay of past fakes (seed 001 §4.2).

:class:`ReplayBuffer` is the guide's version: keep one random fake of every discriminator batch; when ``every``
are kept, take one extra discriminator step on them as fakes and start over. The guide advises deriving ``every``
from the dataset and batch sizes (its notebook: 195 = 50,000 / 256, one replay step per epoch), which is the
default. :class:`ImagePool` is the image-pool variant (Shrivastava et al. 2017): each fake of a discriminator
batch is, with probability ``share``, swapped for a stored past fake, which takes its place in the pool.
"""

from __future__ import annotations

import torch


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


def _append(stored: torch.Tensor | None, item: torch.Tensor) -> torch.Tensor:
    return item.clone() if stored is None else torch.cat([stored, item])
