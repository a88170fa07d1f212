"""Decode, crop and resize encoded images once, into a uint8 array cached on disk.

Folders of JPEGs (CelebA, LSUN, anime faces, anyone's images) are slow to decode every epoch; here each image is
decoded once by a thread pool (Pillow releases the GIL while decoding and resizing), written into a memory-mapped
``.npy`` in the cache directory, and later runs open that file directly. The cache key covers the source (paths,
sizes and modification times of every file) and the transform, so changing either rebuilds it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from wganlab.errors import DataError
from wganlab.fileio import atomic_output

MAX_BAD_SHARE = 0.01
Image.MAX_IMAGE_PIXELS = 1 << 28  # refuse decompression bombs beyond 268 MP instead of warning


@dataclass(frozen=True)
class Transform:
    """Crop then resize to ``size`` x ``size``; ``crop`` is square, none, or a centred square of N pixels."""

    size: int
    crop: str = "square"
    grayscale: bool = False

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3

    def key(self) -> str:
        return f"{self.size}-{self.crop}-{'L' if self.grayscale else 'RGB'}"

    def apply(self, image: Image.Image) -> np.ndarray:
        image = image.convert("L" if self.grayscale else "RGB")  # palette, RGBA, CMYK, 16-bit: all converted
        box = crop_box(image.width, image.height, self.crop)
        if box is not None:
            image = image.crop(box)
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.Resampling.BICUBIC, reducing_gap=None)
        array = np.asarray(image, dtype=np.uint8)
        return array[None] if self.grayscale else array.transpose(2, 0, 1)


def crop_box(width: int, height: int, crop: str) -> tuple[int, int, int, int] | None:
    """The (left, top, right, bottom) of a centred square crop; None for ``none`` (the whole image is squashed)."""
    if crop == "none":
        return None
    side = min(width, height) if crop == "square" else int(crop)
    if side > min(width, height):
        raise DataError(f"crop of {side} px does not fit in a {width}x{height} image; use a smaller data.crop")
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


@dataclass(frozen=True)
class EncodedItem:
    """One image to decode: a name for messages and a way to get its bytes."""

    name: str
    read: Callable[[], bytes]
    label: int = 0
    stamp: str = ""  # size and mtime, for the cache key


def decode_all(items: Sequence[EncodedItem], transform: Transform, source: str, threads: int | None = None,
               cache_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images N x C x S x S and int64 labels, from the cache when it holds this exact source and transform.

    Undecodable images are skipped and reported in one warning line; more than 1 % of them is an error.
    """
    if not items:
        raise DataError(f"no images found in '{source}'; it must hold .jpg, .png, .webp, .bmp or .gif files")
    cache = cache_dir or default_cache_dir()
    digest = hashlib.sha256(json.dumps([source, transform.key(), [(i.name, i.stamp, i.label) for i in items]])
                            .encode()).hexdigest()[:24]
    images_path, labels_path = cache / f"{digest}.images.npy", cache / f"{digest}.labels.npy"
    if images_path.is_file() and labels_path.is_file():
        return np.load(images_path, mmap_mode="c"), np.load(labels_path)  # copy-on-write: torch needs writable
    decoded, bad = _decode(items, transform, threads)
    if bad:
        share = len(bad) / len(items)
        listed = ", ".join(bad[:3])
        if share > MAX_BAD_SHARE:
            raise DataError(f"{len(bad)} of {len(items)} images in '{source}' cannot be decoded ({share:.1%} > 1%), "
                            f"e.g. {listed}; repair or remove them")
        print(f"wganlab: warning: skipped {len(bad)} of {len(items)} images in '{source}' that cannot be decoded: "
              f"{listed}", file=sys.stderr)
    keep = [i for i, array in enumerate(decoded) if array is not None]
    images = _write_memmap(images_path, [decoded[i] for i in keep], transform)
    labels = np.asarray([items[i].label for i in keep], dtype=np.int64)
    with atomic_output(labels_path) as tmp:
        np.save(tmp, labels)
    return images, labels


def _decode(items: Sequence[EncodedItem], transform: Transform,
            threads: int | None) -> tuple[list[np.ndarray | None], list[str]]:
    def one(item: EncodedItem) -> np.ndarray | None:
        try:
            with Image.open(io.BytesIO(item.read())) as image:
                return transform.apply(image)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
            return None

    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        decoded = list(pool.map(one, items, chunksize=64))
    bad = [item.name for item, array in zip(items, decoded, strict=True) if array is None]
    return decoded, bad


def _write_memmap(path: Path, arrays: list[np.ndarray], transform: Transform) -> np.ndarray:
    shape = (len(arrays), transform.channels, transform.size, transform.size)
    with atomic_output(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        for index, array in enumerate(arrays):
            out[index] = array
        out.flush()
        del out
    return np.load(path, mmap_mode="c")


def default_cache_dir() -> Path:
    return Path(os.environ.get("WGANLAB_CACHE", Path.home() / ".cache" / "wganlab")) / "preprocessed"
