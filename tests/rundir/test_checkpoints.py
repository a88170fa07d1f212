"""Checkpoints: atomic writes, safe loading, fall-back to the previous file, and a full disk."""

import errno
import io

import pytest
import torch

from tests.conftest import SystemCallPayload
from wganlab.errors import CheckpointError
from wganlab.rundir import checkpoints as ckpt


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
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000001.pt",
                                                                            "step_00000001.pt.sha256"]


def test_each_checkpoint_records_its_sha256_and_a_changed_byte_is_named(tmp_path, capsys):
    import hashlib

    ckpt.save_checkpoint({"step": 1, "w": torch.ones(100)}, tmp_path, 1, keep=5)
    ckpt.save_checkpoint({"step": 2, "w": torch.ones(100)}, tmp_path, 2, keep=5)
    newest = ckpt.checkpoint_path(tmp_path, 2)
    recorded = ckpt.checksum_path(newest).read_text(encoding="utf-8")
    assert recorded == f"{hashlib.sha256(newest.read_bytes()).hexdigest()}  step_00000002.pt\n"  # sha256sum -c
    assert ckpt.verify_checksum(newest) == "verified"
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit pattern, same size: torch might still read it
    newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its recorded SHA-256"):
        ckpt.load_checkpoint(newest)
    step, _ = ckpt.latest_checkpoint(tmp_path)
    assert step == 1
    warning = capsys.readouterr().err
    assert "'step_00000002.pt' left in place" in warning and "using the checkpoint of step 1 instead (1 steps lost)" \
        in warning
    assert newest.is_file()  # reading never moves or deletes anything


def test_pruning_removes_the_checksums_with_their_checkpoints(tmp_path):
    for step in range(4):
        ckpt.save_checkpoint({"step": step}, tmp_path, step, keep=2)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step_00000002.pt", "step_00000002.pt.sha256", "step_00000003.pt", "step_00000003.pt.sha256"]


def test_a_checkpoint_written_before_checksums_still_loads_unverified(tmp_path):
    path = ckpt.checkpoint_path(tmp_path, 5)
    path.parent.mkdir(parents=True)
    torch.save({"step": 5}, path)
    assert ckpt.verify_checksum(path) == "no checksum"
    assert ckpt.latest_checkpoint(tmp_path) == (5, {"step": 5})


def test_resume_names_a_truncated_newest_checkpoint_uses_the_previous_and_keeps_the_file(tmp_path, capsys):
    import json

    from tests.conftest import tiny_toy
    from wganlab.training.start import resume_run, start_run

    run_dir = tmp_path / "r"
    start_run(tiny_toy("steps=30", "checkpoint_every=10", "keep_checkpoints=5"), run_dir,
              tensorboard=False).run(progress=False)
    torn = ckpt.checkpoint_path(run_dir, 30)
    torn.write_bytes(torn.read_bytes()[:1024])
    trainer = resume_run(run_dir, steps=40, tensorboard=False)
    assert trainer.step == 20
    warning = capsys.readouterr().err
    assert "step_00000030.pt" in warning and "using the checkpoint of step 20 instead (10 steps lost)" in warning
    assert "kept as 'step_00000030.pt.damaged'" in warning
    kept = torn.with_name("step_00000030.pt.damaged")
    assert kept.stat().st_size == 1024 and ckpt.checksum_path(kept).is_file()
    events = [json.loads(line) for line in (run_dir / "events.jsonl").open()]
    assert [e["event"] for e in events] == ["damaged checkpoint", "resumed with other settings"]
    assert events[1]["changed"] == {"steps": [30, 40]}
    trainer.run(progress=False)
    assert ckpt.verify_checksum(torn) == "verified" and kept.stat().st_size == 1024  # rewritten beside it
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").open()]
    assert steps == list(range(10, 41, 10))  # the lost steps were trained again and logged once


def test_inspect_names_nan_weights_and_truncated_files(tmp_path):
    state = {"step": 3, "generator": {"w": torch.tensor([1.0, float("nan")]), "n": torch.tensor(4)},
             "discriminator": {"w": torch.ones(2)}, "generator_ema": None}
    ckpt.save_checkpoint(state, tmp_path, 3, keep=3)
    report = ckpt.inspect_checkpoint(ckpt.checkpoint_path(tmp_path, 3))
    assert (report.step, report.checksum, report.weights, report.ok) == (3, "verified", "not finite (generator.w)",
                                                                         False)
    state["generator"]["w"] = torch.ones(2)
    ckpt.save_checkpoint(state, tmp_path, 4, keep=3)
    assert ckpt.inspect_checkpoint(ckpt.checkpoint_path(tmp_path, 4)).ok
    torn = ckpt.checkpoint_path(tmp_path, 4)
    ckpt.checksum_path(torn).unlink()
    torn.write_bytes(torn.read_bytes()[:100])
    report = ckpt.inspect_checkpoint(torn)
    assert (report.checksum, report.weights, report.ok) == ("no checksum", "unreadable", False)


def test_human_sizes():
    assert [ckpt.human_size(n) for n in (880, 1024, 1_300_000, 5 * 2**30)] == ["880 B", "1.0 KiB", "1.2 MiB",
                                                                                 "5.0 GiB"]


def test_a_run_written_by_the_2026_12_01_code_still_resumes_and_samples(tmp_path):
    """tests/golden/run-2026-12-01: a 10-step toy run (checkpoint format 1) kept as written that day."""
    import shutil

    from tests.conftest import REPO
    from wganlab.sampling import generate, load_generator
    from wganlab.training.start import resume_run

    run_dir = tmp_path / "old"
    shutil.copytree(REPO / "tests" / "golden" / "run-2026-12-01", run_dir)
    assert ckpt.verify_checksum(ckpt.checkpoint_path(run_dir, 10)) == "verified"
    before = generate(load_generator(run_dir), 5, seed=1)
    trainer = resume_run(run_dir, steps=15, tensorboard=False)
    assert trainer.step == 10
    trainer.run(progress=False)
    assert ckpt.latest_checkpoint(run_dir)[0] == 15
    assert not torch.equal(before, generate(load_generator(run_dir), 5, seed=1))  # it trained on


def test_a_checkpoint_of_an_unknown_format_is_refused_by_name(tmp_path):
    ckpt.save_checkpoint({"step": 1, "format": ckpt.FORMAT + 1}, tmp_path, 1, keep=3)
    with pytest.raises(CheckpointError, match=f"has format {ckpt.FORMAT + 1}, and this wganlab reads formats 1 to "
                                              f"{ckpt.FORMAT}"):
        ckpt.load_checkpoint(ckpt.checkpoint_path(tmp_path, 1))


def test_a_format_1_state_is_upgraded_to_named_hook_states():
    ema, pool = {"w": torch.ones(1)}, {"images": torch.zeros(2, 1), "labels": None}
    old = {"format": 1, "step": 5, "generator": {"w": torch.zeros(1)}, "generator_ema": ema,
           "tricks": {"replay": {"images": [], "labels": []}, "pool": pool, "g_history": {"means": [], "count": 3},
                      "d_history": None},
           "replay_steps": 2, "stats": {"sums": torch.zeros(4), "count": 0}}
    new = ckpt.upgrade(old)
    assert new["format"] == ckpt.FORMAT and "tricks" not in new and "generator_ema" not in new
    assert new["hooks"] == {"experience-replay": {"images": [], "labels": [], "steps": 2}, "image-pool": pool,
                            "historical-averaging": {"generator": {"means": [], "count": 3}, "discriminator": None},
                            "ema": {"network": ema}}
    assert new["stats"]["keys"] == ["d_loss", "g_loss", "wasserstein_estimate", "gradient_penalty"]
    assert ckpt.sampling_weights(new) is ema and ckpt.sampling_weights({"generator": old["generator"]}) is \
        old["generator"]
    assert old["format"] == 1 and "tricks" in old  # the caller's dict is left as it was
    assert ckpt.upgrade(new) is new
