"""A stack of seeds trains as one model while every seed stays an ordinary run: its own directory, metrics,
checkpoints a resume continues exactly, samples; one diverging seed does not end the others; a study stacks
what it can and says what it cannot."""

from __future__ import annotations

import io
import json

import pytest
import torch

from tests.conftest import tiny_mnist, tiny_toy
from wganlab.rundir.checkpoints import latest_checkpoint
from wganlab.sampling import generate, load_generator
from wganlab.stacking.layers import NotStackable
from wganlab.stacking.trainer import StackedTrainer, resume_stack, stacking_refusal, start_stack
from wganlab.study.backends import Job, StackJob
from wganlab.study.runner import run_study, stack_by_seed
from wganlab.study.spec import load_study
from wganlab.study.task import read_result
from wganlab.training.monitor import TrainingDiverged
from wganlab.training.trainer import TrainResult


def configs(*overrides: str, seeds: int = 2):
    return [tiny_toy("steps=20", "checkpoint_every=10", "eval_every=0", *overrides, f"seed={s}") for s in range(seeds)]


def final_state(run_dir):
    return latest_checkpoint(run_dir)[1]


def test_a_stack_resumed_halfway_ends_bit_identical_to_one_trained_straight(tmp_path):
    straight = start_stack(configs(), [tmp_path / "a0", tmp_path / "a1"], tensorboard=False)
    outcomes = straight.run(progress=False)
    assert all(isinstance(o, TrainResult) and o.step == 20 and not o.interrupted for o in outcomes.values())
    halves = start_stack(configs(), [tmp_path / "b0", tmp_path / "b1"], tensorboard=False)
    assert all(o.interrupted for o in halves.run(stop_at=10, progress=False).values())
    resumed = resume_stack([tmp_path / "b0", tmp_path / "b1"], tensorboard=False)
    assert resumed.step == 10
    resumed.run(progress=False)
    for seed in range(2):
        a, b = final_state(tmp_path / f"a{seed}"), final_state(tmp_path / f"b{seed}")
        for part in ("generator", "discriminator"):
            assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), (seed, part)
        assert a["d_optimizer"]["state"][0]["exp_avg"].equal(b["d_optimizer"]["state"][0]["exp_avg"])
    first, second = (final_state(tmp_path / f"a{seed}")["generator"] for seed in range(2))
    assert not torch.equal(first["0.weight"], second["0.weight"])  # two seeds, two different runs


def test_each_seed_of_a_stack_is_an_ordinary_run(tmp_path):
    start_stack(configs("log_every=5"), [tmp_path / "s0", tmp_path / "s1"], tensorboard=False).run(progress=False)
    for seed in range(2):
        run_dir = tmp_path / f"s{seed}"
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [5, 10, 15, 20]
        assert {"d_loss", "g_loss", "gradient_penalty", "wasserstein_estimate", "d_grad_norm"} <= set(records[-1])
        info = json.loads((run_dir / "run.json").read_text())
        assert info["stacked_seeds"] == 2 and info["stacked_with"] == ["s0", "s1"]  # its logged seconds: the stack's
        loaded = load_generator(run_dir)  # what 'wganlab sample' and 'wganlab eval' read
        assert loaded.step == 20 and generate(loaded, 16, seed=0).shape == (16, 2)
    # ... and on its own: resuming seed 1 alone with more steps continues its stacked training
    from wganlab.training.start import resume_run

    alone = resume_run(tmp_path / "s1", steps=25, tensorboard=False)
    assert alone.step == 20
    assert alone.run(progress=False).step == 25


def test_a_diverging_seed_is_retired_and_the_others_finish(tmp_path, capsys):
    stack = start_stack(configs("log_every=5"), [tmp_path / "s0", tmp_path / "s1"], tensorboard=False)
    with torch.no_grad():  # seed 1's generator produces NaN from the first step on
        stack.training.generator[0].weight[1].fill_(float("nan"))
    outcomes = stack.run(progress=False)
    assert isinstance(outcomes[0], TrainResult) and outcomes[0].step == 20
    assert isinstance(outcomes[1], TrainingDiverged) and "NaN" in str(outcomes[1])
    assert latest_checkpoint(tmp_path / "s1")[0] == 0  # its last good checkpoint is kept
    assert all(torch.isfinite(v).all() for v in final_state(tmp_path / "s0")["generator"].values())
    assert "the rest of its stack goes on" in capsys.readouterr().err


def test_what_cannot_be_stacked_is_refused_by_name(tmp_path):
    assert stacking_refusal(tiny_toy()) is None
    assert "image-pool" in stacking_refusal(tiny_toy("tricks.replay.mode=pool", preset="gan"))
    assert "minibatch" in stacking_refusal(tiny_toy("tricks.minibatch.kernels=8", preset="gan"))
    assert "rollback" in stacking_refusal(tiny_toy("divergence.action=rollback"))
    assert "arch=resnet" in stacking_refusal(tiny_mnist("model.arch=resnet", "data.image_size=32"))
    unlike = [configs()[0], tiny_toy("steps=20", "checkpoint_every=10", "eval_every=0", "seed=1", "model.width=8")]
    with pytest.raises(NotStackable, match=r"differ in more than their seed \(model\)"):
        start_stack(unlike, [tmp_path / "u0", tmp_path / "u1"], tensorboard=False)
    runs = [tmp_path / "r0", tmp_path / "r1"]
    with pytest.raises(NotStackable, match="image-pool"):
        start_stack(configs("tricks.replay.mode=pool"), runs, tensorboard=False)
    assert not any(run.exists() for run in runs)  # refused before any run directory was made
    stacked = start_stack(configs(), [tmp_path / "c0", tmp_path / "c1"], tensorboard=False)
    stacked.run(stop_at=10, progress=False)
    from wganlab.training.start import resume_run

    resume_run(tmp_path / "c1", steps=20, tensorboard=False).run(progress=False)  # one seed moved on alone
    with pytest.raises(NotStackable, match="different steps"):
        StackedTrainer([resume_run(tmp_path / f"c{s}", tensorboard=False) for s in range(2)])


def test_a_study_groups_seeds_into_stacks_and_says_what_it_cannot_stack():
    jobs = [(1.0, Job(f"{variant}__seed{seed}", f"/x/{variant}{seed}", preset, [f"seed={seed}", "data=8gaussians"],
                      100)) for variant, preset in (("gp", "wgan-gp"), ("pool", "gan")) for seed in range(3)]
    jobs[-1] = (1.0, Job("pool__seed2", "/x/pool2", "gan", ["seed=2", "data=8gaussians",
                                                            "tricks.replay.mode=pool"], 100))
    log = io.StringIO()
    units = [job for _, job in stack_by_seed(jobs, log)]
    stacks = [job for job in units if isinstance(job, StackJob)]
    assert [tuple(j.name for j in s.jobs) for s in stacks] == [("gp__seed0", "gp__seed1", "gp__seed2"),
                                                                ("pool__seed0", "pool__seed1")]
    assert [job.name for job in units if isinstance(job, Job)] == ["pool__seed2"]  # alone: nothing to stack
    assert log.getvalue() == ""
    pooled = [(1.0, Job(f"p{s}", f"/x/p{s}", "gan", [f"seed={s}", "tricks.replay.mode=pool"], 100)) for s in range(2)]
    units = stack_by_seed(pooled, log)
    assert all(isinstance(job, Job) for _, job in units)
    assert log.getvalue().startswith("not stacked: p0, p1: image-pool") and log.getvalue().count("\n") == 1


@pytest.mark.slow
def test_a_stacked_two_seed_toy_study_covers_all_eight_modes_on_both_seeds(tmp_path):
    """The demo's WGAN-GP on 8 gaussians (700 steps, where the demo notes every seed tried still covers all 8), its
    two seeds stacked: every mode on both."""
    study_file = tmp_path / "stacked.yaml"
    study_file.write_text("name: stacked\nstack_seeds: true\nset: {steps: 700, eval_every: 350, threads: 1}\n"
                          "axes: {variant: [wgan-gp], data: [8gaussians], seed: [0, 1]}\n"
                          "evaluation: {samples: 2000}\n", encoding="utf-8")
    log = io.StringIO()
    outcome = run_study(load_study(study_file), tmp_path / "out", workers=1, log=log)
    assert outcome["failed"] == {} and outcome["ran"] == 2, log.getvalue()
    assert "(1 stacks of seeds)" in log.getvalue()
    for seed in range(2):
        result = read_result(tmp_path / "out" / "runs" / f"wgan-gp__8gaussians__seed{seed}")
        assert result["stacked_seeds"] == 2 and result["steps"] == 700
        assert result["train_seconds"] == pytest.approx(result["stack_train_seconds"] / 2, abs=1e-3)  # its share
        assert result["final"]["modes_covered"] == 8, (seed, result["final"])


def test_a_stack_stopped_by_a_signal_checkpoints_and_records_the_stop_in_each_seeds_run(tmp_path, monkeypatch):
    import os
    import signal

    from wganlab.rundir.layout import read_events

    stack = start_stack(configs(), [tmp_path / "s0", tmp_path / "s1"], tensorboard=False)
    step_once = StackedTrainer._step_and_bookkeeping

    def step_then_sigterm(self, bar):
        saved = step_once(self, bar)
        if self.step == 7:  # as `kill` does, while the stack's handler is installed
            os.kill(os.getpid(), signal.SIGTERM)
        return saved

    monkeypatch.setattr(StackedTrainer, "_step_and_bookkeeping", step_then_sigterm)
    outcomes = stack.run(progress=False)
    assert all(o.interrupted and o.step == 7 for o in outcomes.values())
    for seed in range(2):
        assert latest_checkpoint(tmp_path / f"s{seed}")[0] == 7  # off the 10-step grid: the stop's own
        assert read_events(tmp_path / f"s{seed}") == [{"step": 7, "event": "stopped", "checkpoint": 7,
                                                        "signal": "SIGTERM"}]
