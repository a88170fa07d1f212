"""Data sources: one ``make_source`` call turns a :class:`~wganlab.config.DataConfig` into batches.

Every source has ``shape`` (of one sample), ``num_classes``, ``is_vectors`` (2D toys and tables, not images),
``sample(batch_size)`` returning a float tensor on the training device, and ``state_dict``/``load_state_dict`` for
exact resume.
"""

from __future__ import annotations

import os
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from wganlab.config import TABLE_DATASETS, TOY_DATASETS, DataConfig
from wganlab.data.cifar import load_cifar
from wganlab.data.decode import Transform, decode_all
from wganlab.data.folder import celeba_items, folder_items, lsun_items, native_transform_note, probe_shape
from wganlab.data.idx import load_idx_dataset
from wganlab.data.images import InMemoryImages
from wganlab.data.stacked import StackedDigits
from wganlab.data.subsets import held_out_rows as held_out_rows  # re-exported: callers import it from here
from wganlab.data.subsets import training_rows
from wganlab.data.table import TableSource
from wganlab.data.toy import ToySource
from wganlab.errors import ConfigError, DataError

DOWNLOADABLE = ("mnist", "fashion-mnist", "cifar10", "cifar100")


class DataSource(Protocol):
    shape: tuple[int, ...]
    num_classes: int | None
    is_vectors: bool

    def sample(self, batch_size: int) -> torch.Tensor: ...
    def state_dict(self) -> dict: ...
    def load_state_dict(self, state: dict) -> None: ...


NATIVE_SIZE = {"cifar10": 32, "cifar100": 32, "celeba": 64, "lsun": 64}  # a folder keeps its images' own
DEFAULT_CROP = {"celeba": "108", "lsun": "square", "folder": "square"}  # CelebA: the common 108-px face crop


def make_source(config: DataConfig, device: torch.device, seed: int = 0) -> DataSource:
    """Build the source named by ``config.name``; raises :class:`DataError` for missing or broken files."""
    if config.name in TOY_DATASETS:
        return ToySource(config.name, device)
    if config.name in TABLE_DATASETS:
        return TableSource(str(config.root), config.label, config.split, config.limit, device, config.per_class,
                           config.subset_seed)
    if config.name == "stacked-mnist":
        digits, labels = embedded_mnist() if not config.root else load_idx_dataset(Path(config.root), config.split)
        return StackedDigits(torch.from_numpy(digits[:, None]), torch.from_numpy(labels.astype(np.int64)), device,
                             pixel_range=config.pixel_range)
    images, labels = limited(*load_images(config), config.limit, config.per_class, config.subset_seed)
    return InMemoryImages(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), device,
                          pixel_range=config.pixel_range, seed=seed, hflip=config.hflip)


def every_row(config: DataConfig) -> DataConfig:
    """``config`` without the settings that choose training rows (``limit``, ``per_class``): what a run is judged
    against is the whole dataset, not the few rows it saw."""
    return replace(config, limit=0, per_class=0, subset_seed=0)


def limited(images: np.ndarray, labels: np.ndarray, limit: int, per_class: int = 0,
            subset_seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The images (and labels) of :func:`training_rows`."""
    keep = training_rows(labels, limit, per_class, subset_seed)
    return images[keep], labels[keep]


def has_test_split(config: DataConfig) -> bool:
    """Whether ``data.split=test`` selects other images than ``train``: IDX (MNIST from a folder, Fashion-MNIST),
    CIFAR and CelebA have one; the embedded digits, image folders and LSUN do not (their split is ignored)."""
    if config.name == "mnist" and not config.root:
        return False
    return config.name in ("mnist", "fashion-mnist", "idx", "cifar10", "cifar100", "celeba")


def load_images(config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images N x C x H x W and integer labels for an image dataset config."""
    name = config.name
    if name in ("celeba", "lsun", "folder"):
        return _decoded(config)
    if name == "mnist" and not config.root:
        images, labels = embedded_mnist()
        images = images[:, None]
    elif name in ("cifar10", "cifar100"):
        images, labels = load_cifar(name, dataset_root(config), config.split)
    else:
        images, labels = load_idx_dataset(dataset_root(config), config.split)
        images = images[:, None]
    return _resize_array(images, config), labels


def _decoded(config: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """A folder of images keeps its own shape unless ``data.image_size`` / ``data.grayscale`` say otherwise: the
    most common size of its images, one channel when all are greyscale (:func:`probe_shape`). CelebA and LSUN
    are resized to their usual 64 px."""
    root = dataset_root(config)
    crop = DEFAULT_CROP[config.name] if config.crop == "auto" else config.crop
    if config.name == "celeba":
        items = celeba_items(root, config.split)
    elif config.name == "lsun":
        items = lsun_items(root)
    else:
        items = folder_items(root)[0]
    size, grayscale = config.image_size or NATIVE_SIZE.get(config.name), config.grayscale
    if config.name == "folder" and (config.image_size is None or not config.grayscale):
        shape = probe_shape(items)
        if config.image_size is None:
            size = shape.side
            native_transform_note(shape, root)
        grayscale = grayscale or shape.grayscale
    return decode_all(items, Transform(size, crop, grayscale), str(root.resolve()))


def _resize_array(images: np.ndarray, config: DataConfig) -> np.ndarray:
    """Array datasets (IDX, CIFAR) at another ``image_size`` or in grayscale: antialiased bicubic, once."""
    size = config.image_size
    if config.grayscale and images.shape[1] == 3:
        luminance = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (torch.from_numpy(images).float() * luminance).sum(1, keepdim=True).round().byte().numpy()
    if size is None or size == images.shape[-1]:
        return images
    if config.crop not in ("auto", "square", "none"):
        raise ConfigError("data.crop in pixels applies to decoded image folders; array datasets are only resized")
    resized = F.interpolate(torch.from_numpy(images).float(), size=(size, size), mode="bicubic", antialias=True)
    return resized.round().clamp(0, 255).byte().numpy()


def embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST training digits shipped inside the package (the default image dataset).

    There is no test split shipped; evaluation code holds out part of these instead.
    """
    with resources.files("wganlab.data").joinpath("mnist10k.npz").open("rb") as handle, np.load(handle) as npz:
        return npz["images"].copy(), npz["labels"].copy()


def data_home() -> Path:
    """Where downloads go and datasets are looked for: ``$WGANLAB_DATA`` or ``~/.cache/wganlab/data``."""
    return Path(os.environ.get("WGANLAB_DATA", Path.home() / ".cache" / "wganlab" / "data"))


def dataset_root(config: DataConfig) -> Path:
    """Where the files of ``config`` live: ``data=NAME:ROOT``, else ``$WGANLAB_DATA/NAME``."""
    if config.root:
        return Path(config.root).expanduser()
    root = data_home() / config.name
    if not root.is_dir():
        hint = f"run 'wganlab data download {config.name}', " if config.name in DOWNLOADABLE else ""
        raise DataError(f"{config.name} not found in '{root}'; {hint}pass data={config.name}:DIR, "
                        "or set WGANLAB_DATA to the folder that holds it")
    return root


__all__ = ["DataSource", "embedded_mnist", "load_images", "make_source"]
