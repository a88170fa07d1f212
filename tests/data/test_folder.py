"""Image folders, CelebA and LSUN: decoding, crop geometry, labels, bad files and the preprocessing cache."""

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import cli
from wganlab.config import load_config
from wganlab.data.decode import crop_box
from wganlab.data.sources import load_images, make_source
from wganlab.errors import DataError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WGANLAB_CACHE", str(tmp_path / "cache"))


def save(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def solid(color, size=(40, 40)):
    return np.full((*size, 3), color, np.uint8)


def images_of(*overrides):
    return load_images(load_config(None, list(overrides)).data)


def test_class_subfolders_become_sorted_labels(tmp_path):
    for cls, color in (("cats", 10), ("dogs", 200)):
        for i in range(3):
            save(tmp_path / "pets" / cls / f"{i}.png", solid(color))
    save(tmp_path / "pets" / "dogs" / "deep" / "x.jpg", solid(200), "JPEG")
    images, labels = images_of(f"data=folder:{tmp_path / 'pets'}", "data.image_size=32")
    assert images.shape == (7, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert images[labels == 0].max() == 10 and abs(int(images[labels == 1].mean()) - 200) <= 2


def test_flat_folder_has_one_class_and_converts_modes(tmp_path):
    save(tmp_path / "a.png", np.full((20, 30), 128, np.uint8))  # grayscale
    Image.new("RGBA", (30, 20), (255, 0, 0, 128)).save(tmp_path / "b.png")
    Image.new("P", (30, 20)).save(tmp_path / "c.gif")
    images, labels = images_of(f"data=folder:{tmp_path}", "data.image_size=28")
    assert images.shape == (3, 3, 28, 28) and set(labels.tolist()) == {0}
    assert images[1, 0].min() == 255 and images[1, 1].max() == 0  # RGBA red stays red
    gray, _ = images_of(f"data=folder:{tmp_path}", "data.image_size=28", "data.grayscale=true")
    assert gray.shape == (3, 1, 28, 28)


def test_centre_square_crop_geometry(tmp_path):
    # 60 wide x 40 high: left and right 10-px bands are red, the centred 40x40 square is green
    picture = solid((0, 255, 0), (40, 60))
    picture[:, :10] = picture[:, 50:] = (255, 0, 0)
    save(tmp_path / "wide.png", picture)
    cropped, _ = images_of(f"data=folder:{tmp_path}", "data.image_size=32")
    assert cropped[0, 0].max() == 0 and cropped[0, 1].min() == 255  # no red left
    squashed, _ = images_of(f"data=folder:{tmp_path}", "data.image_size=32", "data.crop=none")
    assert squashed[0, 0, :, 0].min() > 200  # the red bands survive a squash
    assert crop_box(178, 218, "108") == (35, 55, 143, 163)


def test_celeba_default_crop_and_partition(tmp_path):
    root = tmp_path / "celeba"
    face = np.zeros((218, 178, 3), np.uint8)
    face[55:163, 35:143] = 255  # exactly the 108-px centre crop is white
    for i in range(1, 5):
        save(root / "img_align_celeba" / f"{i:06d}.jpg", face, "JPEG")
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n")
    train, _ = images_of(f"data=celeba:{root}")
    assert train.shape == (2, 3, 64, 64)
    assert train[:, :, 2:-2, 2:-2].min() > 200  # the crop holds only the white square
    test, _ = images_of(f"data=celeba:{root}", "data.split=test")
    assert len(test) == 1
    squashed, _ = images_of(f"data=celeba:{root}", "data.crop=none")
    assert squashed[:, :, 0, 0].max() < 30  # the DTU study's uncropped squash keeps the black border


def test_lsun_lmdb_export(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    import io

    env = lmdb.open(str(tmp_path / "bedroom_train_lmdb"), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i in range(5):
            buffer = io.BytesIO()
            Image.fromarray(solid(40 * i, (48, 64))).save(buffer, format="WEBP", quality=95)
            txn.put(f"key{i:03d}".encode(), buffer.getvalue())
    env.close()
    images, labels = images_of(f"data=lsun:{tmp_path / 'bedroom_train_lmdb'}")
    assert images.shape == (5, 3, 64, 64) and labels.tolist() == [0] * 5
    assert sorted(int(x) // 40 for x in images.reshape(5, -1).mean(1).round()) == [0, 1, 2, 3, 4]


def test_one_corrupt_file_is_skipped_with_one_warning(tmp_path, capsys):
    for i in range(120):
        save(tmp_path / f"{i:03d}.png", solid(i))
    (tmp_path / "999.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    images, _ = images_of(f"data=folder:{tmp_path}", "data.image_size=28")
    assert len(images) == 120
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 1 of 121" in err[0] and "999.jpg" in err[0]


def test_truncated_images_past_one_percent_are_an_error(tmp_path):
    for i in range(10):
        save(tmp_path / f"{i}.png", solid(i))
    data = (tmp_path / "0.png").read_bytes()
    (tmp_path / "0.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"1 of 10 images .* cannot be decoded"):
        images_of(f"data=folder:{tmp_path}", "data.image_size=28")


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(DataError, match="holds no images"):
        images_of(f"data=folder:{tmp_path}")
    with pytest.raises(DataError, match="does not exist"):
        images_of(f"data=folder:{tmp_path / 'nope'}")


def test_cache_is_reused_and_keyed_by_transform(tmp_path, monkeypatch):
    from wganlab.data import decode

    for i in range(4):
        save(tmp_path / "imgs" / f"{i}.png", solid(50 * i))
    first, _ = images_of(f"data=folder:{tmp_path / 'imgs'}", "data.image_size=32")
    calls = []
    original = decode.Transform.apply
    monkeypatch.setattr(decode.Transform, "apply", lambda self, im: calls.append(1) or original(self, im))
    again, _ = images_of(f"data=folder:{tmp_path / 'imgs'}", "data.image_size=32")
    assert calls == [] and np.array_equal(first, again)
    other, _ = images_of(f"data=folder:{tmp_path / 'imgs'}", "data.image_size=64")
    assert len(calls) == 4 and other.shape[-1] == 64
    save(tmp_path / "imgs" / "new.png", solid(7))
    grown, _ = images_of(f"data=folder:{tmp_path / 'imgs'}", "data.image_size=32")
    assert len(grown) == 5


def test_hflip_mirrors_about_half_the_batch(tmp_path):
    picture = np.zeros((32, 32, 3), np.uint8)
    picture[:, :16] = 255  # left half white
    for i in range(4):
        save(tmp_path / f"{i}.png", picture)
    source = make_source(load_config(None, [f"data=folder:{tmp_path}", "data.image_size=32", "data.hflip=true"]).data,
                         torch.device("cpu"))
    torch.manual_seed(0)
    batch = torch.cat([source.sample(4) for _ in range(50)])
    left_white = (batch[:, 0, :, 0] > 0).all(dim=1)
    assert 0.35 < left_white.float().mean() < 0.65


def test_folder_with_a_corrupt_file_trains_from_the_cli(tmp_path):
    for i in range(150):
        save(tmp_path / "imgs" / f"{i:03d}.png", solid((i, 255 - i, 0), (32, 32)))
    (tmp_path / "imgs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    result = cli("train", "dcgan", f"data=folder:{tmp_path / 'imgs'}", "data.image_size=32", "steps=2",
                     "model.width=4", "batch_size=8", "--run-dir", str(tmp_path / "run"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "broken.png" in warnings[0]


def test_empty_folder_exits_2_from_the_cli(tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("train", "dcgan", f"data=folder:{tmp_path / 'empty'}", cwd=tmp_path)
    assert result.returncode == 2 and "holds no images" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_folder_keeps_its_images_shape_greyscale_and_most_common_size(tmp_path, capsys):
    for i in range(6):
        save(tmp_path / "grey" / f"{i}.png", np.full((28, 28), 40 * i, np.uint8))
    images, _ = images_of(f"data=folder:{tmp_path / 'grey'}")
    assert images.shape == (6, 1, 28, 28)  # greyscale stays one channel, at its own size
    assert images_of(f"data=folder:{tmp_path / 'grey'}", "data.image_size=32")[0].shape == (6, 1, 32, 32)
    assert capsys.readouterr().err == ""
    for i in range(4):
        save(tmp_path / "mixed" / f"a{i}.png", solid(30 * i, (48, 48)))
    save(tmp_path / "mixed" / "b.png", solid(200, (64, 80)))  # one odd size, and colour
    images, _ = images_of(f"data=folder:{tmp_path / 'mixed'}")
    assert images.shape == (5, 3, 48, 48)
    note = capsys.readouterr().err
    assert "several sizes (48x48 (4), 80x64 (1)" in note and "training at the most common, 48x48" in note
    assert note.count("\n") == 1
