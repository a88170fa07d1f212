"""A part's settings: declared beside the part, composed into the config at their place, checked by the part's own
rules, handed back to the part alone."""

from __future__ import annotations

import dataclasses

import pytest

from wganlab.config import RunConfig, load_config, registered_sections
from wganlab.errors import ConfigError
from wganlab.registry import HOOKS, NETWORK_PARTS
from wganlab.sections import Facts, Section, option
from wganlab.tricks.diffaugment.settings import DiffAugmentSettings
from wganlab.tricks.labels.settings import LabelSettings


def test_every_registered_part_s_settings_are_in_the_config_at_their_place_with_their_defaults():
    config = RunConfig()
    sections = registered_sections()
    assert len(sections) == len({id(s) for s in sections}) >= 12  # r1 and r2 share theirs: listed once
    for section in sections:
        holder = getattr(config, section.path) if section.path else config
        for spec in section.fields():
            default = spec.default_factory() if spec.default is dataclasses.MISSING else spec.default
            assert getattr(holder, spec.name) == default, f"{section.path}.{spec.name}"


def test_a_part_gets_its_own_settings_and_nothing_else():
    config = load_config("dcgan", ["tricks.diffaugment.policy=color,cutout", "tricks.labels.real=0.9"])
    augment = config.settings_of(HOOKS.settings("diffaugment"))
    assert isinstance(augment, DiffAugmentSettings)
    assert [f.name for f in dataclasses.fields(augment)] == ["diffaugment"]
    assert augment.diffaugment.transforms == ["color", "cutout"]
    labels = config.settings_of(HOOKS.settings("label-targets"))
    assert isinstance(labels, LabelSettings) and labels.labels.real == 0.9 and not labels.labels.plain
    assert config.settings_of(NETWORK_PARTS.settings("lazy-regularization")).every == 1


def test_the_shared_facts_are_what_the_config_says():
    config = load_config("wgan-gp", ["data=8gaussians", "lipschitz.every=4", "eval_every=0"])
    assert config.facts == Facts("8gaussians", "points", "wasserstein", config.model.arch, 256, 0, 4)
    assert not config.facts.images and load_config("dcgan").facts.data_kind == "images"
    table = load_config("gan", ["data=table:sklearn:wine"]).facts
    assert table.data_kind == "table" and not table.images


def test_each_part_s_rules_refuse_in_one_line_naming_the_fix():
    cases = {
        ("dcgan", "tricks.diffaugment.policy=blur"): "'blur' is none of them",
        ("gan", "data=table:sklearn:wine", "tricks.diffaugment.policy=color"): "holds feature vectors: drop it",
        ("wgan-gp", "tricks.labels.real=0.9"): "objective=wasserstein has none",
        ("dcgan", "tricks.labels.real=0.5", "tricks.labels.fake=0.5"): "must be below tricks.labels.real",
        ("rpgan-r1r2", "tricks.replay.mode=step"): "use tricks.replay.mode=pool",
        ("dtu-gan", "tricks.minibatch.kernels=8"): "tricks.minibatch needs arch=",
        ("dtu-gan", "tricks.feature_matching=last"): "tricks.feature_matching needs arch=",
        ("dtu-gan", "conditioning.mode=concat"): "conditioning.mode=concat needs arch=",
        ("dtu-gan", "model.d_norm=virtual"): "virtual / reference batch norm needs arch=",
        ("gan", "eval.wasserstein=true", "eval_every=0"): "set eval_every > 0",
        ("dcgan", "eval.prdc=true", "eval_every=0"): "set eval_every > 0",
        ("gan", "data=8gaussians", "eval.prdc=true", "eval_every=10"): "data=8gaussians is not images",
        ("dcgan", "eval.prdc=true", "eval_every=10", "eval_samples=3"): "set eval_samples above 3, got 3",
        ("gan", "g_optimizer.betas=[0.5, 1.0]"): "'g_optimizer.betas' must lie in [0, 1)",
        ("gan", "data=idx"): "data=idx needs a path",
    }
    for (preset, *overrides), message in cases.items():
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
            load_config(preset, overrides)


def test_settings_registered_after_the_config_was_composed_are_refused():
    @dataclasses.dataclass
    class Late:
        late: float = option(0.0)

    import sys

    sys.modules[__name__].LATE = Section("tricks", Late)
    with pytest.raises(ValueError, match=r"add its line to wganlab/registry\.py"):
        HOOKS.register("late-from-a-test", None, "a test's", settings=f"{__name__}:LATE")
    assert "late-from-a-test" not in HOOKS


def test_the_parts_that_plug_in_after_the_convolutions_say_so_themselves():
    assert not load_config("dcgan").headed_discriminator
    assert load_config("dcgan", ["tricks.minibatch.kernels=8"]).headed_discriminator
    assert load_config("dcgan", ["tricks.feature_matching=last"]).headed_discriminator
    assert load_config("dcgan", ["model.d_dense=16"]).headed_discriminator
    wanting = {section.settings.__name__ for section in registered_sections() if section.needs_head}
    assert wanting == {"MinibatchSettings", "FeatureMatchingSettings"}


def test_a_constraint_declares_the_range_a_search_draws_its_strength_from():
    from wganlab.study.search import default_space

    searched = {section.settings.__name__ for section in registered_sections() if section.search_space}
    assert searched == {"ClippingSettings", "GradientPenaltySettings", "ZeroCentredSettings", "DraganSettings"}
    r3gan = default_space(load_config("rpgan-r1r2"))
    assert r3gan["lipschitz.r1+lipschitz.r2"].values == (0.01, 10.0)  # one γ for both, as R3GAN uses
    assert "lipschitz.r1+lipschitz.r2" not in default_space(load_config("wgan-gp"))  # only what is switched on
    assert default_space(load_config("wgan-wc"))["lipschitz.clip"].kind == "log_uniform"
