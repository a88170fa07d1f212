"""Study files expand into the cross product of their axes, with settings applied in a documented order."""

from __future__ import annotations

import textwrap

import pytest

from wganlab.study.spec import StudyError, load_study, shipped_studies


def write(tmp_path, text: str):
    path = tmp_path / "study.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


GRID = """
    name: grid
    set: {steps: 100, log_every: 5}
    axes:
      variant: [gan, {name: gp-lambda1, preset: wgan-gp, set: {lipschitz.gradient_penalty.weight: 1}}]
      data: [8gaussians, mnist]
      seed: [0, 1, 2]
    when:
      - match: {data: mnist}
        set: {steps: 20}
    scales:
      quick:
        axes: {seed: [7]}
        set: {log_every: 2}
"""


def test_grid_expansion_is_the_cross_product_in_axis_order(tmp_path):
    study = load_study(write(tmp_path, GRID))
    assert len(study.runs) == 2 * 2 * 3
    assert [r.name for r in study.runs[:4]] == ["gan__8gaussians__seed0", "gan__8gaussians__seed1",
                                                 "gan__8gaussians__seed2", "gan__mnist__seed0"]
    assert len({r.name for r in study.runs}) == len(study.runs)
    assert study.group_axes == ["variant", "data"]
    assert study.runs[0].group == ("gan", "8gaussians")


def test_settings_rules_variants_and_axis_values_reach_each_config(tmp_path):
    runs = {r.name: r for r in load_study(write(tmp_path, GRID)).runs}
    toy = runs["gp-lambda1__8gaussians__seed2"].config()
    assert (toy.steps, toy.seed, toy.data.name, toy.objective) == (100, 2, "8gaussians", "wasserstein")
    assert toy.lipschitz.gradient_penalty.weight == 1
    digits = runs["gan__mnist__seed1"].config()
    assert (digits.steps, digits.log_every, digits.objective) == (20, 5, "non-saturating")
    assert digits.best_metric == "auto"  # studies keep each run's best checkpoint for the report
    command = runs["gan__mnist__seed1"].command()
    assert command.startswith("wganlab train gan ") and "steps=20" in command and "steps=100" not in command


def test_a_scale_replaces_axis_values_and_adds_settings(tmp_path):
    study = load_study(write(tmp_path, GRID), scale="quick")
    assert study.scale == "quick"
    assert [r.labels["seed"] for r in study.runs] == ["7"] * 4
    assert all(r.config().log_every == 2 for r in study.runs)


@pytest.mark.parametrize("text, message", [
    ("axes: {seed: [0]}\nsteps: 3\n", "unknown key 'steps'"),
    ("axes: {}\n", "has no axes"),
    ("axes: {seed: 3}\n", "non-empty list"),
    ("axes: {seed: [0], data: [8gaussians]}\nset: {stepz: 3}\n", "bad config"),
    ("axes: {variant: [{preset: gan}]}\n", "needs a 'name'"),
    ("axes: {variant: [gan, gan]}\n", "share the directory"),
    ("axes: {seed: [0]}\nwhen: [{match: {data: mnist}, set: {steps: 2}}]\n", "not an axis"),
    ("axes: {seed: [0]\n", "not valid YAML"),
    ("axes: {seed: [0]}\nwhen: [{match: {seed: 0}, skip: yes please}]\n", "must be true or false"),
    ("axes: {seed: [0]}\nwhen: [{match: {seed: 0}, sett: {steps: 2}}]\n", "unknown key 'sett'"),
])
def test_bad_study_files_give_one_line_errors(tmp_path, text, message):
    with pytest.raises(StudyError, match=message) as err:
        load_study(write(tmp_path, text))
    assert "\n" not in str(err.value)


SKIPPING = """
    name: fewer-seeds-on-mnist
    axes:
      variant: [gan, wgan-gp]
      data: [8gaussians, mnist]
      seed: [0, 1, 2]
    when:
      - match: {data: mnist, seed: [1, 2]}
        skip: true
      - match: {data: mnist}
        set: {steps: 20}
"""


def test_a_skip_rule_drops_the_matching_runs(tmp_path):
    study = load_study(write(tmp_path, SKIPPING))
    seeds = {(r.labels["data"], r.labels["seed"]) for r in study.runs}
    assert seeds == {("8gaussians", "0"), ("8gaussians", "1"), ("8gaussians", "2"), ("mnist", "0")}
    assert len(study.runs) == 2 * 4 and all(r.config().steps == 20 for r in study.runs if r.labels["data"] == "mnist")


def test_the_demo_study_has_enough_seeds_for_its_verdicts():
    study = load_study("demo")
    seeds = {data: {r.labels["seed"] for r in study.runs if r.labels["data"] == data}
             for data in ("8gaussians", "mnist")}
    assert len(seeds["8gaussians"]) == 5 and len(seeds["mnist"]) == 3
    assert {r.labels["variant"] for r in study.runs} == {"GAN", "WGAN-WC", "WGAN-GP", "WGAN-SN"}
    networks = {(r.config().model.width, r.config().model.kernel_size) for r in study.runs
                if r.labels["data"] == "mnist"}
    assert networks == {(16, 3)}  # the same networks for every variant


def test_unknown_scale_and_unknown_study_are_named(tmp_path):
    with pytest.raises(StudyError, match=r"no scale 'huge'.*quick"):
        load_study(write(tmp_path, GRID), scale="huge")
    with pytest.raises(StudyError, match="neither a file nor a shipped study"):
        load_study("no-such-study")


@pytest.mark.parametrize("name", ["dtu-comparison", "guide-tricks", "loss-matters", "mnist-gan-vs-wgangp",
                                  "modern-losses"])
def test_shipped_studies_expand_at_both_scales(name):
    assert name in shipped_studies()
    full, quick = load_study(name), load_study(name, scale="quick")
    assert len(full.runs) > len(quick.runs) >= 4
    assert {r.labels["data"] for r in quick.runs} <= {"8gaussians", "mnist", "scurve", "moons", "25gaussians"}
    assert len({r.labels["seed"] for r in quick.runs}) >= 2


def test_the_dtu_studys_old_name_still_works_and_says_its_new_name(capsys):
    assert load_study("seed000").name == "dtu-comparison"
    assert "study 'seed000' is now called 'dtu-comparison'" in capsys.readouterr().err


def test_the_readmes_example_study_loads_and_its_quick_scale_shortens_every_run(tmp_path):
    """The study file the README shows, as written there: its quick scale must shorten MNIST too, which a scale's
    ``set`` alone cannot (the study's ``when`` rule for MNIST comes later and wins)."""
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = next(part.split("```", 1)[0] for part in readme.split("```yaml\n")[1:] if part.startswith("name: my-study"))
    path = tmp_path / "my-study.yaml"
    path.write_text(block, encoding="utf-8")
    steps = {(r.labels["data"], r.labels["seed"]): r.config().steps for r in load_study(path, scale="quick").runs}
    assert steps == {("8gaussians", "0"): 300, ("8gaussians", "1"): 300, ("mnist", "0"): 200, ("mnist", "1"): 200}
    full = load_study(path).runs
    assert {(r.labels["data"], r.config().steps) for r in full} == {("8gaussians", 5000), ("mnist", 2000)}
    assert len(full) == 3 * (5 + 3)  # three variants; MNIST's seeds 3 and 4 skipped
