from pathlib import Path

import numpy as np
import pytest
import torch

from wganlab.config import load_config
from wganlab.data.images import InMemoryImages, to_float, to_uint8
from wganlab.data.sources import embedded_mnist, make_source
from wganlab.errors import DataError

FASHION = Path(__file__).resolve().parents[3] / "shared" / "data" / "fashion-mnist"
CPU = torch.device("cpu")


def test_embedded_mnist_is_the_default():
    images, labels = embedded_mnist()
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    source = make_source(load_config(None).data, CPU)
    assert source.shape == (1, 28, 28) and source.num_classes == 10


def test_pixels_scaled_to_symmetric_and_unit_range():
    source = make_source(load_config(None).data, CPU)
    batch = source.sample(256)
    assert batch.min() == -1.0 and batch.max() == 1.0
    unit = make_source(load_config(None, ["data.pixel_range=unit"]).data, CPU)
    batch = unit.sample(256)
    assert batch.min() == 0.0 and batch.max() == 1.0


def test_uint8_roundtrip():
    x = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16)
    for pixel_range in ("symmetric", "unit"):
        assert torch.equal(to_uint8(to_float(x, pixel_range), pixel_range), x)


def test_every_image_once_per_epoch_and_resumable_order():
    images = torch.arange(10, dtype=torch.uint8).reshape(10, 1, 1, 1)
    source = InMemoryImages(images, None, CPU, pixel_range="unit", seed=0)
    seen = torch.cat([source.sample(5) for _ in range(2)]).flatten() * 255
    assert sorted(seen.round().long().tolist()) == list(range(10))
    state = source.state_dict()
    ahead = [source.sample(3) for _ in range(7)]
    source.load_state_dict(state)
    again = [source.sample(3) for _ in range(7)]
    assert all(torch.equal(a, b) for a, b in zip(ahead, again, strict=True))


@pytest.mark.skipif(not FASHION.is_dir(), reason="shared/data/fashion-mnist is not beside the checkout")
def test_fashion_mnist_from_its_idx_files():
    source = make_source(load_config(None, [f"data=fashion-mnist:{FASHION}"]).data, CPU)
    assert len(source) == 60_000 and source.shape == (1, 28, 28)
    assert torch.bincount(source.labels).tolist() == [6000] * 10
    test = make_source(load_config(None, [f"data=fashion-mnist:{FASHION}", "data.split=test"]).data, CPU)
    assert len(test) == 10_000


def test_fashion_mnist_without_root_says_where(tmp_path, monkeypatch):
    monkeypatch.setenv("WGANLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match="data=fashion-mnist:DIR"):
        make_source(load_config(None, ["data=fashion-mnist"]).data, CPU)
