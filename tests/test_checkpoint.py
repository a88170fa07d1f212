"""Checkpoints: atomic writes, safe loading, fall-back to the previous file, and a full disk."""

import errno
import io

import pytest
import torch

from tests.conftest import SystemCallPayload
from wganlab import checkpoint as ckpt
from wganlab.errors import CheckpointError


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoints" / "step_00000010.pt"
    path.parent.mkdir()
    torch.save({"step": 10, "generator": SystemCallPayload(marker)}, path)
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        ckpt.load_checkpoint(path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="no readable checkpoint"):
        ckpt.latest_checkpoint(tmp_path)
    assert not marker.exists()


def test_damaged_newest_checkpoint_falls_back(tmp_path):
    ckpt.save_checkpoint({"step": 1}, tmp_path, 1, keep=5)
    ckpt.save_checkpoint({"step": 2}, tmp_path, 2, keep=5)
    newest = ckpt.checkpoint_path(tmp_path, 2)
    newest.write_bytes(newest.read_bytes()[:40])
    step, state = ckpt.latest_checkpoint(tmp_path)
    assert step == 1 and state == {"step": 1}


def test_keeps_only_the_newest(tmp_path):
    for step in range(6):
        ckpt.save_checkpoint({"step": step}, tmp_path, step, keep=2)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [4, 5]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.endswith(".tmp")]


class FullDisk(io.FileIO):
    """A file that runs out of space after 1,000 bytes."""

    def write(self, data):
        if self.tell() + len(data) > 1000:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_full_disk_keeps_previous_checkpoint_and_says_so(tmp_path, monkeypatch):
    ckpt.save_checkpoint({"step": 1, "w": torch.zeros(10)}, tmp_path, 1, keep=3)
    monkeypatch.setattr(ckpt.os, "fdopen", lambda fd, mode: FullDisk(fd, "wb", closefd=True))
    with pytest.raises(CheckpointError) as err:
        ckpt.save_checkpoint({"step": 2, "w": torch.randn(10_000)}, tmp_path, 2, keep=3)
    message = str(err.value)
    assert "could not write 'step_00000002.pt'" in message and "previous checkpoint (step 1) is intact" in message
    monkeypatch.undo()
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [1]
    assert ckpt.latest_checkpoint(tmp_path)[1]["step"] == 1
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000001.pt"]
