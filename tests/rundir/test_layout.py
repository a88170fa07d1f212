"""The run directory's small parts: what is (not) a run, default names, the event log."""

from __future__ import annotations

import re

import pytest

from wganlab.config import load_config
from wganlab.errors import CheckpointError
from wganlab.rundir.layout import append_event, default_run_dir, load_run_config, read_events, require_run_dir
from wganlab.training.start import start_run


def test_a_directory_without_a_config_is_not_a_run(tmp_path):
    with pytest.raises(CheckpointError, match=r"is not a wganlab run directory \(no config.yaml\)"):
        require_run_dir(tmp_path)


def test_the_saved_config_reads_back_equal(tmp_path):
    config = load_config("wgan-gp", ["data=8gaussians", "steps=3", "model.width=8", "seed=4"])
    start_run(config, tmp_path / "r", tensorboard=False).close()
    assert load_run_config(tmp_path / "r") == config


def test_default_names_say_preset_data_seed_and_time():
    config = load_config("wgan-gp", ["data=moons", "seed=7"])
    name = default_run_dir(config, "presets/wgan-gp.yaml").as_posix()
    assert re.fullmatch(r"runs/wgan-gp-moons-seed7-\d{8}-\d{6}", name), name


def test_events_append_one_line_each_in_order(tmp_path):
    assert read_events(tmp_path) == []
    append_event(tmp_path, {"event": "resume", "step": 10})
    append_event(tmp_path, {"event": "lr_extend", "step": 20})
    assert read_events(tmp_path) == [{"event": "resume", "step": 10}, {"event": "lr_extend", "step": 20}]
