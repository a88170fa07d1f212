"""The registries: the config's choices and capability checks come from them, and a new part is one entry."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from tests.conftest import tiny_toy
from wganlab.config import load_config
from wganlab.errors import ConfigError
from wganlab.objectives import make_objective
from wganlab.registry import ARCHITECTURES, OBJECTIVES, Registry
from wganlab.training.start import start_run


@dataclass(frozen=True)
class LeastSquares:
    """Mao et al. 2017 (a, b, c = 0, 1, 1), written here to show that an objective needs nothing but a class and
    a registration: D minimises ½E(D(x) − 1)² + ½E D(G(z))², G minimises ½E(D(G(z)) − 1)²."""

    name: str = "least-squares-from-a-test"

    def critic_loss(self, real, fake, real_target=None, fake_target=None):
        return 0.5 * (real - 1).pow(2).mean() + self.fake_loss(fake)

    def fake_loss(self, fake, fake_target=None):
        return 0.5 * fake.pow(2).mean()

    def generator_loss(self, fake):
        return 0.5 * (fake - 1).pow(2).mean()


def test_an_objective_registered_from_a_test_file_alone_trains(tmp_path):
    OBJECTIVES.register(LeastSquares.name, f"{__name__}:LeastSquares", "Mao et al. 2017, eq. 9")
    try:
        config = tiny_toy("steps=20", "log_every=10", f"objective={LeastSquares.name}", preset="gan")
        trainer = start_run(config, tmp_path / "ls", tensorboard=False)
        trainer.run(progress=False)
        assert trainer.step == 20 and isinstance(trainer.training.objective, LeastSquares)
        assert all(torch.isfinite(p).all() for p in trainer.generator.parameters())
        loss = make_objective(LeastSquares.name).critic_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0]))
        assert float(loss) == pytest.approx(0.5 * (0 + 4) / 2 + 0.5 * (0 + 4) / 2)  # by hand: 1 + 1
        with pytest.raises(ConfigError, match="has none: use one of minimax, non-saturating"):
            load_config("gan", [f"objective={LeastSquares.name}", "tricks.labels.real=0.9"])  # no label targets
    finally:
        OBJECTIVES.unregister(LeastSquares.name)
    with pytest.raises(ConfigError, match="'objective' must be one of minimax, non-saturating, wasserstein, hinge"):
        load_config("gan", [f"objective={LeastSquares.name}"])


def test_capabilities_replace_name_tests():
    assert OBJECTIVES.having("label_targets") == ("minimax", "non-saturating", "least-squares")
    assert OBJECTIVES.having("relativistic") == ("relativistic",)
    assert OBJECTIVES.having("probability") == ("minimax", "non-saturating")
    assert set(ARCHITECTURES.having("points")) == {"auto", "mlp", "gulrajani-toy", "dtu-toy"}
    assert set(ARCHITECTURES.having("composable")) == {"auto", "mlp", "dcgan", "resnet", "guide-dcgan"}
    for part in ARCHITECTURES:  # every named network's builder exists where the registry says
        if part.target is not None:
            assert callable(ARCHITECTURES.load(part.name)), part.name


def test_a_registry_refuses_undeclared_capabilities_and_duplicates():
    parts = Registry("widget", {"round": "is round"})
    parts.register("ball", "math:pi", "a ball", "round")
    with pytest.raises(ValueError, match="unknown capabilities"):
        parts.register("cube", None, "a cube", "square")
    with pytest.raises(ValueError, match="registered twice"):
        parts.register("ball", None, "again")
    with pytest.raises(ConfigError, match="unknown widget 'bal'; did you mean 'ball'"):
        parts.get("bal")
    assert parts.load("ball") == pytest.approx(3.14159, abs=1e-5)
