"""Data sources: one ``make_source`` call turns a :class:`~wganlab.config.DataConfig` into batches.

Every source has ``shape`` (of one sample), ``num_classes``, ``is_toy``, ``sample(batch_size)`` returning a
float tensor on the training device, and ``state_dict``/``load_state_dict`` for exact resume.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from wganlab.config import TOY_DATASETS, DataConfig
from wganlab.data.idx import load_idx_dataset
from wganlab.data.images import InMemoryImages
from wganlab.data.toy import ToySource
from wganlab.errors import DataError


class DataSource(Protocol):
    shape: tuple[int, ...]
    num_classes: int | None
    is_toy: bool

    def sample(self, batch_size: int) -> torch.Tensor: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


def make_source(config: DataConfig, device: torch.device, seed: int = 0) -> DataSource:
    """Build the source named by ``config.name``; raises :class:`DataError` for missing or broken files."""
    if config.name in TOY_DATASETS:
        return ToySource(config.name, device)
    images, labels = load_images(config)
    return InMemoryImages(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), device,
                          pixel_range=config.pixel_range, seed=seed)


def load_images(config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images N x C x H x W and integer labels for an image dataset config."""
    if config.name == "mnist" and not config.root:
        images, labels = embedded_mnist()
    else:
        images, labels = load_idx_dataset(dataset_root(config), config.split)
    return images[:, None, :, :], labels


def embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST training digits shipped inside the package (the default image dataset).

    There is no test split shipped; evaluation code holds out part of these instead.
    """
    with resources.files("wganlab.data").joinpath("mnist10k.npz").open("rb") as handle, np.load(handle) as npz:
        return npz["images"].copy(), npz["labels"].copy()


def dataset_root(config: DataConfig) -> Path:
    """Where the IDX files of ``config`` live: ``data=NAME:ROOT``, else ``$WGANLAB_DATA/NAME``."""
    if config.root:
        return Path(config.root).expanduser()
    base = Path(os.environ.get("WGANLAB_DATA", Path.home() / ".cache" / "wganlab" / "data"))
    root = base / config.name
    if not root.is_dir():
        raise DataError(f"{config.name} not found in '{root}'; pass data={config.name}:DIR with its four IDX files "
                        "or set WGANLAB_DATA to the folder that holds it")
    return root


__all__ = ["DataSource", "embedded_mnist", "load_images", "make_source"]
