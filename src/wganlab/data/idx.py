"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun's ``*-idx3-ubyte`` files, raw or gzip).

Every size is checked against the header so that a truncated download fails loudly here instead of training
on a silently shorter or garbled dataset.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from wganlab.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
SPLIT_PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: Path) -> np.ndarray:
    """Decode one IDX file into an array shaped as its header says."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"cannot read IDX file '{path}' ({err}); it is truncated or not gzip: "
                        "download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(f"'{path}' is not an IDX file (bad magic number); expected MNIST-style *-ubyte files")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"IDX file '{path}' is truncated inside its header; download it again")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    body = len(raw) - header
    if body != expected:
        kind = "truncated" if body < expected else "longer than its header says"
        raise DataError(f"IDX file '{path}' is {kind}: header {'x'.join(map(str, dims))} needs {expected} bytes, "
                        f"file holds {body}; download it again")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).copy()  # writable, owns its memory


def find_idx_pair(root: Path, split: str) -> tuple[Path, Path]:
    """Locate ``<prefix>-images-idx3-ubyte[.gz]`` and its labels file (dots or dashes, any case) under root."""
    if not root.is_dir():
        raise DataError(f"data directory '{root}' does not exist; point data=idx:PATH at a folder of IDX files")
    prefix = SPLIT_PREFIX[split]
    found = {}
    for kind, ndim in (("images", 3), ("labels", 1)):
        matches = sorted(
            p for p in root.iterdir()
            if p.is_file() and p.name.lower().startswith(f"{prefix}-{kind}")
            and f"idx{ndim}" in p.name.lower()
        )  # fmt: skip
        if not matches:
            raise DataError(f"no '{prefix}-{kind}-idx{ndim}-ubyte[.gz]' file in '{root}'; "
                            f"it needs the {split} images and labels in IDX format")
        found[kind] = matches[0]
    return found["images"], found["labels"]


def load_idx_dataset(root: Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (uint8 N x H x W) and labels (uint8 N) of one split of an MNIST-like folder."""
    images_path, labels_path = find_idx_pair(root, split)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"'{images_path}' must hold uint8 images N x H x W, found {images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],):
        raise DataError(f"'{labels_path}' has {labels.shape[0] if labels.ndim else 0} labels for "
                        f"{images.shape[0]} images; the two files do not belong together")
    return images, labels
