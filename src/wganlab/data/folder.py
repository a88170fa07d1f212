"""Image folders as users have them: any folder (class subfolders become labels), CelebA and LSUN (folder or the
official LMDB export)."""

from __future__ import annotations

import io
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from wganlab.data.decode import EncodedItem
from wganlab.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
CELEBA_PARTITIONS = {"train": 0, "valid": 1, "test": 2}


def _item(path: Path, label: int, root: Path) -> EncodedItem:
    stat = path.stat()
    return EncodedItem(str(path.relative_to(root)), path.read_bytes, label, f"{stat.st_size}-{stat.st_mtime_ns}")


def folder_items(root: Path) -> tuple[list[EncodedItem], list[str]]:
    """Every image under ``root`` (recursive, sorted). When all of them sit in subfolders, the first-level
    subfolder names (sorted) are the classes; otherwise there is one class."""
    if not root.is_dir():
        raise DataError(f"image folder '{root}' does not exist; check the path in data=folder:PATH")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise DataError(f"image folder '{root}' holds no images ({', '.join(IMAGE_SUFFIXES)}); "
                        "point data=folder:PATH at a folder of images")
    top = [p.relative_to(root).parts for p in paths]
    if all(len(parts) > 1 for parts in top):
        classes = sorted({parts[0] for parts in top})
        index = {name: i for i, name in enumerate(classes)}
        return [_item(p, index[parts[0]], root) for p, parts in zip(paths, top, strict=True)], classes
    return [_item(p, 0, root) for p in paths], []


PROBED = 512  # images whose headers decide a folder's size and channels (evenly spaced; headers only)


@dataclass(frozen=True)
class FolderShape:
    """What a folder's images are: the most common side of their centred square, and whether all are greyscale."""

    side: int
    grayscale: bool
    sizes: dict[str, int]  # "WxH" -> how many of the probed images


def probe_shape(items: list[EncodedItem]) -> FolderShape:
    """The shape a folder trains at by default: its images' own (the most common size; greyscale stays one
    channel), read from the headers of up to :data:`PROBED` images."""
    step = max(1, len(items) // PROBED)
    sizes: Counter[tuple[int, int]] = Counter()
    modes: Counter[str] = Counter()
    for item in items[::step][:PROBED]:
        try:
            with Image.open(io.BytesIO(item.read())) as image:
                sizes[image.size] += 1
                modes["grey" if image.mode in ("1", "L", "I;16", "I", "F", "LA") else "colour"] += 1
        except (OSError, ValueError, SyntaxError, EOFError):
            continue  # damaged files are reported (and skipped) when the folder is decoded
    if not sizes:
        raise DataError("none of the probed images of this folder can be read; check its files")
    (width, height), _ = sizes.most_common(1)[0]
    return FolderShape(min(width, height), modes["colour"] == 0,
                       {f"{w}x{h}": n for (w, h), n in sizes.most_common()})


def native_transform_note(shape: FolderShape, root: Path) -> None:
    """One line when the folder's images differ in size: which size it trains at and how to choose another."""
    if len(shape.sizes) > 1:
        listed = ", ".join(f"{size} ({count})" for size, count in list(shape.sizes.items())[:4])
        print(f"wganlab: note: the images in '{root}' have several sizes ({listed} of those probed); training at "
              f"the most common, {shape.side}x{shape.side} (centre-cropped square): set data.image_size to choose",
              file=sys.stderr)


def celeba_items(root: Path, split: str) -> list[EncodedItem]:
    """``img_align_celeba/`` under ``root`` (or ``root`` itself); with ``list_eval_partition.txt`` beside it the
    split is honoured (train/valid/test = 0/1/2), without it every image is used."""
    images = root / "img_align_celeba" if (root / "img_align_celeba").is_dir() else root
    if not images.is_dir():
        raise DataError(f"CelebA folder '{root}' does not exist; give data=celeba:DIR with img_align_celeba/ in it")
    partition = next((p for p in (root / "list_eval_partition.txt", images.parent / "list_eval_partition.txt")
                      if p.is_file()), None)
    items, _ = folder_items(images)
    if partition is None:
        return items
    wanted = CELEBA_PARTITIONS["valid" if split == "valid" else split]
    keep = set()
    for line in partition.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and int(parts[1]) == wanted:
            keep.add(parts[0])
    chosen = [i for i in items if Path(i.name).name in keep]
    if not chosen:
        raise DataError(f"'{partition}' lists no images of split '{split}' that exist in '{images}'")
    return chosen


def lsun_items(path: Path) -> list[EncodedItem]:
    """An LSUN category as an image folder, or as the official LMDB export (a folder with ``data.mdb``)."""
    if (path / "data.mdb").is_file():
        return _lmdb_items(path)
    return folder_items(path)[0]


def _lmdb_items(path: Path) -> list[EncodedItem]:
    try:
        import lmdb
    except ImportError:
        raise DataError("reading LSUN's LMDB export needs the lmdb package: pip install lmdb "
                        "(wganlab's lsun extra)") from None
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False, max_readers=64)
    except lmdb.Error as err:
        raise DataError(f"'{path}' is not a readable LMDB database ({err})") from None
    with env.begin(write=False) as txn:
        keys = [bytes(key) for key, _ in txn.cursor()]
    stamp = f"{(path / 'data.mdb').stat().st_size}-{(path / 'data.mdb').stat().st_mtime_ns}"

    def reader(key: bytes):
        def read() -> bytes:
            with env.begin(write=False) as txn:
                return bytes(txn.get(key))
        return read

    return [EncodedItem(key.decode("latin-1"), reader(key), 0, stamp) for key in keys]
