"""The data section of a config and its rules: which datasets exist, of which kind, and which subsets of them a run
may train on. Read without torch, when a config is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.errors import ConfigError
from wganlab.sections import option

TOY_DATASETS = ("8gaussians", "25gaussians", "swissroll", "scurve", "scurve-xt", "moons")
IMAGE_DATASETS = ("mnist", "fashion-mnist", "idx", "cifar10", "cifar100", "celeba", "lsun", "folder", "stacked-mnist")
TABLE_DATASETS = ("table",)  # feature vectors: data=table:FILE.csv|FILE.npz|sklearn:NAME (wganlab.data.table)
VECTOR_DATASETS = TOY_DATASETS + TABLE_DATASETS  # trained with MLPs, evaluated by the exact W1
NEEDS_ROOT = {"idx": "data=idx:PATH", "folder": "data=folder:PATH", "lsun": "data=lsun:PATH",
              "table": "data=table:FILE.csv (label column: data.label=NAME), data=table:FILE.npz (arrays x, y) or "
                       "data=table:sklearn:wine"}


@dataclass
class DataConfig:
    """Where training samples come from. ``data: idx:PATH`` is shorthand for ``{name: idx, root: PATH}``."""

    name: str = option("mnist", choices=TOY_DATASETS + TABLE_DATASETS + IMAGE_DATASETS)
    root: str | None = None
    split: str = option("train", choices=("train", "test"))
    pixel_range: str = option("symmetric", choices=("symmetric", "unit"),
                              why="symmetric scales pixels to [-1, 1] (tanh output), unit to [0, 1] (sigmoid)")
    image_size: int | None = option(None, choices=(28, 32, 64, 128),
                                    why="resize decoded images to this square size; null keeps the dataset's own")
    crop: str = option("auto", why="before resizing: auto (the dataset's convention), square (largest centred "
                       "square), none (squash the whole image), or a centred square of N pixels")
    grayscale: bool = False
    hflip: bool = False
    limit: int = option(0, low=0, why="train on this many images or table rows only (the same ones for every seed: "
                        "a fixed permutation); 0 uses them all")
    per_class: int = option(0, low=0, why="train on this many images (or table rows) of each class, chosen by a "
                            "fixed permutation; the rest are held out (wganlab augment tests on them); 0: off")
    subset_seed: int = option(0, low=0, why="which fixed permutation chooses the data.limit / data.per_class rows "
                              "(and so the held-out ones): another value draws another subset, e.g. to repeat a "
                              "study over several draws of a small labelled set")
    label: str | None = option(None, why="the CSV column that holds each row's class (data=table:FILE.csv); null: "
                               "the rows have no classes")

    @property
    def kind(self) -> str:
        """points (2D toys), table (feature vectors) or images."""
        return "points" if self.name in TOY_DATASETS else "table" if self.name in TABLE_DATASETS else "images"


def check_data(data: DataConfig) -> None:
    """The rules that tie the data section's keys to each other."""
    if data.name in NEEDS_ROOT and not data.root:
        raise ConfigError(f"data={data.name} needs {'its file' if data.name == 'table' else 'a path'}: write "
                          f"{NEEDS_ROOT[data.name]}")
    crop = data.crop
    if crop not in ("auto", "square", "none") and not (crop.isdigit() and int(crop) > 0):
        raise ConfigError(f"'data.crop' must be auto, square, none or a positive number of pixels, got {crop!r}")
    if data.label is not None and data.name not in TABLE_DATASETS:
        raise ConfigError(f"data.label names a CSV table's class column; data={data.name} is not a table")
    _check_subset(data)


def _check_subset(data: DataConfig) -> None:
    if data.limit and data.per_class:
        raise ConfigError("data.limit and data.per_class both choose the training rows; give one of them")
    subset = data.limit or data.per_class or data.subset_seed
    if data.name in TOY_DATASETS and subset:
        raise ConfigError("data.limit, data.per_class and data.subset_seed are for image datasets and tables; "
                          f"data={data.name} is a 2D toy with endless samples")
    if data.name == "stacked-mnist" and subset:
        raise ConfigError("data.limit, data.per_class and data.subset_seed choose training rows; data=stacked-mnist "
                          "draws its triples from every digit: drop them")
    if data.subset_seed and not (data.limit or data.per_class):
        raise ConfigError(f"data.subset_seed={data.subset_seed} draws which rows data.limit or data.per_class "
                          "keeps, but neither is set; give one (e.g. data.per_class=10) or drop data.subset_seed")
