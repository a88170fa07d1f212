"""docs/reproduction.md's verdicts: decided from study results by the rule each claim names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from wganlab.study.aggregate import RunRecord, StudyResults
from wganlab.study.budgets import our_budget
from wganlab.study.reproduction import judge, load_claims, reproduce, study_directory
from wganlab.study.reproduction_page import BUDGET_CLASSES, build_page
from wganlab.study.spec import load_study
from wganlab.study.verdicts import AGREES, DISAGREES, NOT_REPRODUCED, UNMEASURED, UNSEPARATED, real_floor

AXES = ["variant", "data", "seed"]


def results(values: dict[tuple[str, str], list[float]], metric: str, curve: str = "levelled") -> StudyResults:
    """Finished runs with these final values; each logged ``metric`` every 100 of 900 steps, ``levelled`` (flat
    for the last third, a little noise) or ``improving`` (still getting better by 1 per 100 steps to the end)."""
    runs = []
    lower = metric not in ("modes_covered", "critic_w1_error", "accuracy_x1")
    for (variant, data), seeds in values.items():
        for seed, value in enumerate(seeds):
            labels = {"variant": variant, "data": data, "seed": str(seed)}
            result = {"train_seconds": 30.0, "steps": 900, "final": {metric: value, "modes_total": 8}}
            if curve == "levelled":
                logged = [value + 0.01 * ((step // 100 + seed) % 3 - 1) * abs(value or 1)
                          for step in range(100, 1000, 100)]
            else:
                logged = [value + (1 if lower else -1) * (900 - step) / 100 for step in range(100, 1000, 100)]
            metrics = [{"step": step, metric: v} for step, v in zip(range(100, 1000, 100), logged, strict=True)]
            runs.append(RunRecord(f"{variant}-{data}-{seed}", labels, "", Path("."), result, metrics))
    return StudyResults(Path("."), {"axes": AXES, "evaluation_samples": 500, "name": "t", "scale": "full"}, runs)


BEATS = {"source": "s", "claim": "GP covers more modes than the GAN", "study": "demo",
         "test": {"kind": "beats", "data": "8gaussians", "metric": "modes_covered", "better": "GP", "worse": "GAN"}}


def test_beats_agrees_disagrees_or_cannot_separate():
    clear = results({("GP", "8gaussians"): [8, 8, 7, 8, 8], ("GAN", "8gaussians"): [3, 4, 2, 3, 4]}, "modes_covered")
    row = judge(BEATS, clear, Path("x"))
    assert row.verdict == AGREES and row.seeds == "5" and row.cpu_time == "5.0 min"
    assert "GP 7.8 vs GAN 3.2" in row.measured and "p = 0.0079 (exact permutation test)" in row.measured
    assert "4 of 5 seeds cover all 8 modes (95% exact interval 28–99%)" in row.measured
    reverse = results({("GP", "8gaussians"): [3, 4, 2, 3, 4], ("GAN", "8gaussians"): [8, 8, 7, 8, 8]},
                      "modes_covered")
    assert judge(BEATS, reverse, Path("x")).verdict == DISAGREES
    noisy = results({("GP", "8gaussians"): [8, 2, 7], ("GAN", "8gaussians"): [3, 8, 2]}, "modes_covered")
    assert judge(BEATS, noisy, Path("x")).verdict == UNSEPARATED and judge(BEATS, noisy, Path("x")).why == ""


def test_seeds_that_cannot_separate_runs_still_improving_say_so():
    """Not separable is no verdict on the claim, and more training could still separate the variants: the row says
    which curves were still improving."""
    values = {("GP", "8gaussians"): [8, 2, 7], ("GAN", "8gaussians"): [3, 8, 2]}
    row = judge(BEATS, results(values, "modes_covered", curve="improving"), Path("x"))
    assert row.verdict == UNSEPARATED
    assert row.why.startswith("at our budget (the source states none to compare with), still improving: GP on "
                              "8gaussians: modes covered (≥ 1% of samples each) still improving: rising by 10 per "
                              "1,000 steps over the last third")
    assert row.why.endswith("; trained on, these models could still separate")


def test_a_variant_at_every_modes_total_on_every_seed_is_not_called_still_improving():
    values = {("GP", "8gaussians"): [8, 8, 8, 8, 8], ("GAN", "8gaussians"): [3, 4, 2, 3, 4]}
    row = judge(BEATS, results(values, "modes_covered", curve="improving"), Path("x"))
    assert row.verdict == AGREES
    assert "GAN on 8gaussians: modes covered (≥ 1% of samples each) still improving" in row.why
    assert "GP on 8gaussians" not in row.why  # 8 of 8 on every seed: no room left, whatever its slope
    # 8 of 8 in the last in-training evaluation but 7 in the final one, which the verdict reads: not at its maximum
    short = results({("GP", "8gaussians"): [8, 8, 8, 8, 7], ("GAN", "8gaussians"): [3, 4, 2, 3, 4]},
                    "modes_covered", curve="improving")
    for run in short.runs:
        if run.labels["variant"] == "GP":
            run.metrics[-1]["modes_covered"] = 8
    assert "GP on 8gaussians: modes covered (≥ 1% of samples each) still improving" in \
        judge(BEATS, short, Path("x")).why


def test_an_agreement_from_short_or_still_improving_runs_keeps_its_verdict_and_says_so(tmp_path):
    """Runs that cannot refute a claim (under a tenth of the source's budget, or still improving) can agree with
    it: the verdict stays, and the row says why it could still change."""
    values = {("GP", "8gaussians"): [8, 8, 7, 8, 8], ("GAN", "8gaussians"): [3, 4, 2, 3, 4]}
    settled = judge(BEATS, results(values, "modes_covered"), Path("x"))
    assert settled.verdict == AGREES and settled.why == ""
    rising = judge(BEATS, results(values, "modes_covered", curve="improving"), Path("x"))
    assert rising.verdict == AGREES
    assert rising.why.startswith("at our budget (the source states none to compare with), still improving: "
                                 "GP on 8gaussians: modes covered (≥ 1% of samples each) still improving: rising")
    assert rising.why.endswith("; trained on, these models could still change the verdict")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("data: {name: 8gaussians}\nbatch_size: 256\nsteps: 900\n")
    study = results(values, "modes_covered")
    found = StudyResults(Path("."), study.manifest,
                         [RunRecord(r.name, r.labels, "", run_dir, r.result, r.metrics) for r in study.runs])
    short = {**BEATS, "source_budget": {"text": "100,000 steps × 256", "samples": 25_600_000}}
    assert judge(short, found, Path("x")).why == ("at 0.9 % of the source's budget; trained on, these models could "
                                                  "still change the verdict")
    enough = {**BEATS, "source_budget": {"text": "1,000 steps × 256", "samples": 256_000}}
    assert judge(enough, found, Path("x")).why == ""
    # seeds that cannot separate the variants at under a tenth of the budget say so too (even where no curve
    # shows a trend): trained on, they could still separate
    noisy = {("GP", "8gaussians"): [8, 2, 7], ("GAN", "8gaussians"): [3, 8, 2]}
    unseparated = StudyResults(Path("."), study.manifest, [
        RunRecord(r.name, r.labels, "", run_dir, r.result, r.metrics) for r in results(noisy, "modes_covered").runs])
    row = judge(short, unseparated, Path("x"))
    assert row.verdict == UNSEPARATED
    assert row.why == "at 0.9 % of the source's budget; trained on, these models could still separate"
    assert judge(enough, unseparated, Path("x")).why == ""


def test_a_searched_studys_time_adds_its_trials_of_the_claims_variants():
    reruns = results({("GP", "8gaussians"): [8, 8, 7, 8, 8], ("GAN", "8gaussians"): [3, 4, 2, 3, 4]},
                     "modes_covered")  # 10 re-runs of 30 s
    trials = results({("GP", "8gaussians"): [8] * 16, ("GAN", "8gaussians"): [3] * 16,  # 32 trials of 30 s
                      ("SN", "8gaussians"): [8] * 16, ("GP", "moons"): [8] * 16}, "modes_covered")  # not this claim's
    assert judge(BEATS, reruns, Path("x"), trials).cpu_time == "5.0 min + 16 min of search"
    assert judge(BEATS, reruns, Path("x")).cpu_time == "5.0 min"


def test_beats_against_several_variants_and_on_time_per_step():
    # "WGAN-GP is the slowest per step": slower than each of the others, on a metric that is not one of the
    # ranked quality metrics (seconds_per_step sits at the top of result.json, beside train_seconds).
    claim = {"source": "s", "claim": "GP is the slowest", "study": "demo", "trained": False,  # a cost, not a model
             "test": {"kind": "beats", "data": ["mnist"], "metric": "seconds_per_step", "better": ["GAN", "SN"],
                      "worse": "GP"}}
    per_step = {"GAN": [0.020, 0.021, 0.019], "SN": [0.028, 0.029, 0.027], "GP": [0.080, 0.085, 0.082]}
    runs = [RunRecord(f"{v}-{i}", {"variant": v, "data": "mnist", "seed": str(i)}, "", Path("."),
                      {"train_seconds": 50.0, "seconds_per_step": value, "final": {"fid": 50.0}})
            for v, values in per_step.items() for i, value in enumerate(values)]
    study = StudyResults(Path("."), {"axes": AXES, "evaluation_samples": 500, "name": "t", "scale": "full"}, runs)
    row = judge(claim, study, Path("x"))
    assert row.verdict == AGREES and row.seeds == "3"
    assert row.measured.startswith("mnist ms per generator step: GAN 20 vs GP 82.3, difference ")
    assert "; SN 28 vs GP 82.3, difference " in row.measured
    def with_sn(values):
        per_step["SN"] = values
        return StudyResults(Path("."), study.manifest, [RunRecord(
            r.name, r.labels, "", Path("."),
            {**r.result, "seconds_per_step": per_step[r.labels["variant"]][int(r.labels["seed"])]}) for r in runs])

    assert judge(claim, with_sn([0.120, 0.125, 0.122]), Path("x")).verdict == DISAGREES  # one of the others slower
    # 12 % slower, at p < 0.05 over these seeds, but within the quarter by which a variant's time per step moves
    # between study runs (which other run shares the CPU): no verdict rests on it
    row = judge(claim, with_sn([0.090, 0.095, 0.092]), Path("x"))
    assert row.verdict == UNSEPARATED
    assert "SN 92.3 vs GP 82.3, difference 10 ± 6, p = 0.0082 (Welch, Holm), within" in row.measured
    assert ", within the 25% that study runs move a ratio of two variants' times by" in row.measured


def test_reaches_needs_the_whole_interval_past_the_goal():
    claim = {"source": "s", "claim": "all fit", "study": "toy",
             "test": {"kind": "reaches", "data": ["moons"], "metric": "w1", "variants": ["A", "B"], "at_most": 0.1}}
    good = results({("A", "moons"): [0.05, 0.06, 0.04], ("B", "moons"): [0.07, 0.08, 0.06]}, "w1")
    assert judge(claim, good, Path("x")).verdict == AGREES
    bad = results({("A", "moons"): [0.05, 0.06, 0.04], ("B", "moons"): [0.3, 0.32, 0.31]}, "w1")
    assert judge(claim, bad, Path("x")).verdict == DISAGREES
    straddles = results({("A", "moons"): [0.05, 0.06, 0.04], ("B", "moons"): [0.02, 0.2, 0.09]}, "w1")
    row = judge(claim, straddles, Path("x"))
    assert row.verdict == UNSEPARATED
    # the interval across the goal describes no run: the seeds' own values follow it, for that variant alone
    # (a mean of 0.103 against ≤ 0.1 gets the digits that put it past the goal: "0.1" would read as on it)
    assert "B 0.103 (0 to 0.329) (by seed: 0.02, 0.2, 0.09)" in row.measured, row.measured
    assert row.measured.count("by seed") == 1


def test_unmeasured_and_not_yet_run_rows_say_why(tmp_path):
    unmeasured = {"source": "s", "claim": "c", "study": "x", "test": {"kind": "unmeasured", "reason": "no data"}}
    assert judge(unmeasured, None, tmp_path).why == "no data"
    row = judge(BEATS, None, tmp_path / "demo")
    assert row.verdict == UNMEASURED and f"wganlab study demo --out {tmp_path / 'demo'}" in row.why
    page = build_page([row], "wganlab reproduce")
    assert "**The five source studies**: 1 not measured." in page and "| `demo` |" in page
    assert "- not measured: 1 not measured" in page


def test_a_claim_on_a_scale_reads_and_names_that_scale(tmp_path):
    claim = {**BEATS, "study": "loss-matters", "scale": "fashion"}
    where = study_directory(claim, tmp_path)
    assert where == tmp_path / "loss-matters-fashion"  # where `wganlab study loss-matters --scale fashion` writes
    assert study_directory(BEATS, tmp_path) == tmp_path / "demo-full"
    row = judge(claim, None, where)
    assert f"wganlab study loss-matters --scale fashion --out {where}" in row.why
    assert row.study == "loss-matters --scale fashion"
    for shipped in (c for c in load_claims() if c.get("scale")):  # every scale a claim names exists
        assert load_study(shipped["study"], shipped["scale"]).scale == shipped["scale"]


def test_the_real_floor_is_the_w1_of_two_real_samples():
    floor = real_floor("8gaussians", "w1", 300)
    assert 0 < floor < 0.2
    with pytest.raises(Exception, match="w1 only"):
        real_floor("8gaussians", "fid", 300)


def test_every_shipped_claim_parses_and_names_a_shipped_study(tmp_path):
    from wganlab.study.spec import shipped_studies

    claims = load_claims()
    assert len(claims) >= 10
    assert {c["study"] for c in claims} <= set(shipped_studies())
    out, rows = reproduce(tmp_path / "reproduction.md", tmp_path / "nothing-here")
    assert out.is_file() and len(rows) == len(claims)
    assert all(r.why for r in rows if r.verdict == UNMEASURED)


def test_every_measured_claim_names_variants_and_data_its_study_scale_trains():
    """A misspelt variant or dataset would find no runs and read as "not separable", never as a mistake."""
    from wganlab.study.spec import load_study
    from wganlab.study.verdicts import variant_names

    trained_by: dict[tuple, dict[str, set]] = {}  # each study scale read once
    for claim in load_claims():
        test = claim["test"]
        if test["kind"] == "unmeasured":
            continue
        key = (claim["study"], claim.get("scale"))
        if key not in trained_by:
            runs = load_study(*key).runs
            trained_by[key] = {axis: {r.labels[axis] for r in runs} for axis in ("variant", "data")}
        trained = trained_by[key]
        named = [*test.get("variants", []), *variant_names(test.get("better", [])),
                 *variant_names(test.get("worse", [])), *variant_names(test.get("variant", []))]
        where = f"{claim['study']} --scale {claim.get('scale')}: {claim['claim'][:50]}"
        assert named and set(named) <= trained["variant"], (where, set(named) - trained["variant"])
        datasets = [*variant_names(test.get("data", [])), *[test[k] for k in ("better_on", "worse_on") if k in test]]
        assert datasets and set(datasets) <= trained["data"], (where, set(datasets) - trained["data"])


def test_reaches_all_modes_reads_the_total_from_the_runs():
    claim = {"source": "s", "claim": "every mode", "study": "toy",
             "test": {"kind": "reaches", "data": ["8gaussians"], "metric": "modes_covered", "variants": ["A"],
                      "at_least": "all"}}
    assert judge(claim, results({("A", "8gaussians"): [8, 8, 8]}, "modes_covered"), Path("x")).verdict == AGREES
    row = judge(claim, results({("A", "8gaussians"): [4, 5, 3]}, "modes_covered"), Path("x"))
    assert row.verdict == DISAGREES and "goal all 8" in row.measured
    assert "A: 0 of 3 seeds (95% exact interval 0–71%)" in row.measured
    some = judge(claim, results({("A", "8gaussians"): [8, 8, 3]}, "modes_covered"), Path("x"))
    assert some.verdict == UNSEPARATED and "A: 2 of 3 seeds" in some.measured  # not "7.7 ± 7 of 8"


def test_reaches_follows_the_goals_side_not_the_metrics_direction():
    """'An error of at least 0.2' on a lower-is-better metric: the interval must lie above 0.2 to agree."""
    claim = {"source": "s", "claim": "the critic misses W1", "study": "critic-vs-w1",
             "test": {"kind": "reaches", "data": ["mnist"], "metric": "critic_w1_error", "variants": ["A"],
                      "at_least": 0.2}}
    assert judge(claim, results({("A", "mnist"): [0.9, 0.95, 0.92]}, "critic_w1_error"), Path("x")).verdict == AGREES
    row = judge(claim, results({("A", "mnist"): [0.01, 0.02, 0.015]}, "critic_w1_error"), Path("x"))
    assert row.verdict == DISAGREES and "goal ≥ 0.2" in row.measured


def test_improves_pairs_each_run_with_its_own_baseline():
    claim = {"source": "s", "claim": "generated rows help", "study": "augment",
             "test": {"kind": "improves", "data": ["mnist-100"], "metric": "accuracy_x1",
                      "baseline": "accuracy_real", "variants": ["A"]}}

    claim["converged_by"] = "fid"  # the classifier's gain is judged on generators whose FID had levelled

    def runs(pairs, fid_slope: float = 0.0):
        fids = [{"step": step, "fid": 40.0 + fid_slope * (900 - step) / 100 + (step % 300) / 1000}
                for step in range(100, 1000, 100)]
        records = [RunRecord(f"A-{i}", {"variant": "A", "data": "mnist-100", "seed": str(i)}, "", Path("."),
                             {"train_seconds": 1.0, "final": {"accuracy_x1": a, "accuracy_real": b}},
                             [{**f, "fid": f["fid"] + i / 100} for f in fids])
                   for i, (a, b) in enumerate(pairs)]
        return StudyResults(Path("."), {"axes": AXES, "evaluation_samples": 500, "name": "t", "scale": "full"},
                            records)

    # seeds differ a lot from each other, but each run gains 2-3 points: paired, that is clear
    gains = runs([(0.62, 0.60), (0.83, 0.80), (0.72, 0.70), (0.535, 0.51)])
    row = judge(claim, gains, Path("x"))
    assert row.verdict == AGREES and "paired difference" in row.measured
    assert judge(claim, runs([(0.58, 0.60), (0.78, 0.80), (0.69, 0.70)]), Path("x")).verdict == DISAGREES
    assert judge(claim, runs([(0.61, 0.60), (0.78, 0.80), (0.70, 0.70)]), Path("x")).verdict == UNSEPARATED


def test_improves_tests_each_variant_paired_and_corrects_over_the_claims_variants_with_holm():
    """Paired t-tests, by hand: A's gains 0.01, 0.03, 0.02, 0.03, 0 (mean 0.018, sd 0.0130, t = 3.09 on 4 degrees
    of freedom: p = 0.037) agree alone; with B's (p = 0.033) in the same claim, Holm makes both 2 x 0.033 = 0.066,
    and neither separates."""
    gains = {"A": [0.01, 0.03, 0.02, 0.03, 0.0], "B": [0.015, 0.03, 0.02, 0.025, -0.002]}
    levelled = [{"step": step, "fid": 40.0 + (step % 300) / 1000} for step in range(100, 1000, 100)]
    records = [RunRecord(f"{v}-{i}", {"variant": v, "data": "mnist-100", "seed": str(i)}, "", Path("."),
                         {"train_seconds": 1.0,
                          "final": {"accuracy_x1": 0.6 + i / 10 + gain, "accuracy_real": 0.6 + i / 10}}, levelled)
               for v, values in gains.items() for i, gain in enumerate(values)]
    found = StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records)

    def claim(variants):
        return {"source": "s", "claim": "generated rows help", "study": "augment",
                "test": {"kind": "improves", "data": ["mnist-100"], "metric": "accuracy_x1",
                         "baseline": "accuracy_real", "variants": variants}}

    alone = judge(claim(["A"]), found, Path("x"))
    assert alone.verdict == AGREES and "p = 0.037 (paired t-test)" in alone.measured
    both = judge(claim(["A", "B"]), found, Path("x"))
    assert both.verdict == UNSEPARATED and both.measured.count("p = 0.066 (paired t-test, Holm)") == 2
    assert "[Holm over the claim's 2 variants]" in both.measured



def test_a_row_is_dated_by_its_newest_run_not_by_the_day_it_is_read(tmp_path):
    """Runs measured on 1 and 3 December and read today: the row is of 3 December; runs with no files: today."""
    import os
    from datetime import date, datetime

    from wganlab.study.reproduction import measured_day

    records = []
    for i, day in enumerate((1, 3)):
        run_dir = tmp_path / f"run{i}"
        run_dir.mkdir()
        (run_dir / ("result.json" if i == 0 else "metrics.jsonl")).write_text("{}", encoding="utf-8")
        stamp = datetime(2026, 12, day, 12, 0).timestamp()
        os.utime(next(run_dir.iterdir()), (stamp, stamp))
        records.append(RunRecord(f"r{i}", {"variant": "A", "data": "mnist", "seed": str(i)}, "", run_dir, {}, []))
    assert measured_day(records) == "2026-12-03"
    assert measured_day([RunRecord("r", {}, "", tmp_path / "none", {}, [])]) == date.today().isoformat()


def test_runs_still_improving_cannot_disagree_with_a_claim_about_trained_models():
    claim = {"source": "s", "claim": "generated rows help", "study": "augment", "converged_by": "fid",
             "source_budget": {"text": "10,000 steps at batch 100", "samples": 1_000_000},
             "test": {"kind": "improves", "data": ["mnist-100"], "metric": "accuracy_x1",
                      "baseline": "accuracy_real", "variants": ["A"]}}
    losing = [(0.58, 0.60), (0.78, 0.80), (0.69, 0.70)]
    for label, slope in (("levelled", 0.0), ("improving", 5.0)):
        records = [RunRecord(f"A-{i}", {"variant": "A", "data": "mnist-100", "seed": str(i)}, "", Path("."),
                             {"train_seconds": 1.0, "steps": 900, "final": {"accuracy_x1": a, "accuracy_real": b}},
                             [{"step": step, "fid": 40.0 + slope * (900 - step) / 100 + i + (step % 200) / 100}
                              for step in range(100, 1000, 100)])
                   for i, (a, b) in enumerate(losing)]
        row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
        if label == "levelled":
            assert row.verdict == DISAGREES
            assert row.why.startswith("stopped improving: A on mnist-100: FID getting worse")
        else:
            assert row.verdict == NOT_REPRODUCED
            assert row.why.startswith("at our budget (the source states none to compare with) (still improving): "
                                      "A on mnist-100: FID still improving: falling by 48 per 1,000 steps")
    short = [RunRecord(r.name, r.labels, "", Path("."), r.result, r.metrics[-2:]) for r in records]  # 2 evaluations
    row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, short), Path("x"))
    assert row.verdict == NOT_REPRODUCED and "(convergence not shown)" in row.why


def test_a_threshold_on_the_far_side_of_a_metrics_direction_improves_towards_its_goal():
    """ "At most 0.2" of a higher-is-better share (a label ignored): runs at 0.6 and rising move away from the
    goal, so they refute; the same runs falling towards it are still improving and cannot."""
    claim = {"source": "s", "claim": "the label is ignored", "study": "guide-tricks",
             "source_budget": {"text": "not stated"},
             "test": {"kind": "reaches", "data": ["mnist"], "metric": "class_accuracy", "variants": ["A"],
                      "at_most": 0.2}}
    for slope, verdict, words in ((0.02, DISAGREES, "asked-class accuracy moving away from the goal: rising"),
                                  (-0.02, NOT_REPRODUCED, "asked-class accuracy still moving towards the goal")):
        records = [RunRecord(f"A-{i}", {"variant": "A", "data": "mnist", "seed": str(i)}, "", Path("."),
                             {"train_seconds": 1.0, "steps": 900, "final": {"class_accuracy": 0.6 + i / 100}},
                             [{"step": step, "class_accuracy": 0.5 + slope * step / 100 + i / 100 + (step % 200) / 1e4}
                              for step in range(100, 1000, 100)])
                   for i in range(3)]
        row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
        assert row.verdict == verdict and words in row.why, row.why


def test_a_refutation_needs_only_its_own_runs_converged_and_differences_are_not_clipped():
    """A disagrees on mnist-100 with levelled runs; B there, and both on mnist-10, still improving, are merely
    not separable: the claim is refuted by A's mnist-100 runs whatever the other curves do. A paired difference
    of accuracies may be negative, so it is never clipped to the accuracy's range [0, 1]."""
    claim = {"source": "s", "claim": "generated rows help", "study": "augment", "converged_by": "fid",
             "test": {"kind": "improves", "data": ["mnist-10", "mnist-100"], "metric": "accuracy_x1",
                      "baseline": "accuracy_real", "variants": ["A", "B"]}}
    unseparated = [(0.81, 0.80), (0.79, 0.80), (0.80, 0.80)]
    parts = {("A", "mnist-100"): ([(0.931, 0.940), (0.930, 0.941), (0.933, 0.943)], 0.0),
             ("B", "mnist-100"): (unseparated, 5.0),  # still improving, but it refutes nothing
             ("A", "mnist-10"): (unseparated, 5.0), ("B", "mnist-10"): (unseparated, 5.0)}
    records = [RunRecord(f"{variant}-{data}-{i}", {"variant": variant, "data": data, "seed": str(i)}, "", Path("."),
                         {"train_seconds": 1.0, "steps": 900, "final": {"accuracy_x1": a, "accuracy_real": b}},
                         [{"step": step, "fid": 40.0 + slope * (900 - step) / 100 + i + (step % 200) / 100}
                          for step in range(100, 1000, 100)])
               for (variant, data), (pairs, slope) in parts.items() for i, (a, b) in enumerate(pairs)]
    row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
    assert row.verdict == DISAGREES, row.why
    assert row.why.startswith("stopped improving: A on mnist-100: FID getting worse"), row.why
    assert "mnist-10:" not in row.why and "B on" not in row.why
    assert "paired difference -0.010 ± 0.002" in row.measured, row.measured  # sd 0.001, t(2) = 4.30: ± 0.0025
    # B disagrees on mnist-100 too, while still improving: A's levelled refutation still decides the row
    losing = [(0.58, 0.60), (0.78, 0.80), (0.69, 0.70)]
    records = [r if (r.labels["variant"], r.labels["data"]) != ("B", "mnist-100") else
               RunRecord(r.name, r.labels, "", r.run_dir,
                         {**r.result, "final": dict(zip(("accuracy_x1", "accuracy_real"),
                                                        losing[int(r.labels["seed"])], strict=True))}, r.metrics)
               for r in records]
    row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
    assert row.verdict == DISAGREES and row.why.startswith("stopped improving: A on mnist-100")
    assert "B on" not in row.why
    alone = [r for r in records if r.labels["variant"] == "B"]  # B's refutation alone is still improving
    row = judge({**claim, "test": {**claim["test"], "variants": ["B"]}},
                StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, alone), Path("x"))
    assert row.verdict == NOT_REPRODUCED and "B on mnist-100: FID still improving" in row.why


def test_a_pair_refutes_on_its_own_two_variants_curves_not_on_a_third_variant_still_improving():
    """"Each WGAN fits better than the GAN": WC vs GAN separates the wrong way with both levelled, SN (not
    separated from the GAN) is still improving. The refutation rests on WC and the GAN alone, so it stands; the
    reason names their curves, not SN's. With the GAN's own curve still improving, it does not."""
    claim = {"source": "s", "claim": "each WGAN fits better", "study": "equal-budget",
             "test": {"kind": "beats", "data": ["moons"], "metric": "w1", "better": ["WC", "SN"], "worse": "GAN"}}
    wrong_way = {("WC", "moons"): [0.30, 0.28, 0.31, 0.29, 0.30], ("GAN", "moons"): [0.15, 0.16, 0.14, 0.15, 0.16]}
    open_sn = {("SN", "moons"): [0.10, 0.30, 0.15, 0.25, 0.14]}
    records = results(wrong_way, "w1").runs + results(open_sn, "w1", curve="improving").runs
    row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
    assert row.verdict == DISAGREES, (row.measured, row.why)
    assert row.why.startswith("stopped improving: WC on moons: W1") and "GAN on moons" in row.why
    assert "SN" not in row.why
    records = results({("WC", "moons"): wrong_way[("WC", "moons")]}, "w1").runs + \
        results({("GAN", "moons"): wrong_way[("GAN", "moons")], **open_sn}, "w1", curve="improving").runs
    row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
    assert row.verdict == NOT_REPRODUCED and "GAN on moons: W1 to real points still improving" in row.why
    assert "SN on" not in row.why


def test_a_levelled_curve_whose_interval_could_still_reach_the_goal_cannot_refute_a_threshold(tmp_path):
    """"Covers all 8 modes": 4-5 modes after 900 steps, no trend beyond noise, but the slopes (+10, -10, +12, -8,
    +6 modes per 1,000 steps over the last third) give a 95% interval of about -9.9 to +13.9: at its upper end 900
    more steps add 12.5 modes. That is not a level shown to stay; with tight curves (the helper's levelled ones)
    the same values refute the claim."""
    claim = {"source": "s", "claim": "covers every mode", "study": "toy-long",
             "test": {"kind": "reaches", "data": ["8gaussians"], "metric": "modes_covered", "variants": ["A"],
                      "at_least": "all"}}
    finals, slopes = [4, 5, 5, 4, 5], [10, -10, 12, -8, 6]
    records = [RunRecord(f"A-{i}", {"variant": "A", "data": "8gaussians", "seed": str(i)}, "", Path("."),
                         {"train_seconds": 1.0, "steps": 900, "final": {"modes_covered": final, "modes_total": 8}},
                         [{"step": step, "modes_covered": final + slope * (step - 900) / 1000}
                          for step in range(100, 1000, 100)])
               for i, (final, slope) in enumerate(zip(finals, slopes, strict=True))]
    row = judge(claim, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
    assert row.verdict == NOT_REPRODUCED, row.why
    assert row.why.startswith("at our budget (the source states none to compare with) (levelled short of the goal, "
                              "within reach): A on 8gaussians: modes covered (≥ 1% of samples each) levelled"), row.why
    assert "kept up for 900 more steps, would take its best seed's 5 to the goal (all 8)" in row.why
    tight = results({("A", "8gaussians"): finals}, "modes_covered")
    assert judge(claim, tight, Path("x")).verdict == DISAGREES
    # at the source's own budget the runs trained as long as the source's: the same curves refute it
    (tmp_path / "config.yaml").write_text("data: {name: 8gaussians}\nbatch_size: 256\n")
    for record in records:
        record.run_dir = tmp_path
    at_the_budget = {**claim, "source_budget": {"text": "900 steps × 256", "samples": 900 * 256}}
    row = judge(at_the_budget, StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records),
                Path("x"))
    assert row.verdict == DISAGREES and row.why.startswith("stopped improving: A on 8gaussians"), row.why


def test_a_lower_is_better_goal_is_extrapolated_to_the_source_budget_from_the_intervals_lower_end(tmp_path):
    """W1 at most 0.1: 0.19-0.21 after 900 steps (interval about 0.191 to 0.209), slopes -0.10, +0.10, -0.12,
    +0.08, -0.06 per 1,000 steps (interval about -0.14 to +0.10). At half the source's budget 900 more steps
    could take the interval's lower end to 0.191 - 0.13 = 0.06: not a refutation. At 90 % of it, 100 more steps
    reach only about 0.18: a refutation."""
    (tmp_path / "config.yaml").write_text("data: {name: moons}\nbatch_size: 256\n")
    finals, slopes = [0.2, 0.21, 0.19, 0.2, 0.2], [-0.10, 0.10, -0.12, 0.08, -0.06]
    records = [RunRecord(f"A-{i}", {"variant": "A", "data": "moons", "seed": str(i)}, "", tmp_path,
                         {"train_seconds": 1.0, "steps": 900, "final": {"w1": final}},
                         [{"step": step, "w1": final + slope * (step - 900) / 1000} for step in range(100, 1000, 100)])
               for i, (final, slope) in enumerate(zip(finals, slopes, strict=True))]
    study = StudyResults(Path("."), {"axes": AXES, "name": "t", "scale": "full"}, records)
    test = {"kind": "reaches", "data": ["moons"], "metric": "w1", "variants": ["A"], "at_most": 0.1}
    half = {"source": "s", "claim": "fits", "study": "toy", "test": test,
            "source_budget": {"text": "1,800 steps × 256", "samples": 1800 * 256}}
    row = judge(half, study, Path("x"))
    assert row.verdict == NOT_REPRODUCED, row.why
    assert "kept up for 900 more steps (to the source budget), would take its interval's lower end 0.191" in row.why
    nearly = {**half, "source_budget": {"text": "1,000 steps × 256", "samples": 1000 * 256}}
    row = judge(nearly, study, Path("x"))
    assert row.verdict == DISAGREES and row.why.startswith("stopped improving: A on moons"), row.why


def test_a_curve_levelled_by_a_learning_rate_decayed_to_zero_shows_no_convergence(tmp_path):
    """With no source budget to compare with, runs whose rate decays linearly to 0 at their last step level by
    construction: such a row cannot disagree. The same runs at a constant rate can."""
    from wganlab.config import load_config, save_config

    claim = {"source": "s", "claim": "each fits the moons", "study": "toy-claims", "converged_by": "w1",
             "test": {"kind": "reaches", "data": ["moons"], "metric": "w1", "variants": ["A"], "at_most": 0.05}}
    verdicts = {}
    for schedule in ("linear", "constant"):
        records = []
        for i, w1 in enumerate((0.13, 0.12, 0.14)):
            run_dir = tmp_path / schedule / f"A-{i}"
            run_dir.mkdir(parents=True)
            save_config(load_config("wgan-wc", ["data=moons", f"lr_schedule={schedule}"]), run_dir / "config.yaml")
            records.append(RunRecord(f"A-{i}", {"variant": "A", "data": "moons", "seed": str(i)}, "", run_dir,
                                     {"train_seconds": 1.0, "steps": 900, "final": {"w1": w1}},
                                     [{"step": step, "w1": w1 + (step % 200) / 1e4} for step in range(100, 1000, 100)]))
        row = judge(claim, StudyResults(tmp_path, {"axes": AXES, "name": "t", "scale": "full"}, records), Path("x"))
        verdicts[schedule] = row.verdict, row.why
    assert verdicts["linear"][0] == NOT_REPRODUCED and "decays linearly to 0" in verdicts["linear"][1]
    assert verdicts["constant"][0] == DISAGREES


def test_every_row_states_both_budgets_and_their_ratio(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("data: {name: 8gaussians}\nbatch_size: 256\nsteps: 1000\n")
    claim = {**BEATS, "source_budget": {"text": "100,000 steps × 256 (their code)", "samples": 25_600_000}}
    study = results({("GP", "8gaussians"): [8, 8, 8], ("GAN", "8gaussians"): [3, 4, 2]}, "modes_covered")
    runs = [RunRecord(r.name, r.labels, "", run_dir, {**r.result, "steps": 1000}, r.metrics) for r in study.runs]
    row = judge(claim, StudyResults(Path("."), study.manifest, runs), Path("x"))
    assert row.budget == "ours: 1,000 steps × 256, 3 seeds; source: 100,000 steps × 256 (their code) (1 % of it)"
    assert row.budget_class == "under 10 % of it"
    unmeasured = judge({**claim, "test": {"kind": "unmeasured", "reason": "r"}}, None, Path("x"))
    assert unmeasured.budget == "source: 100,000 steps × 256 (their code)" and unmeasured.budget_class == "not measured"


def test_variants_trained_for_different_lengths_each_state_their_own(tmp_path):
    """Loss-matters' fashion scale: each variant trains its own number of steps for about the same CPU time.
    The row lists each (not their median, which no run trained), and the ratio is of the longest."""
    (tmp_path / "config.yaml").write_text("data: {name: fashion-mnist}\nbatch_size: 32\n")
    claim = {**BEATS, "source_budget": {"text": "40,000 steps × 64", "samples": 2_560_000},
             "test": {**BEATS["test"], "data": "fashion-mnist", "metric": "fid", "better": "GP", "worse": ["DC", "W"]}}
    steps = {"DC": 1200, "W": 500, "GP": 400}
    study = results({(v, "fashion-mnist"): [80.0, 82.0, 81.0] for v in steps}, "fid")
    runs = [RunRecord(r.name, r.labels, "", tmp_path, {**r.result, "steps": steps[r.labels["variant"]]}, r.metrics)
            for r in study.runs]
    row = judge(claim, StudyResults(Path("."), study.manifest, runs), Path("x"))
    assert row.budget == ("ours: 1,200 steps × 32 (DC), 500 × 32 (W), 400 × 32 (GP), 3 seeds; source: 40,000 steps "
                          "× 64 (up to 2 % of it)")
    by_data = [RunRecord(r.name, {**r.labels, "data": d}, "", tmp_path, {**r.result, "steps": n}, r.metrics)
               for r in study.runs if r.labels["variant"] == "GP" for d, n in (("mnist", 3000), ("digits", 1000))]
    assert our_budget(claim, by_data).text() == "3,000 steps × 32 (mnist), 1,000 × 32 (digits), 3 seeds"
    # critic-vs-w1's quick scale: every variant 1,000 steps on the toy, each its own on MNIST
    lengths = {("toy", "W"): 1000, ("toy", "GP"): 1000, ("mnist", "W"): 500, ("mnist", "GP"): 400}
    mixed = [RunRecord(r.name, {**r.labels, "data": d}, "", tmp_path, {**r.result, "steps": lengths[d, v]}, r.metrics)
             for r in study.runs for (d, v) in lengths if v == r.labels["variant"]]
    assert our_budget(claim, mixed).text() == ("1,000 steps × 32 (toy), 500 × 32 (W on mnist), 400 × 32 (GP on mnist), "
                                               "3 seeds")


def test_a_row_whose_study_is_absent_is_kept_from_the_page_it_rewrites(tmp_path):
    import json
    from dataclasses import asdict

    import yaml

    claims = tmp_path / "claims.yaml"
    claims.write_text(yaml.safe_dump({"claims": [BEATS]}), encoding="utf-8")
    measured = judge(BEATS, results({("GP", "8gaussians"): [8, 8, 7], ("GAN", "8gaussians"): [3, 4, 2]},
                                    "modes_covered"), Path("x"))
    measured.measured_on = "2026-11-30"
    page = tmp_path / "reproduction.md"
    page.write_text(build_page([measured], "wganlab reproduce"), encoding="utf-8")
    _, rows = reproduce(page, tmp_path / "no-studies", claims)  # this checkout has no study outputs
    assert rows == [measured]
    assert "| 2026-11-30 |" in page.read_text(encoding="utf-8")
    # the record says, to whoever reads the file, why the claims not measured are not in it
    assert ("<!-- wganlab reproduce rows (the measured rows, kept for a later rewrite; a not-measured row is rebuilt "
            "from src/wganlab/study/claims.yaml each time)\n[") in page.read_text(encoding="utf-8")
    # the settings that differ, stated later, are shown on the row measured before: they are not the claim
    claims.write_text(yaml.safe_dump({"claims": [{**BEATS, "differences": "batch 64 (the source: 128)"}]}),
                      encoding="utf-8")
    _, rows = reproduce(page, tmp_path / "no-studies", claims)
    assert rows[0].measured_on == "2026-11-30" and rows[0].differences == "batch 64 (the source: 128)"
    assert f"| {BEATS['claim']} Differences: batch 64 (the source: 128) |" in page.read_text(encoding="utf-8")
    # so is a corrected reading of the source's budget (ours was measured and stays); a kept text that holds a
    # ratio, measured with the source's sample count, is kept whole
    assert rows[0].budget == "ours: 900 steps, 3 seeds; source: not stated", rows[0].budget
    read_again = {**BEATS, "differences": "batch 64 (the source: 128)", "source_budget": {"text": "batch 64, Fig. 3"}}
    claims.write_text(yaml.safe_dump({"claims": [read_again]}), encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1][0].budget == \
        "ours: 900 steps, 3 seeds; source: batch 64, Fig. 3"
    counted = {**read_again, "source_budget": {"text": "1,000 steps", "samples": 1000}}
    claims.write_text(yaml.safe_dump({"claims": [counted]}), encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1][0].budget.endswith("source: 1,000 steps")
    with_ratio = replace(measured, budget="ours: 900 steps, 3 seeds; source: 1,000 steps (90 % of it)")
    page.write_text(build_page([with_ratio], "wganlab reproduce"), encoding="utf-8")
    claims.write_text(yaml.safe_dump({"claims": [{**counted, "source_budget": {"text": "2,000 steps"}}]}),
                      encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1][0].budget == with_ratio.budget
    # an agreement kept from a page written before rows said that their runs had under a tenth of the source's
    # budget says it now, with the share its budget text holds
    short = replace(measured, budget="ours: 900 steps, 3 seeds; source: 100,000 steps (0.9 % of it)",
                    budget_class=BUDGET_CLASSES[2], verdict=AGREES, why="")
    page.write_text(build_page([short], "wganlab reproduce"), encoding="utf-8")
    claims.write_text(yaml.safe_dump({"claims": [{**BEATS, "source_budget": {"samples": 10 ** 7}}]}), encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1][0].why == \
        "at 0.9 % of the source's budget; trained on, these models could still change the verdict"
    untrained = {**BEATS, "trained": False, "source_budget": {"samples": 10 ** 7}}  # a cost: no models to train on
    page.write_text(build_page([short], "wganlab reproduce"), encoding="utf-8")
    claims.write_text(yaml.safe_dump({"claims": [untrained]}), encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1][0].why == ""
    claims.write_text(yaml.safe_dump({"claims": [{**BEATS, "claim": "reworded"}]}), encoding="utf-8")
    _, rows = reproduce(page, tmp_path / "no-studies", claims)  # a claim that changed is not the one measured
    assert rows[0].verdict == UNMEASURED and "not run yet" in rows[0].why and "| – |" in page.read_text()
    record = {k: v for k, v in asdict(measured).items() if k not in ("figure", "table")}  # a page from before them
    claims.write_text(yaml.safe_dump({"claims": [BEATS]}), encoding="utf-8")
    page.write_text(f"<!-- wganlab reproduce rows\n{json.dumps([record])}\n-->\n", encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1] == [measured]
    page.write_text("<!-- wganlab reproduce rows\n[not json\n-->\n", encoding="utf-8")
    assert reproduce(page, tmp_path / "no-studies", claims)[1][0].verdict == UNMEASURED


def test_a_claims_figure_is_drawn_beside_the_page_and_linked_from_its_row(tmp_path, monkeypatch):
    import yaml

    from wganlab.study.runner import MANIFEST_FILE

    claim = {**BEATS, "figure": "augment", "test": {"kind": "improves", "data": "mnist", "metric": "accuracy_x1",
                                                    "baseline": "accuracy_real", "variants": ["GP"]}}
    claims = tmp_path / "claims.yaml"
    claims.write_text(yaml.safe_dump({"claims": [claim]}), encoding="utf-8")
    where = tmp_path / "studies" / "demo-full"
    (where / "runs").mkdir(parents=True)
    (where / MANIFEST_FILE).write_text("{}")
    found = StudyResults(where, {"axes": AXES, "name": "demo", "scale": "full"},
                         [RunRecord(f"GP-{s}", {"variant": "GP", "data": "mnist", "seed": str(s)}, "", where,
                                    {"train_seconds": 1.0, "final": {"accuracy_real": 0.8, "accuracy_generated": 0.7,
                                                                     "accuracy_x1": 0.85 + s / 100}})
                          for s in range(3)])
    monkeypatch.setattr("wganlab.study.reproduction.collect", lambda path: found)
    page = tmp_path / "docs" / "reproduction.md"
    _, rows = reproduce(page, tmp_path / "studies", claims)
    assert rows[0].verdict == AGREES and rows[0].figure == "images/demo-full.augment.png"
    assert (page.parent / rows[0].figure).read_bytes().startswith(b"\x89PNG")
    text = page.read_text(encoding="utf-8")
    assert "([figure](images/demo-full.augment.png))" in text and "![demo](images/demo-full.augment.png)" in text
    # and under it the numbers it draws: accuracy in % by training set, over the seeds
    row = next(line for line in text.splitlines() if line.startswith("| mnist | GP |"))
    assert row.split(" | ")[2:6] == ["3", "80", "70", "–"]  # seeds, real only, GAN-train, no 0.5x measured
    assert "86 ± 2" in row  # 85, 86, 87: 86 ± t(0.975, 2) x 1 / sqrt(3) = 2.48


def test_alike_reads_unfinished_runs_logged_evaluations_and_never_agrees(tmp_path):
    """'The models converge equally fast': the logged FID at each listed step, every pair compared (Holm over the
    pairs of a step); a separated pair disagrees, nothing separated is 'not separable', never 'agrees'. A seed
    of a stack counts its share of the stack's time."""
    claim = {"source": "s", "claim": "alike early", "study": "dtu-comparison", "trained": False,
             "test": {"kind": "alike", "data": ["mnist"], "metric": "fid", "steps": [100, 200],
                      "variants": ["A", "B"]}}

    def study(fids_b_at_200: list[float]) -> StudyResults:
        runs = []
        for variant, early, late in (("A", [50, 52, 51, 49, 50], [20, 21, 19, 20, 22]),
                                     ("B", [51, 50, 52, 50, 49], fids_b_at_200)):
            for seed, (first, second) in enumerate(zip(early, late, strict=True)):
                run_dir = tmp_path / f"{variant}{seed}"
                run_dir.mkdir(exist_ok=True)
                (run_dir / "run.json").write_text('{"stacked_seeds": 5}')
                metrics = [{"step": 100, "fid": first, "seconds": 30.0}, {"step": 150, "seconds": 45.0},
                           {"step": 200, "fid": second, "seconds": 60.0}]
                runs.append(RunRecord(f"{variant}{seed}", {"variant": variant, "data": "mnist", "seed": str(seed)},
                                      "", run_dir, None, metrics))  # unfinished: no result.json
        return StudyResults(tmp_path, {"axes": AXES, "evaluation_samples": 500, "name": "t", "scale": "gpu"}, runs)

    apart = judge(claim, study([90, 95, 88, 92, 91]), tmp_path)
    assert apart.verdict == DISAGREES and apart.seeds == "5"
    assert "At step 100 (5 seeds)" in apart.measured and "0 of 1 pairs separate" in apart.measured
    assert "At step 200 (5 seeds)" in apart.measured and "1 of 1 pairs separate (Holm): A vs B" in apart.measured
    assert apart.cpu_time == "2.0 min"  # 10 runs x 60 s of a stack of 5: 120 s
    together = judge(claim, study([20, 22, 19, 21, 20]), tmp_path)
    assert together.verdict == UNSEPARATED


def test_levelled_runs_at_under_a_tenth_of_the_source_budget_cannot_refute(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("data: {name: 8gaussians}\nbatch_size: 256\nsteps: 900\n")
    study = results({("GP", "8gaussians"): [3, 4, 2, 3, 4], ("GAN", "8gaussians"): [8, 8, 7, 8, 8]},
                    "modes_covered")
    runs = [RunRecord(r.name, r.labels, "", run_dir, r.result, r.metrics) for r in study.runs]
    found = StudyResults(Path("."), study.manifest, runs)
    small = {**BEATS, "source_budget": {"text": "100,000 steps × 256", "samples": 25_600_000}}
    row = judge(small, found, Path("x"))
    assert row.verdict == NOT_REPRODUCED and row.why.startswith("at 0.9 % of the source's budget (the curves "
                                                                "levelled, but at under a tenth")
    enough = {**BEATS, "source_budget": {"text": "1,000 steps × 256", "samples": 256_000}}
    assert judge(enough, found, Path("x")).verdict == DISAGREES


def test_beats_at_a_step_reads_the_logged_evaluations_of_unfinished_runs(tmp_path):
    claim = {"source": "s", "claim": "SN worse early", "study": "dtu-comparison",
             "source_budget": {"text": "50 epochs", "samples": 100_000},
             "test": {"kind": "beats", "data": ["mnist"], "metric": "fid", "at_step": 200, "better": "A",
                      "worse": "B"}}
    runs = []
    for variant, at_200 in (("A", [50, 52, 51, 49, 50]), ("B", [90, 95, 88, 92, 91])):
        for seed, value in enumerate(at_200):
            metrics = [{"step": 100, "fid": value + 100}, {"step": 150, "fid": value + 40},
                       {"step": 200, "fid": value}, {"step": 300, "fid": value - 30}]
            runs.append(RunRecord(f"{variant}{seed}", {"variant": variant, "data": "mnist", "seed": str(seed)}, "",
                                  tmp_path, None, metrics))  # unfinished
    study = StudyResults(tmp_path, {"axes": AXES, "evaluation_samples": 500, "name": "t", "scale": "gpu"}, runs)
    row = judge(claim, study, tmp_path)
    assert row.verdict == AGREES and row.measured.startswith("mnist FID at step 200 (in-training evaluation): A 50.4 "
                                                             "vs B 91.2")
    # the numbers are the logged evaluations', so the row's card names the log, not a checkpoint's evaluation
    (tmp_path / "config.yaml").write_text("data: {name: mnist}\neval_samples: 500\n")
    assert judge(claim, study, tmp_path).measured.endswith(
        "[evaluation: each run's training log (metrics.jsonl): the in-training evaluation at step 200; 500 "
        "generated against up to 10,000 real]")
    claim["test"] = {**claim["test"], "better": "B", "worse": "A"}  # the reverse, while both still improve
    row = judge(claim, study, tmp_path)
    assert row.verdict == NOT_REPRODUCED and "(still improving)" in row.why


def test_time_per_critic_update_charges_each_objective_its_own_loop():
    from wganlab.study.aggregate import seconds_per_critic_step

    gan = RunRecord("g", {}, "", Path("."), {"train_seconds": 60.0, "steps": 1000},
                    [{"step": 500, "critic_updates": 500}, {"step": 1000, "critic_updates": 1000}])
    wgan = RunRecord("w", {}, "", Path("."), {"train_seconds": 150.0, "steps": 1000},
                     [{"step": 990, "critic_updates": 4950}])  # 5 per generator step, last logged before the end
    assert seconds_per_critic_step(gan) == pytest.approx(0.06)
    assert seconds_per_critic_step(wgan) == pytest.approx(150.0 / 5000)  # slower per generator step, not per update
    assert seconds_per_critic_step(RunRecord("x", {}, "", Path("."), {"train_seconds": 1.0, "steps": 5})) is None


def test_a_claims_file_that_is_not_yaml_is_one_line(tmp_path):
    from wganlab.errors import WganlabError

    bad = tmp_path / "claims.yaml"
    bad.write_text("studies:\n  - where: §5.6 Training (its basis: §5.4)\n", encoding="utf-8")
    with pytest.raises(WganlabError, match=r"is not valid YAML \(mapping values are not allowed here at line 2\)"):
        load_claims(bad)


def test_the_shipped_claims_quote_at_most_40_words_and_the_studies_rows_say_where():
    for claim in load_claims():
        if claim["section"] == "studies":
            assert claim.get("quote") and claim.get("where"), claim["claim"][:60]
            assert len(str(claim["quote"]).split()) <= 40, claim["where"]
            assert claim.get("source_budget", {}).get("text"), claim["where"]


def test_worse_on_compares_one_variant_across_two_datasets_over_their_floors():
    claim = {"source": "s", "claim": "moons are harder", "study": "toy-claims", "trained": False,
             "test": {"kind": "worse_on", "variant": "GAN", "metric": "w1", "better_on": "scurve",
                      "worse_on": "moons"}}
    study = results({("GAN", "scurve"): [0.05, 0.06, 0.055, 0.05, 0.06], ("GAN", "moons"): [0.2, 0.25, 0.22,
                                                                                             0.21, 0.24]}, "w1")
    row = judge(claim, study, Path("x"))
    assert row.verdict == AGREES and row.seeds == "5"
    assert row.measured.startswith("GAN's W1 to real points as a multiple of two real samples' (the sampling "
                                   "floor): scurve ")
    assert "; difference (moons − scurve) " in row.measured  # which way round the difference is taken
    reverse = {**claim, "test": {**claim["test"], "better_on": "moons", "worse_on": "scurve"}}
    assert judge(reverse, study, Path("x")).verdict == DISAGREES


def test_a_misspelt_key_in_a_claims_file_is_refused_with_the_right_one(tmp_path):
    import yaml

    from wganlab.errors import WganlabError

    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump({"studies": [{**BEATS, "diferences": "batch 64"}]}), encoding="utf-8")
    with pytest.raises(WganlabError, match=r"the claim from 's' has an unknown key 'diferences'; did you mean "
                                           r"'differences'\?"):
        load_claims(bad)
    bad.write_text("other:\n  - just a sentence\n", encoding="utf-8")
    with pytest.raises(WganlabError, match="every claim must be a mapping"):
        load_claims(bad)
    bad.write_text(yaml.safe_dump({"studes": [BEATS], "other": [BEATS]}), encoding="utf-8")
    with pytest.raises(WganlabError, match="has an unknown section 'studes:'"):
        load_claims(bad)
