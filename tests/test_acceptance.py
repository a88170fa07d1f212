"""The issue's end-to-end criterion: the wgan-gp preset learns all 8 gaussians from the command line."""

import numpy as np
import pytest
import torch

from tests.conftest import run_cli
from wganlab.data.toy import eight_gaussians
from wganlab.metrics.toy import mode_coverage


@pytest.mark.slow
def test_wgan_gp_covers_all_eight_gaussians(tmp_path):
    run_dir = tmp_path / "run"
    # one thread: the tests' other worker has the other core
    result = run_cli("train", "wgan-gp", "data=8gaussians", "steps=1000", "seed=0", "--run-dir", str(run_dir),
                     "--quiet", "threads=1", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "samples.npz"
    assert run_cli("sample", str(run_dir), "--n", "2000", "--seed", "0", "--out", str(out)).returncode == 0
    report = mode_coverage(torch.from_numpy(np.load(out)["points"]), eight_gaussians())
    assert report.modes_covered == 8, report
    assert report.high_quality >= 0.5, report
