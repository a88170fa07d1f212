"""The study figures that answer a question on one set of axes: critic against exact W1, accuracy against ratio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from wganlab.study.aggregate import RunRecord, StudyResults
from wganlab.study.convergence import curve_points
from wganlab.study.figures import augmentation_figure, critic_vs_w1_figure, seed_curves_figure

PNG = b"\x89PNG"


def study(runs: list[RunRecord]) -> StudyResults:
    return StudyResults(Path("."), {"axes": ["variant", "data", "seed"], "name": "t", "scale": "full"}, runs)


def record(variant: str, seed: int, metrics: list[dict] | None = None, final: dict | None = None) -> RunRecord:
    labels = {"variant": variant, "data": "mnist", "seed": str(seed)}
    return RunRecord(f"{variant}-{seed}", labels, "", Path("."), {"final": final or {}}, metrics or [])


def test_critic_vs_w1_needs_both_curves():
    logged = [{"step": s, "w1_batch": 10.0 - s / 100, "critic_estimate": s / 1000, "seconds": s} for s in (100, 200)]
    assert critic_vs_w1_figure(study([record("GP", i, logged) for i in range(3)])).startswith(PNG)
    only_exact = [{k: v for k, v in r.items() if k != "critic_estimate"} for r in logged]
    assert critic_vs_w1_figure(study([record("GP", 0, only_exact)])) is None


def test_seed_curves_draw_each_run_where_the_seeds_split():
    """Two seeds that learn the label and one that never does: each run's own curve, in step order."""
    learns = [{"step": s, "class_accuracy": a} for s, a in ((400, 0.5), (200, 0.1), (600, 0.9))]
    ignores = [{"step": s, "class_accuracy": 0.1} for s in (200, 400, 600)] + [{"step": 700, "fid": 30.0}]
    runs = [record("concat", 0, learns), record("concat", 1, learns), record("concat", 2, ignores)]
    assert curve_points(runs[0].metrics, "class_accuracy") == [(200, 0.1), (400, 0.5), (600, 0.9)]
    assert curve_points(runs[2].metrics, "class_accuracy") == [(200, 0.1), (400, 0.1), (600, 0.1)]
    assert seed_curves_figure(study(runs), "class_accuracy").startswith(PNG)
    assert seed_curves_figure(study(runs), "w1") is None


def test_every_claim_figure_kind_draws_from_the_runs_that_log_it():
    """The page's figure kinds that draw in-training curves: the replay claim's coverage (eval.prdc) per seed."""
    from wganlab.study.reproduction_page import FIGURE_CAPTIONS, FIGURES

    assert set(FIGURE_CAPTIONS) == set(FIGURES)
    logged = [{"step": s, "coverage": c} for s, c in ((500, 0.07), (1000, 0.12), (1500, 0.2))]
    assert FIGURES["coverage"](study([record("replay", i, logged) for i in range(2)])).startswith(PNG)
    assert FIGURES["coverage"](study([record("replay", 0, [{"step": 500, "fid": 90.0}])])) is None


def test_augmentation_figure_reads_each_runs_accuracies():
    final = {"accuracy_real": 0.9, "accuracy_generated": 0.8, "accuracy_x1": 0.91, "accuracy_x4": 0.92}
    assert augmentation_figure(study([record("cGAN", i, final=final) for i in range(3)])).startswith(PNG)
    assert augmentation_figure(study([record("cGAN", 0, final={"fid": 3.0})])) is None


def test_a_search_whose_trials_span_decades_is_drawn_on_a_log_axis(tmp_path, monkeypatch):
    """FIDs of 50 for the trials that trained and 3,000 for those that did not: on a linear axis the variants that
    trained are one flat line at the bottom. The figure goes on the reproduction page for a searched study's row."""
    import matplotlib.axes

    from wganlab.study.figures import _wants_log_axis
    from wganlab.study.reproduction_page import FIGURES

    assert _wants_log_axis(np.array([50.0, 3000.0, np.nan])) and not _wants_log_axis(np.array([50.0, 900.0]))
    assert not _wants_log_axis(np.array([-1.0, 100.0])) and not _wants_log_axis(np.array([np.nan]))
    scales = []
    monkeypatch.setattr(matplotlib.axes.Axes, "set_yscale", lambda ax, value, **kw: scales.append(value))
    experiments = {f"{v}__mnist": {"labels": {"variant": v, "data": "mnist"}, "metric": "fid", "lower_is_better": True,
                                   "values": [{"trial": t, "value": value} for t, value in enumerate(values)]}
                   for v, values in (("gan", [300, 3000, 50, None]), ("wgan-gp", [800, 120, 2500, 110]))}
    (tmp_path / "search.json").write_text(json.dumps({"experiments": experiments}), encoding="utf-8")
    assert FIGURES["search"](StudyResults(tmp_path, {"axes": ["variant", "data"]}, [])).startswith(PNG)
    assert scales == ["log"]
    assert FIGURES["search"](StudyResults(tmp_path / "elsewhere", {"axes": ["variant", "data"]}, [])) is None
