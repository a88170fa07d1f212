"""Seeds-averaged numbers: the interval math against SciPy, and curves aligned on common steps."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from wganlab.study.aggregate import RunRecord, curve, measured_card, t_interval


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30])
def test_t_interval_matches_scipy(n):
    values = np.random.default_rng(n).normal(40, 5, size=n)
    got = t_interval(values, 0.95)
    low, high = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=stats.sem(values))
    assert got.n == n
    assert got.mean == pytest.approx(values.mean(), rel=1e-12)
    assert got.std == pytest.approx(values.std(ddof=1), rel=1e-12)
    assert (got.low, got.high) == (pytest.approx(low, rel=1e-10), pytest.approx(high, rel=1e-10))
    assert t_interval(values, 0.99).half_width > got.half_width


def test_t_interval_of_one_or_no_values():
    one = t_interval([3.0])
    assert (one.mean, one.n) == (3.0, 1) and math.isnan(one.half_width)
    assert one.text() == "3"
    assert t_interval([]).n == 0 and t_interval([]).text() == "–"
    assert t_interval([1.0, float("nan"), 3.0]).n == 2  # a missing value is left out, not averaged as NaN


def test_text_shows_mean_and_half_width():
    assert t_interval([10.0, 12.0]).text() == f"11 ± {12.71 * 1.0:.2g}"


def test_curves_average_the_steps_every_seed_logged(tmp_path):
    def run(name, records):
        return RunRecord(name, {"seed": name}, "", tmp_path, None, records)

    a = run("0", [{"step": 10, "fid": 5.0, "seconds": 1.0}, {"step": 20, "fid": 3.0, "seconds": 2.0}])
    b = run("1", [{"step": 10, "fid": 7.0, "seconds": 3.0}, {"step": 20, "fid": 5.0, "seconds": 4.0},
                  {"step": 30, "fid": 1.0, "seconds": 5.0}])
    got = curve([a, b], "fid")
    assert got["step"].tolist() == [10, 20]
    assert got["mean"].tolist() == [6.0, 4.0]
    assert got["seconds"].tolist() == [2.0, 3.0]
    half = stats.t.ppf(0.975, 1) * np.std([5.0, 7.0], ddof=1) / math.sqrt(2)
    assert got["high"][0] == pytest.approx(6.0 + half)
    assert curve([a, b], "w1") is None


def test_a_number_read_from_the_log_says_what_it_read_not_the_final_evaluation(tmp_path):
    (tmp_path / "config.yaml").write_text("data: {name: mnist}\neval_samples: 1000\n")
    final = {"features": "mnist", "features_sha256": "95be60eecbed0cf2", "samples": 2000, "reference_samples": 10000}
    runs = [RunRecord("r", {"variant": "v", "data": "mnist", "seed": "0"}, "", tmp_path, {"final": final})]
    assert measured_card(runs, "fid").startswith("mnist features (weights SHA-256 95be60eecbed…), 2,000 generated")
    assert measured_card(runs, "estimate_end_share") == (
        "each run's training log (metrics.jsonl): the critic's estimate on its training batches at every log step")
    assert measured_card(runs, "estimate_fid_change_correlation").endswith(
        "and the in-training evaluations' FID; 1,000 generated against up to 10,000 real, mnist features (weights "
        "SHA-256 95be60eecbed…)")
    assert measured_card(runs, "coverage", at_step=6000).startswith(
        "each run's training log (metrics.jsonl): the in-training evaluation at step 6,000; 1,000 generated")


def test_a_card_written_before_the_resize_rule_named_the_runs_images_reads_like_one_written_after(tmp_path):
    """Results from before 2026-12-06 hold every rule of the MNIST network ('3 channels: stacked digits' on plain
    MNIST); from the run's sample shape the card states the rule its images met, so that an old and a new run of one
    study make one card, not two that look like different evaluations."""
    import json

    from wganlab.study.aggregate import EVERY_MNIST_RULE, evaluation_card

    card = {"features": "mnist", "samples": 2000, "reference_samples": 10000}
    runs = []
    for name, resize, shape in (("old", EVERY_MNIST_RULE, [1, 28, 28]),
                                ("new", "none (28x28 greyscale, as the network reads them)", [1, 28, 28]),
                                ("stacked", EVERY_MNIST_RULE, [3, 28, 28])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps({"sample_shape": shape}))
        runs.append(RunRecord(name, {"variant": "v", "data": "mnist", "seed": "0"}, "", tmp_path / name,
                              {"final": {**card, "resize": resize}}))
    assert evaluation_card(runs[:2]) == ("mnist features, 2,000 generated, against 10,000 real, resize: none (28x28 "
                                         "greyscale, as the network reads them); each run's last checkpoint")
    assert "each of the 3 channels read as one digit of a stack" in evaluation_card(runs[2:])
    (tmp_path / "old" / "run.json").unlink()  # no shape to read: the text as written (a record reads run.json once,
    unread = dataclasses.replace(runs[0])  # so a new one, as collect() makes after the file has gone)
    assert EVERY_MNIST_RULE in evaluation_card([unread])
