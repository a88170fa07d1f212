"""Image-folder loading speed: decoding a folder of 64x64 JPEGs into the cache, then reading the cache.

Writes ``--images`` JPEGs of smooth random colour fields into a temporary folder, then times
  * the first pass: listing, decoding, cropping/resizing and writing the uint8 memory-mapped cache, and
  * the cached pass: finding the cache and reading every image from it,
and prints images per second for both as JSON. Usage: python benchmarks/data.py [--images N] [--size S]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from wganlab.config import load_config
from wganlab.data.sources import load_images


def write_jpegs(folder: Path, count: int, side: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for index in range(count):
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC)
        image.save(folder / f"{index:06d}.jpg", quality=90)


def timed_load(overrides: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    images, _ = load_images(load_config(None, overrides).data)
    checksum = int(np.asarray(images).sum(dtype=np.int64))  # touch every byte, as training eventually does
    return time.perf_counter() - started, checksum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64, help="side of the JPEGs written")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "jpegs"
        write_jpegs(folder, args.images, args.size)
        os.environ["WGANLAB_CACHE"] = str(Path(tmp) / "cache")
        overrides = [f"data=folder:{folder}", "data.image_size=64"]
        first, sum_first = timed_load(overrides)
        cached, sum_cached = timed_load(overrides)
    assert sum_first == sum_cached
    print(json.dumps({
        "benchmark": "data", "images": args.images, "jpeg_side": args.size, "threads": os.cpu_count(),
        "first_pass": {"seconds": round(first, 3), "images_per_s": round(args.images / first, 1)},
        "cached_pass": {"seconds": round(cached, 3), "images_per_s": round(args.images / cached, 1)},
    }, indent=2))


if __name__ == "__main__":
    main()
