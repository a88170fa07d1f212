"""CIFAR pickles written in the official layout: shapes, channel order, labels, splits, refusals."""

import pickle

import numpy as np
import pytest

from tests.conftest import SystemCallPayload
from wganlab.config import load_config
from wganlab.data.sources import load_images
from wganlab.errors import DataError


def write_batch(path, data, labels, label_key=b"labels"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump({b"batch_label": b"x", label_key: labels, b"data": data, b"filenames": [b"a"] * len(labels)},
                    handle, protocol=2)


@pytest.fixture
def cifar10(tmp_path):
    return write_cifar10(tmp_path / "cifar10")


def write_cifar10(root):
    """Five training batches of 4 random 32x32 RGB images and a test batch of 3, in the official layout."""
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        data[0, :1024] = 255  # image 0 of each batch: red plane full, green and blue empty
        data[0, 1024:] = 0
        write_batch(root / "cifar-10-batches-py" / f"data_batch_{i}", data, [i, 0, 1, 2])
    write_batch(root / "cifar-10-batches-py" / "test_batch", rng.integers(0, 256, (3, 3072), dtype=np.uint8),
                [9, 8, 7])
    return root


def test_train_and_test_splits(cifar10):
    images, labels = load_images(load_config(None, [f"data=cifar10:{cifar10}"]).data)
    assert images.shape == (20, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist()[:4] == [1, 0, 1, 2] and len(labels) == 20
    assert images[0, 0].min() == 255 and images[0, 1:].max() == 0  # planes are R, G, B
    test, test_labels = load_images(load_config(None, [f"data=cifar10:{cifar10}", "data.split=test"]).data)
    assert test.shape == (3, 3, 32, 32) and test_labels.tolist() == [9, 8, 7]
    inner, _ = load_images(load_config(None, [f"data=cifar10:{cifar10 / 'cifar-10-batches-py'}"]).data)
    assert len(inner) == 20


def test_resized_to_64(cifar10):
    images, _ = load_images(load_config(None, [f"data=cifar10:{cifar10}", "data.image_size=64"]).data)
    assert images.shape == (20, 3, 64, 64) and images[0, 0].min() >= 250


def test_cifar100_fine_labels(tmp_path):
    data = np.zeros((2, 3072), np.uint8)
    write_batch(tmp_path / "cifar-100-python" / "train", data, [42, 99], b"fine_labels")
    write_batch(tmp_path / "cifar-100-python" / "test", data, [1, 2], b"fine_labels")
    _, labels = load_images(load_config(None, [f"data=cifar100:{tmp_path}"]).data)
    assert labels.tolist() == [42, 99]


def test_wrong_layout_and_missing_files(cifar10):
    batch = cifar10 / "cifar-10-batches-py" / "data_batch_3"
    with batch.open("wb") as handle:
        pickle.dump({b"pixels": np.zeros((1, 3072), np.uint8)}, handle)
    with pytest.raises(DataError, match="wrong layout"):
        load_images(load_config(None, [f"data=cifar10:{cifar10}"]).data)
    batch.unlink()
    with pytest.raises(DataError, match="lacks data_batch_3"):
        load_images(load_config(None, [f"data=cifar10:{cifar10}"]).data)


def test_tampered_pickle_cannot_run_code(cifar10, tmp_path):
    marker = tmp_path / "pwned"
    with (cifar10 / "cifar-10-batches-py" / "data_batch_1").open("wb") as handle:
        pickle.dump({b"data": SystemCallPayload(marker), b"labels": [0]}, handle, protocol=2)
    with pytest.raises(DataError, match="not allowed"):
        load_images(load_config(None, [f"data=cifar10:{cifar10}"]).data)
    assert not marker.exists()
