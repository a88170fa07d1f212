"""Equal-budget search: dimensions by hand, draws shared across variants, trials at the study's budget, the best
settings re-run on fresh seeds, resumption, a changed space refused, and the report's section."""

from __future__ import annotations

import io
import json
import math
import textwrap

import numpy as np
import pytest

from wganlab.study.layout import StudyChanged
from wganlab.study.report import build_report
from wganlab.study.runner import run_study
from wganlab.study.search import (
    TRIAL_SEED_BASE,
    Dimension,
    SearchError,
    best_after_k,
    default_space,
    draw,
    parse_search,
    uniform_for,
)
from wganlab.study.spec import load_study
from wganlab.study.task import read_result, saved_config

SEARCHED = """
    name: searched
    set: {data: 8gaussians, steps: 20, model.width: 16, model.mlp_depth: 2, batch_size: 32, log_every: 5,
          sample_every: 20, checkpoint_every: 10, eval_every: 10, eval_samples: 64, threads: 1}
    axes:
      variant: [gan, wgan-gp]
    evaluation: {samples: 128}
    search:
      trials: 3
      best: 1
      seeds: [0, 1, 2]
      space:
        gan: {g_optimizer.lr+d_optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}, critic_steps: {choice: [1, 2]}}
        wgan-gp: {g_optimizer.lr+d_optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]},
                  lipschitz.gradient_penalty.weight: {log_uniform: [0.1, 10]}}
"""


def searched(tmp_path, text: str = SEARCHED):
    path = tmp_path / "searched.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_study(path)


def test_dimensions_by_hand():
    assert Dimension(("a",), "log_uniform", (1e-4, 1e-2)).value(0.5) == pytest.approx(1e-3)  # geometric middle
    assert Dimension(("a",), "uniform", (0.0, 4.0)).value(0.25) == pytest.approx(1.0)
    choice = Dimension(("a",), "choice", (1, 2, 5))
    assert [choice.value(u) for u in (0.0, 0.34, 0.67, 0.999)] == [1, 2, 5, 5]


def test_every_variant_draws_a_shared_dimension_alike_and_others_independently():
    shared = Dimension(("g_optimizer.lr", "d_optimizer.lr"), "log_uniform", (1e-5, 1e-2))
    one = {"lr": shared, "steps": Dimension(("critic_steps",), "choice", (1, 2))}
    other = {"lr": shared, "gp": Dimension(("lipschitz.gradient_penalty.weight",), "log_uniform", (0.1, 100))}
    for trial in range(5):
        a, b = draw(one, 0, trial), draw(other, 0, trial)
        assert a["g_optimizer.lr"] == b["g_optimizer.lr"] == a["d_optimizer.lr"]  # the same quantile, tied keys
    assert len({draw(one, 0, t)["g_optimizer.lr"] for t in range(5)}) == 5  # trials differ
    assert draw(one, 1, 0) != draw(one, 0, 0)  # another stream, other draws
    assert uniform_for(0, 3, "lr") == uniform_for(0, 3, "lr") and 0 <= uniform_for(0, 3, "lr") < 1


def test_default_spaces_follow_the_objective():
    from wganlab.config import load_config

    gp = default_space(load_config("wgan-gp", ["data=8gaussians"]))
    assert set(gp) == {"g_optimizer.lr+d_optimizer.lr", "critic_steps", "g_optimizer.betas+d_optimizer.betas",
                       "lipschitz.gradient_penalty.weight"}
    assert gp["critic_steps"].values == (1, 2, 5)
    wc = default_space(load_config("wgan-wc", ["data=8gaussians"]))
    assert "lipschitz.clip" in wc and "g_optimizer.betas+d_optimizer.betas" not in wc  # RMSProp has no betas
    assert default_space(load_config("dcgan", ["data=8gaussians"]))["critic_steps"].values == (1, 2, 5)  # for all


def test_bad_search_sections_are_one_line():
    with pytest.raises(SearchError, match=r"search.seeds \[1000\] are seeds the trials train on"):
        parse_search({"trials": 4, "seeds": [0, 1000]})
    with pytest.raises(SearchError, match="1 <= best <= trials"):
        parse_search({"trials": 2, "best": 3})
    with pytest.raises(SearchError, match="log_uniform needs a positive low bound"):
        parse_search({"space": {"gan": {"critic_steps": {"log_uniform": [0, 1]}}}})
    with pytest.raises(SearchError, match="unknown key 'trails'"):
        parse_search({"trails": 4})


def test_best_after_k_by_hand():
    found = best_after_k([3.0, 1.0, 2.0], lower_is_better=True, resamples=4000)
    assert list(found["k"]) == [1, 2, 3] and found["failed"] == 0
    assert found["median"][0] == 2.0  # one trial drawn from three: the middle value
    # two draws with replacement: P(best = 1) = 1 - (2/3)^2 = 5/9 > 1/2, so the median is 1
    assert found["median"][1] == 1.0 and found["high"][1] == 3.0  # both draws 3 has chance 1/9 > 2.5 %
    # three: P(best = 3) = 1/27 > 2.5 %, so the band still reaches 3: a new 3-trial search may miss the best
    assert found["high"][2] == 3.0 and found["low"][2] == 1.0


def test_failed_trials_count_as_the_worst_outcome():
    found = best_after_k([1.0, None, float("nan"), None], lower_is_better=True, resamples=4000)
    assert found["failed"] == 3
    assert np.isnan(found["median"][0])  # one trial: three chances in four of a failure, no best
    assert found["median"][3] == 1.0  # four draws: P(no success) = (3/4)^4 = 0.32 < 1/2
    assert np.isnan(found["high"][3])  # but the worst 2.5 % of four-trial searches found nothing


def test_trials_run_at_the_budget_then_the_best_on_fresh_seeds_and_the_report_says_so(tmp_path):
    study, out = searched(tmp_path), tmp_path / "out"
    assert [s.name for s in study.runs] == [f"{v}__trial{t:02d}" for v in ("gan", "wgan-gp")
                                            for t in range(3)]
    from wganlab.config import load_config

    lrs = {(s.labels["variant"], s.labels["trial"]): s.config().g_optimizer.lr for s in study.runs}
    assert all(lrs[("gan", t)] == lrs[("wgan-gp", t)] for t in ("01", "02"))  # drawn alike
    assert lrs[("wgan-gp", "00")] == load_config("wgan-gp", ["data=8gaussians"]).g_optimizer.lr  # its own first
    assert all(s.config().steps == 20 and s.config().seed == TRIAL_SEED_BASE + int(s.labels["trial"])
               for s in study.runs)  # every trial at the study's budget, on its own seed
    log = io.StringIO()
    outcome = run_study(study, out, workers=2, log=log)
    assert (outcome["ran"], outcome["failed"], outcome["trials"]) == (12, {}, 6), log.getvalue()
    record = json.loads((out / "search.json").read_text())
    gan = record["experiments"]["gan"]
    values = {v["trial"]: v["value"] for v in gan["values"]}
    best_trial = min(values, key=values.get)
    assert gan["chosen"][0]["trial"] == best_trial and gan["metric"] == "w1"
    for seed in (0, 1, 2):  # the chosen settings, re-run on seeds no trial used
        config = saved_config(out / "runs" / f"gan__seed{seed}")
        assert config["seed"] == seed and seed not in range(TRIAL_SEED_BASE, TRIAL_SEED_BASE + 3)
        trial = saved_config(out / "trials" / "runs" / f"gan__trial{best_trial:02d}")
        assert {k: v for k, v in config.items() if k != "seed"} == {k: v for k, v in trial.items() if k != "seed"}
    report = build_report(out)
    page = report.read_text(encoding="utf-8")
    assert "Search: every variant tuned alike" in page and "best metric after k trials" in page
    assert f"trial {best_trial}: " in page
    _renders_in_chromium(report)
    summary = (out / "summary.md").read_text()
    assert "| gan |" in summary and "| wgan-gp |" in summary and "3/3" in summary

    # resumed: a lost trial and a lost re-run are trained again, nothing else; the choice stays the same
    lost_trial = out / "trials" / "runs" / "wgan-gp__trial01" / "result.json"
    before = read_result(lost_trial.parent)
    lost_trial.unlink()
    (out / "runs" / "gan__seed2" / "result.json").unlink()
    again = run_study(study, out, workers=1, log=io.StringIO())  # one process: 2 runs of 20 steps
    assert (again["ran"], again["skipped"]) == (2, 10)
    assert read_result(lost_trial.parent)["final"] == before["final"]
    assert json.loads((out / "search.json").read_text()) == record

    # a changed space draws other settings: the finished trials are not reused
    changed = searched(tmp_path, SEARCHED.replace("[1.0e-4, 1.0e-2]}, critic_steps", "[1.0e-3, 1.0e-2]}, critic_steps"))
    with pytest.raises(StudyChanged, match=r"gan__trial01' was trained with another config .*"
                                           r"d_optimizer.lr, g_optimizer.lr differ"):
        run_study(changed, out, workers=2, log=io.StringIO())
    assert math.isfinite(record["experiments"]["wgan-gp"]["chosen"][0]["value"])


def test_a_space_for_no_variant_or_over_an_axis_is_refused(tmp_path):
    with pytest.raises(SearchError, match=r"search.space names 'WGAN-GP', which is not a variant of the study "
                                          r"\(gan, wgan-gp\)"):
        searched(tmp_path, SEARCHED.replace("        wgan-gp: {g_optimizer", "        WGAN-GP: {g_optimizer"))
    over_axis = SEARCHED.replace("variant: [gan, wgan-gp]", "variant: [gan, wgan-gp]\n      critic_steps: [1, 5]")
    with pytest.raises(SearchError, match="search dimension 'critic_steps' is also an axis"):
        searched(tmp_path, over_axis)
    with pytest.raises(SearchError, match="distinct seeds >= 0"):
        parse_search({"seeds": [0, 0]})


def test_a_search_has_no_seed_axis(tmp_path):
    text = SEARCHED.replace("variant: [gan, wgan-gp]", "variant: [gan, wgan-gp]\n      seed: [0, 1]")
    with pytest.raises(SearchError, match="a study with a search has no 'seed' axis"):
        searched(tmp_path, text)


def test_best_after_k_is_monotone():
    found = best_after_k(list(np.random.default_rng(0).normal(size=12)), lower_is_better=False)
    assert np.all(np.diff(found["median"]) >= 0) and np.all(found["low"] <= found["high"])  # higher is better


def _renders_in_chromium(report) -> None:
    """The search section's table and curve in a real headless Chromium, beside the rest of the report."""
    from tests.study.test_report_browser import CHROMIUM_FLAGS, chromium_path

    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri(), wait_until="load")
        titles = page.locator("h2").all_inner_texts()
        curve = page.evaluate("""async () => {
            const img = Array.from(document.images).find(i => i.alt === 'best metric after k trials');
            await img.decode(); return [img.naturalWidth, img.getBoundingClientRect().height]; }""")
        headers = page.locator("th").all_inner_texts()
        browser.close()
    assert titles.index("Search: every variant tuned alike") < titles.index("Summary")
    assert curve[0] > 100 and curve[1] > 100, curve
    assert "w1: best / median / worst trial" in headers and "chosen settings" in headers


def test_a_diverged_trial_is_an_outcome_of_the_search_not_a_wait(tmp_path):
    """Trials 1 and 2 draw learning rates that blow up; trial 0 is the preset's own. The search goes on to its
    re-runs with the trial that trained, and the failed trials are said, counted as the worst outcome."""
    text = SEARCHED.replace("[1.0e-4, 1.0e-2]}, critic_steps: {choice: [1, 2]}",
                            "[1.0e+5, 1.0e+6]}, critic_steps: {choice: [1, 2]}").replace("gan, wgan-gp]", "gan]")
    text = text[:text.index("        wgan-gp:")]
    study, out = searched(tmp_path, text), tmp_path / "out"
    outcome = run_study(study, out, workers=1, log=io.StringIO())  # one process: runs of 20 steps
    assert sorted(outcome["failed_trials"]) == ["gan__trial01", "gan__trial02"] and outcome["failed"] == {}
    assert all("became" in error for error in outcome["failed_trials"].values())
    record = json.loads((out / "search.json").read_text())
    assert record["experiments"]["gan"]["chosen"][0]["trial"] == 0
    assert [v["value"] is None for v in record["experiments"]["gan"]["values"]] == [False, True, True]
    assert outcome["runs"] == 3 and all(read_result(out / "runs" / f"gan__seed{s}") for s in (0, 1, 2))
    found = best_after_k([v["value"] for v in record["experiments"]["gan"]["values"]], lower_is_better=True)
    assert found["failed"] == 2
