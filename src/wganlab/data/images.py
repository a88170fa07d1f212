"""Small image datasets held in memory as one uint8 tensor on the training device.

A whole MNIST-sized dataset is 47 MB as uint8: keeping it on the device and drawing batches by index removes
the per-step Python loader overhead that weighs on tutorial loops with small networks (docs/performance.md).
"""

from __future__ import annotations

import torch


class InMemoryImages:
    """A :class:`~wganlab.data.sources.DataSource` over ``images`` (uint8 N x C x H x W) with epoch-wise shuffling.

    Batches walk a random permutation and draw a new one when it runs out, so every image is seen once per
    epoch. The permutation has its own generator, saved in checkpoints, so a resumed run sees the same order.
    """

    is_vectors = False

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, device: torch.device,
                 pixel_range: str = "symmetric", seed: int = 0, hflip: bool = False) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError("images must be uint8 N x C x H x W")
        self.images = images.to(device) if _fits(images, device) else images.pin_memory()
        self.hflip = hflip
        self.labels = None if labels is None else labels.long().to(device)
        self.device = device
        self.shape = tuple(images.shape[1:])
        self.num_classes = None if labels is None else int(self.labels.max().item()) + 1
        self.pixel_range = pixel_range
        self._order_rng = torch.Generator().manual_seed(seed)
        self._set_order(torch.randperm(len(self.images), generator=self._order_rng))
        self._position = 0

    def _set_order(self, order: torch.Tensor) -> None:
        """The epoch's permutation, drawn on the CPU (its generator is what checkpoints keep) and copied to the
        images' device once per epoch: a copy per batch would make every step wait for the GPU."""
        self._order = order
        self._order_on_images = order.to(self.images.device)

    def __len__(self) -> int:
        return len(self.images)

    def _next_indices(self, batch_size: int) -> torch.Tensor:
        if batch_size > len(self.images):
            raise ValueError(f"batch of {batch_size} is larger than the dataset ({len(self.images)} images)")
        if self._position + batch_size > len(self._order):
            self._set_order(torch.randperm(len(self.images), generator=self._order_rng))
            self._position = 0
        index = self._order_on_images[self._position : self._position + batch_size]
        self._position += batch_size
        return index

    def sample(self, batch_size: int) -> torch.Tensor:
        return self._batch(self._next_indices(batch_size))

    def sample_with_labels(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch and its class labels (for conditional models), from the same epoch-wise order."""
        if self.labels is None:
            raise ValueError("this dataset has no labels")
        index = self._next_indices(batch_size)
        return self._batch(index), self.labels[index.to(self.labels.device)]

    def _batch(self, index: torch.Tensor) -> torch.Tensor:
        batch_size = len(index)
        batch = self.images[index.to(self.images.device)].to(self.device, non_blocking=True)
        batch = to_float(batch, self.pixel_range)
        if self.hflip:  # random horizontal flip per image, drawn from the (checkpointed) global RNG
            flip = torch.rand(batch_size, 1, 1, 1, device=self.device) < 0.5
            batch = torch.where(flip, batch.flip(-1), batch)
        return batch

    def state_dict(self) -> dict:
        return {"order": self._order.clone(), "position": self._position, "rng": self._order_rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self._set_order(state["order"].clone())
        self._position = int(state["position"])
        self._order_rng.set_state(state["rng"])


def _fits(images: torch.Tensor, device: torch.device) -> bool:
    """Whole datasets go to the GPU when they take under half of its free memory; otherwise batches are copied."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return images.numel() < free // 2


def to_float(images: torch.Tensor, pixel_range: str) -> torch.Tensor:
    """uint8 -> float32 in [-1, 1] (``symmetric``) or [0, 1] (``unit``)."""
    x = images.float()
    return x / 127.5 - 1.0 if pixel_range == "symmetric" else x / 255.0


def to_symmetric(images: torch.Tensor, pixel_range: str) -> torch.Tensor:
    """Float images in a run's ``pixel_range`` -> [-1, 1], the range every metric's feature network expects."""
    return images * 2 - 1 if pixel_range == "unit" else images


def to_uint8(images: torch.Tensor, pixel_range: str) -> torch.Tensor:
    """The inverse of :func:`to_float`, rounding and clamping into 0..255."""
    x = (images.float() + 1.0) * 127.5 if pixel_range == "symmetric" else images.float() * 255.0
    return x.round().clamp(0, 255).to(torch.uint8)
