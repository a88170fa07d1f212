import gzip
import struct

import numpy as np
import pytest

from wganlab.data.idx import load_idx_dataset, read_idx
from wganlab.errors import DataError


def write_idx(path, array, compress):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 20, dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:5], False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:5], False)
    return tmp_path, images, labels


def test_reads_gzip_and_raw(idx_dir):
    root, images, labels = idx_dir
    x, y = load_idx_dataset(root, "train")
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    x, y = load_idx_dataset(root, "test")
    assert np.array_equal(x, images[:5]) and len(y) == 5


def test_truncated_file_is_refused(idx_dir):
    root, _, _ = idx_dir
    path = root / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_truncated_gzip_is_refused(idx_dir):
    root, _, _ = idx_dir
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="truncated or not gzip"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x89PNG....")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def test_missing_directory_and_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_idx_dataset(tmp_path / "nope", "train")
    with pytest.raises(DataError, match="train-images-idx3-ubyte"):
        load_idx_dataset(tmp_path, "train")


def test_mismatched_labels(idx_dir):
    root, _, labels = idx_dir
    write_idx(root / "train-labels-idx1-ubyte.gz", labels[:3], True)
    with pytest.raises(DataError, match="do not belong together"):
        load_idx_dataset(root, "train")
