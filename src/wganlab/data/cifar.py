"""CIFAR-10 and CIFAR-100 from the official python pickles (``cifar-10-batches-py/``, ``cifar-100-python/``).

The pickles are read with an unpickler that only admits what these files contain (dicts, lists, bytes and
NumPy arrays), so a tampered file cannot run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from wganlab.errors import DataError

LAYOUTS = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels"),
}
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"), ("builtins", "bytes"), ("_codecs", "encode")}


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a CIFAR batch")


def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as handle:
            batch = _DataOnly(handle, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(f"'{path}' is not a CIFAR python batch ({err}); download the python version again") from None
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DataError(f"'{path}' has the wrong layout (keys {keys}); expected b'data' and {label_key!r}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[label_key], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DataError(f"'{path}' has the wrong layout: data {data.dtype} {data.shape} with {len(labels)} labels; "
                        "expected uint8 N x 3072 and N labels")
    return data.reshape(-1, 3, 32, 32), labels  # rows are R, G, B planes of 32x32, row-major


def load_cifar(name: str, root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 N x 3 x 32 x 32 images and labels; ``root`` is the batches folder or the folder holding it."""
    folder, train, test, label_key = LAYOUTS[name]
    base = root / folder if (root / folder).is_dir() else root
    if not base.is_dir():
        raise DataError(f"{name} folder '{root}' does not exist; run 'wganlab data download {name}' or give "
                        f"data={name}:DIR with {folder}/ in it")
    files = [base / f for f in (train if split == "train" else test)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DataError(f"'{base}' lacks {', '.join(missing)}; it is not a complete {folder} folder")
    parts = [_read_batch(f, label_key) for f in files]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
