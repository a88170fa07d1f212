"""Studies end to end: a 2x2 grid on each backend, finished runs skipped, failures reported, resumption."""

from __future__ import annotations

import io
import json
import sys
import textwrap

import pytest
import torch

from wganlab.study.aggregate import collect, summarize
from wganlab.study.backends import Placement, plan_placement
from wganlab.study.report import build_report
from wganlab.study.runner import StudyChanged, changed_runs, failed_runs, run_study
from wganlab.study.spec import load_study
from wganlab.study.task import execute_run, read_result, run_state
from wganlab.training.start import start_run

TINY = """
    name: tiny
    description: two variants by two seeds on a toy, a few steps each
    set: {data: 8gaussians, steps: 20, model.width: 16, model.mlp_depth: 2, batch_size: 32, log_every: 5,
          sample_every: 20, checkpoint_every: 10, eval_every: 10, eval_samples: 64}
    axes:
      variant: [gan, wgan-gp]
      seed: [0, 1]
    evaluation: {samples: 128}
"""


def tiny_study(tmp_path, text: str = TINY):
    path = tmp_path / "tiny.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_study(path)


def test_placement_fills_cores_without_oversubscribing():
    assert plan_placement(16, cpus=2, gpus=0) == Placement(2, 1, 0)
    assert plan_placement(16, workers=1, cpus=8, gpus=0) == Placement(1, 8, 0)
    assert plan_placement(1, cpus=8, gpus=0) == Placement(1, 8, 0)  # one run gets every core
    assert plan_placement(16, cpus=16, gpus=4) == Placement(4, 4, 4)  # one run per GPU


def test_placement_counts_only_the_cores_this_process_may_use(monkeypatch):
    """Under ``taskset -c 1`` a machine of 2 cores gives a study 1: one worker, one thread, not two threads."""
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1}, raising=False)
    assert plan_placement(16, workers=1, gpus=0) == Placement(1, 1, 0)
    assert plan_placement(16, gpus=0) == Placement(1, 1, 0)


def test_local_study_runs_skips_finished_and_reports(tmp_path):
    study, out = tiny_study(tmp_path), tmp_path / "out"
    log = io.StringIO()
    outcome = run_study(study, out, backend="local", workers=2, log=log)
    assert (outcome["ran"], outcome["failed"], outcome["interrupted"]) == (4, {}, 0), log.getvalue()
    for spec in study.runs:
        result = read_result(out / "runs" / spec.name)
        assert result["status"] == "finished" and result["steps"] == 20
        assert {"w1", "modes_covered", "high_quality"} <= set(result["final"])
        assert result["best"]["step"] in (10, 20)  # best.pt kept by the in-training W1
    again = run_study(study, str(out), backend="local", workers=2, log=io.StringIO())  # a str path, as a script may
    assert (again["skipped"], again["ran"]) == (4, 0)
    report = build_report(str(out))
    assert report.is_file() and (out / "summary.csv").is_file()
    table = (out / "summary.md").read_text(encoding="utf-8")
    assert "| gan |" in table and "| wgan-gp |" in table and " ± " in table
    assert "Evaluation: 128 generated, against 128 real (fresh draws of the distribution (seed 0)); each run's " \
           "last checkpoint." in table
    assert "Holm's correction over the 1 pair of this table (this study, w1)" in table
    assert "\n- gan covers the most modes" in table  # no ": " before a sentence of a study without a data axis
    rows = [r for r in summarize(collect(out)) if r["metric"] == "w1" and r["checkpoint"] == "final"]
    assert [(r["variant"], r["seeds"]) for r in rows] == [("gan", 2), ("wgan-gp", 2)]


def test_a_worker_that_trains_run_after_run_gives_each_the_result_of_a_fresh_process(tmp_path):
    study, out = tiny_study(tmp_path, TINY.replace("seed: [0, 1]", "seed: [0]")), tmp_path / "out"
    assert run_study(study, out, backend="local", workers=1, log=io.StringIO())["ran"] == 2  # one process, 2 runs
    threads, before = plan_placement(2, workers=1).threads, torch.get_num_threads()  # the worker's thread count
    try:
        for spec in study.runs:
            alone = execute_run(str(tmp_path / "alone" / spec.name), spec.preset, list(spec.overrides), threads,
                                evaluation_samples=study.evaluation_samples)
            assert alone["final"] == read_result(out / "runs" / spec.name)["final"], spec.name
    finally:
        torch.set_num_threads(before)


def test_a_failed_run_is_reported_and_the_others_finish(tmp_path):
    text = TINY.replace("variant: [gan, wgan-gp]", "variant: [gan, {name: broken, preset: gan, set: "
                        "{data: {name: cifar10, root: /nonexistent-wganlab}}}]")
    study, out = tiny_study(tmp_path, text), tmp_path / "out"
    outcome = run_study(study, out, workers=2, log=io.StringIO())
    assert sorted(outcome["failed"]) == ["broken__seed0", "broken__seed1"]
    assert "cifar10 folder '/nonexistent-wganlab' does not exist" in outcome["failed"]["broken__seed0"]
    assert sorted(failed_runs(out)) == ["broken__seed0", "broken__seed1"]
    assert run_state(out / "runs" / "gan__seed0") == "finished"
    page = build_report(out).read_text(encoding="utf-8")
    assert "2 failed" in page and "/nonexistent-wganlab" in page


def test_an_interrupted_run_is_resumed_not_restarted(tmp_path):
    study, out = tiny_study(tmp_path), tmp_path / "out"
    spec = study.runs[0]
    trainer = start_run(spec.config(), out / "runs" / spec.name, tensorboard=False)
    trainer.run(stop_at=10, progress=False)
    assert run_state(out / "runs" / spec.name) == "started"
    run_study(study, out, workers=2, log=io.StringIO())
    steps = [json.loads(line)["step"] for line in (out / "runs" / spec.name / "metrics.jsonl").open()]
    assert steps == [5, 10, 15, 20]  # continued from step 10, nothing logged twice


def test_a_changed_study_does_not_silently_reuse_a_different_run(tmp_path):
    study, out = tiny_study(tmp_path), tmp_path / "out"
    spec = study.runs[0]
    start_run(spec.config(), out / "runs" / spec.name, tensorboard=False).close()  # started, not finished
    changed = tiny_study(tmp_path, TINY.replace("steps: 20", "steps: 30").replace("seed: [0, 1]", "seed: [0]"))
    with pytest.raises(StudyChanged, match=r"gan__seed0' was trained with another config .*\(steps differ\)"):
        run_study(changed, out, workers=1, log=io.StringIO())


def test_a_reworded_preset_description_trains_nothing_different():
    from wganlab.config import load_config
    from wganlab.study.task import config_differences

    saved = load_config("dcgan", ["data=mnist"]).to_dict()
    reworded = {**saved, "description": "the same settings, described anew"}
    assert config_differences(saved, reworded) == []
    retuned = load_config("dcgan", ["data=mnist", "g_optimizer.lr=1e-3", "threads=2"]).to_dict()
    assert config_differences(saved, {**retuned, "description": "new"}) == ["g_optimizer.lr"]


def test_finished_runs_of_another_config_are_refused_then_retrained_on_request(tmp_path, capsys):
    """Issue: adding batch_size to a study's set and running it again reported "4 skipped as finished" and
    showed the new command beside results of the old config."""
    from wganlab.cli import main

    study, out = tiny_study(tmp_path), tmp_path / "out"
    assert run_study(study, out, workers=2, log=io.StringIO())["ran"] == 4
    before = {s.name: read_result(out / "runs" / s.name) for s in study.runs}
    text = TINY.replace("batch_size: 32", "batch_size: 16").replace("evaluation: {samples: 128}",
                                                                    "evaluation: {samples: 96}")
    (tmp_path / "changed.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    assert changed_runs(tiny_study(tmp_path, text), out) == {
        name: ["batch_size", "evaluation.samples"] for name in before}
    code = main(["study", str(tmp_path / "changed.yaml"), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "(batch_size, evaluation.samples differ) (and 3 more runs); retrain the changed runs with " \
           "--rerun-changed" in err
    assert {s.name: read_result(out / "runs" / s.name) for s in study.runs} == before  # nothing touched

    one_seed = tiny_study(tmp_path, text.replace("seed: [0, 1]", "seed: [0]"))
    log = io.StringIO()
    outcome = run_study(one_seed, out, workers=1, log=log, rerun_changed=True)
    assert (outcome["replaced"], outcome["ran"]) == (2, 2)
    assert "retraining gan__seed0: batch_size, evaluation.samples changed" in log.getvalue()
    assert sorted(p.name.rsplit("-", 2)[0] for p in (out / "replaced").iterdir()) == ["gan__seed0", "wgan-gp__seed0"]
    assert read_result(out / "runs" / "gan__seed0")["final"]["samples"] == 96
    assert changed_runs(one_seed, out) == {}


@pytest.mark.slow
def test_ray_backend_runs_the_same_study(tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (the ray extra)")
    study, out = tiny_study(tmp_path), tmp_path / "out"
    outcome = run_study(study, out, backend="ray", workers=2, log=io.StringIO())
    assert (outcome["ran"], outcome["failed"]) == (4, {})
    assert all(run_state(out / "runs" / s.name) == "finished" for s in study.runs)
    assert build_report(out).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm", "sigterm-ray"])
def test_ctrl_c_or_sigterm_stops_a_study_at_checkpoints_and_the_same_command_resumes(tmp_path, stop):
    """Ctrl-C reaches the whole process group; a SIGTERM (``kill``, ``timeout``, a scheduler) only the study, which
    must pass it on: before, the study ended and its workers went on training, orphaned (on Ray: ended by Ray's
    shutdown without a checkpoint at their stop)."""
    import os
    import signal
    import subprocess
    import time

    from wganlab.rundir.lock import pid_alive, read_holder

    if stop.endswith("ray"):
        pytest.importorskip("ray", reason="the Ray backend is an extra: pip install ray")
    text = TINY.replace("steps: 20", "steps: 300").replace("checkpoint_every: 10", "checkpoint_every: 100") \
        .replace("eval_every: 10", "eval_every: 100").replace("sample_every: 20", "sample_every: 100") \
        .replace("variant: [gan, wgan-gp]", "variant: [wgan-gp]").replace("log_every: 5", "log_every: 1")
    path = tmp_path / "long.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "wganlab", "study", str(path), "--out", str(out), "--workers", "2",
               *(["--backend", "ray"] if stop.endswith("ray") else [])]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, start_new_session=True, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while not list(out.glob("runs/*/checkpoints/step_00000100.pt")) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = {holder["pid"] for run in out.glob("runs/*") if (holder := read_holder(run))}
    assert workers and process.pid not in workers
    if stop == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
    else:
        process.send_signal(signal.SIGTERM)  # the study's process alone
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    time.sleep(1)  # the study's exit ended its workers (reaped by it or its fork server); give the kernel a moment
    assert [pid for pid in workers if pid_alive(pid)] == []  # no worker outlives the study (a zombie has ended)
    stopped = {d.name: run_state(d) for d in (out / "runs").iterdir()}
    assert "started" in stopped.values()
    if stop != "ctrl-c":  # each stopped run wrote a checkpoint at its stop; resuming one is the Ctrl-C case's
        from wganlab.rundir.checkpoints import list_checkpoints
        from wganlab.rundir.layout import read_events

        for name, state in stopped.items():
            steps = [step for step, _ in list_checkpoints(out / "runs" / name)]
            last = json.loads((out / "runs" / name / "metrics.jsonl").read_text().splitlines()[-1])["step"]
            # logged every step, checkpointed every 100: the newest checkpoint is the step the run stopped at (a
            # run ended without its stop's checkpoint has logged past its last one). A stop at a multiple of 100
            # is common, not a fluke: the evaluation and the samples there are the slowest part of the loop.
            assert state == "finished" or steps[-1] == last > 0, (name, steps, last)
            stops = [e for e in read_events(out / "runs" / name) if e["event"] == "stopped"]
            assert state == "finished" or stops[-1]["checkpoint"] == steps[-1], (name, stops, steps)
            assert stop.endswith("ray") or state == "finished" or stops[-1]["signal"] == "SIGTERM", stops
        return
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    for name in stopped:
        steps = [json.loads(line)["step"] for line in (out / "runs" / name / "metrics.jsonl").open()]
        assert steps == list(range(1, 301))  # resumed, not restarted: every step logged once


def test_longest_runs_start_first():
    from wganlab.study.runner import _expected_cost

    study = load_study("demo")
    by_name = {spec.name: _expected_cost(spec) for spec in study.runs}
    images = [cost for name, cost in by_name.items() if "__mnist__" in name]
    toys = [cost for name, cost in by_name.items() if "__8gaussians__" in name]
    assert min(images) > max(toys)  # image runs are the long ones
    assert by_name["WGAN-GP__8gaussians__seed0"] == by_name["WGAN-WC__8gaussians__seed0"] > \
        by_name["GAN__8gaussians__seed0"]  # 5 critic steps per generator step against 1


def test_a_run_killed_by_sigkill_is_reported_while_the_others_finish_and_the_same_command_resumes_it(tmp_path):
    import os
    import signal
    import subprocess
    import time

    from wganlab.rundir.lock import read_holder

    text = TINY.replace("steps: 20", "steps: 200").replace("checkpoint_every: 10", "checkpoint_every: 50") \
        .replace("variant: [gan, wgan-gp]", "variant: [wgan-gp]").replace("seed: [0, 1]", "seed: [0, 1, 2]") \
        .replace("sample_every: 20", "sample_every: 1000").replace("eval_every: 10", "eval_every: 0")
    path = tmp_path / "killed.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    out, victim = tmp_path / "out", "wgan-gp__seed0"
    command = [sys.executable, "-m", "wganlab", "study", str(path), "--out", str(out), "--workers", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "runs" / victim / "checkpoints" / "step_00000050.pt").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker = read_holder(out / "runs" / victim)["pid"]
    assert worker != process.pid  # the run's own worker process holds its lock
    os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer does
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert f"failed: {victim}: killed by signal 9 (out of memory?); run the same study command again to resume it " \
           "from its checkpoint at step" in stdout
    assert [run_state(out / "runs" / f"wgan-gp__seed{seed}") for seed in (1, 2)] == ["finished", "finished"]
    assert run_state(out / "runs" / victim) == "started" and "killed by signal 9" in failed_runs(out)[victim]
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "2 skipped as finished, 1 run, 0 failed" in again.stdout
    assert f"(PID {worker} on " in again.stderr and "no longer running; taking the lock over" in again.stderr
    steps = [json.loads(line)["step"] for line in (out / "runs" / victim / "metrics.jsonl").open()]
    assert steps == list(range(5, 201, 5))  # resumed from its checkpoint: every step logged once
    assert failed_runs(out) == {}


def test_a_report_refuses_seeds_of_one_experiment_trained_with_different_configs(tmp_path):
    study, out = tiny_study(tmp_path, TINY.replace("variant: [gan, wgan-gp]", "variant: [gan]")), tmp_path / "out"
    run_study(study, out, workers=2, log=io.StringIO())
    config = out / "runs" / "gan__seed1" / "config.yaml"  # as a directory filled by hand would be
    config.write_text(config.read_text(encoding="utf-8").replace("steps: 20", "steps: 40"), encoding="utf-8")
    with pytest.raises(StudyChanged, match=r"gan__seed0' and '.*gan__seed1' are seeds of one experiment trained "
                                           r"with different configs \(steps differ\)"):
        collect(out)


def test_seeds_that_each_draw_their_own_training_subset_are_one_experiment(tmp_path):
    text = """
        name: draws
        set: {steps: 5, model.width: 8, batch_size: 16, log_every: 5, sample_every: 5, checkpoint_every: 5,
              eval_every: 0}
        axes:
          variant: [wgan-gp]
          data: [{label: wine-60, name: table, root: "sklearn:wine", limit: 60}]
          seed: [0, 1]
        when:
          - {match: {seed: 1}, set: {data.subset_seed: 1}}
        evaluation: {samples: 64}
    """
    study, out = tiny_study(tmp_path, text), tmp_path / "out"
    assert run_study(study, out, workers=1, log=io.StringIO())["failed"] == {}
    rows = [r for r in summarize(collect(out)) if r["metric"] == "w1" and r["checkpoint"] == "final"]
    assert [r["seeds"] for r in rows] == [2]  # one experiment over two draws, not a refusal


def test_a_run_scored_as_augmentation_is_refused_before_it_trains(tmp_path):
    outcome = execute_run(str(tmp_path / "r"), "dcgan", ["data=mnist", "data.per_class=10", "eval.augment=1",
                                                        "steps=5"])
    assert outcome["status"] == "failed" and "needs a conditional run" in outcome["error"]
    assert run_state(tmp_path / "r") == "new"  # nothing trained, nothing to resume
    assert (tmp_path / "r" / "error.txt").read_text().startswith("wganlab augment needs a conditional run")
