"""The hooks' contract, generated from the registry: every registered hook is off by default (and building it
then touches neither weights nor random streams), its state round-trips, and a hook registered from this file
alone trains and is logged under its term's name."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.conftest import FakeStep, tiny_toy
from wganlab.config import load_config
from wganlab.registry import HOOKS
from wganlab.rundir.log import read_metrics
from wganlab.training.hooks import CriticBatch, Hook, Hooks, Term, build_hook, total_loss
from wganlab.training.start import start_run

# The overrides that switch each registered hook on; a hook registered without an entry here fails the contract.
SWITCHED_ON = {
    "weight-clipping": ["lipschitz.clip=0.01"],
    "gradient-penalty": ["lipschitz.gradient_penalty.weight=10", "lipschitz.every=2"],
    "r1": ["lipschitz.r1=0.1"],
    "r2": ["lipschitz.r2=0.1", "lipschitz.every=4"],
    "dragan": ["lipschitz.dragan.weight=10"],
    "image-pool": ["tricks.replay.mode=pool", "tricks.replay.pool_size=2"],
    "label-targets": ["tricks.labels.real=0.9"],
    "historical-averaging": ["tricks.historical_averaging.generator=0.1",
                             "tricks.historical_averaging.discriminator=0.1"],
    "experience-replay": ["tricks.replay.mode=step", "tricks.replay.every=2"],
    "feature-matching": ["tricks.feature_matching=features"],
    "diffaugment": ["tricks.diffaugment.policy=color,translation,cutout"],
    "ema": ["ema=0.99"],
}
PLAIN = ["lipschitz.gradient_penalty.weight=0"]  # the gan preset has no hook switched on


def hook_config(name: str):
    return load_config("dcgan", ["data=mnist", *PLAIN, *SWITCHED_ON[name]])


def exercise(hook: Hook, context: FakeStep) -> None:
    """Every phase once, so stateful hooks hold something worth saving."""
    fake = context.generator(torch.randn(context.batch_size, 2))
    batch = hook.adjust_critic_batch(CriticBatch(context.real, None, fake.detach(), None), context)
    images = torch.randn(4, 1, 8, 8)
    assert hook.critic_view(images, context).shape == images.shape
    hook.critic_terms(batch, context)
    hook.after_critic_step(batch, context)
    hook.generator_terms(fake, None, context)
    hook.after_generator_step(context)


def test_every_registered_hook_has_a_contract_entry():
    assert set(HOOKS.names()) == set(SWITCHED_ON)


@pytest.mark.parametrize("name", HOOKS.names())
def test_a_hook_switched_off_is_not_built_and_touches_nothing(name):
    context = FakeStep()
    weights = copy.deepcopy(context.discriminator.state_dict())
    before = torch.get_rng_state()
    assert build_hook(name, load_config("gan", ["data=8gaussians", *PLAIN]), context) is None
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(v, weights[k]) for k, v in context.discriminator.state_dict().items())


@pytest.mark.parametrize("name", HOOKS.names())
def test_a_hook_switched_on_is_built_and_its_state_round_trips(name):
    context = FakeStep()
    hook = build_hook(name, hook_config(name), context)
    assert hook is not None and hook.name == name
    for _ in range(3):
        exercise(hook, context)
        context.step += 1
    state = hook.state_dict()
    fresh = build_hook(name, hook_config(name), FakeStep())
    if state is None:
        assert fresh.state_dict() is None
        return
    fresh.load_state_dict(copy.deepcopy(state))
    assert_same(fresh.state_dict(), state)


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif torch.is_tensor(a):
        assert torch.equal(a, b)
    else:
        assert a == b


def test_terms_are_summed_in_order_with_their_weights():
    terms = [Term("a", torch.tensor(2.0), 10.0), Term("b", torch.tensor(3.0))]
    assert float(total_loss(torch.tensor(1.0), terms)) == 1 + 20 + 3
    assert float(total_loss(None, terms[1:])) == 3
    with pytest.raises(ValueError, match="at least one term"):
        total_loss(None, [])


class DriftPenalty(Hook):
    """ε · E[D(x)²] on real samples (Karras et al. 2018, §A.1, "drift"), written here to show that a hook needs
    nothing but a class and a registration."""

    name = "drift-from-a-test"

    @classmethod
    def from_settings(cls, settings, facts, context):
        return cls()  # always on while registered: no settings of its own

    def critic_terms(self, batch, context):
        if batch.real is None:
            return []
        return [Term("drift", context.critic(batch.real, batch.real_labels).square().mean(), 0.001)]


def test_a_hook_registered_from_a_test_file_alone_trains_and_is_logged(tmp_path):
    HOOKS.register(DriftPenalty.name, f"{__name__}:DriftPenalty", "Karras et al. 2018, §A.1")
    try:
        trainer = start_run(tiny_toy("steps=20", "log_every=10"), tmp_path / "drift", tensorboard=False)
        assert trainer.training.hooks.names() == ["gradient-penalty", DriftPenalty.name]
        trainer.run(progress=False)
    finally:
        HOOKS.unregister(DriftPenalty.name)
    records = read_metrics(tmp_path / "drift")
    assert [r["step"] for r in records] == [10, 20]
    assert all(r["drift"] > 0 and r["gradient_penalty"] > 0 for r in records)
    assert DriftPenalty.name not in HOOKS


def test_a_plain_gan_has_no_hooks_and_logs_no_terms(tmp_path):
    trainer = start_run(load_config("gan", ["data=8gaussians", "steps=10", "log_every=10", "model.width=16",
                                            "sample_every=1000"]), tmp_path / "gan", tensorboard=False)
    assert trainer.training.hooks.names() == []
    trainer.run(progress=False)
    (record,) = read_metrics(tmp_path / "gan")
    assert {"d_loss", "g_loss", "wasserstein_estimate"} <= set(record) and "gradient_penalty" not in record


def test_every_term_is_logged_by_its_name(tmp_path):
    config = tiny_toy("steps=10", "log_every=10", "tricks.historical_averaging.generator=0.1",
                      "tricks.historical_averaging.discriminator=0.1", preset="gan")
    start_run(config, tmp_path / "h", tensorboard=False).run(progress=False)
    (record,) = read_metrics(tmp_path / "h")
    assert record["historical_distance_d"] > 0 and record["historical_distance_g"] > 0


def test_hooks_run_in_registry_order_whatever_the_config_order():
    config = load_config("dcgan", ["data=mnist", "ema=0.9", "tricks.labels.real=0.9", "lipschitz.clip=0.1",
                                   "objective=non-saturating", *PLAIN])
    assert Hooks.from_config(config, FakeStep()).names() == ["weight-clipping", "label-targets", "ema"]
