"""Pictures a run writes: the sample grid's layout by hand, PNG and GIF files that decode."""

from __future__ import annotations

import numpy as np
from PIL import Image

from wganlab.plots import image_grid, save_gif, save_png


def test_the_grid_places_each_tile_with_padding_and_greys_become_rgb():
    tiles = np.stack([np.full((1, 2, 3), 10 * (i + 1), np.uint8) for i in range(5)])  # 5 tiles, 2 x 3 pixels
    grid = image_grid(tiles, padding=1)  # ceil(sqrt 5) = 3 columns, 2 rows
    assert grid.shape == (2 * (2 + 1) + 1, 3 * (3 + 1) + 1, 3)
    assert (grid[1:3, 1:4] == 10).all() and (grid[1:3, 5:8] == 20).all()  # tiles 0 and 1, all three channels
    assert (grid[4:6, 5:8] == 50).all()  # tile 4: row 1, column 1
    assert (grid[0] == 0).all() and (grid[4:6, 9:12] == 0).all()  # padding and the empty sixth place


def test_png_and_gif_decode_with_their_frames(tmp_path):
    frames = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        save_png(np.full((8, 8, 3), 80 * i, np.uint8), path)
        frames.append(path)
    assert np.asarray(Image.open(frames[2])).max() == 160
    save_gif(frames, tmp_path / "progress.gif")
    with Image.open(tmp_path / "progress.gif") as gif:
        assert gif.n_frames == 3 and gif.info["loop"] == 0
    save_gif([], tmp_path / "none.gif")
    assert not (tmp_path / "none.gif").exists()
