"""The training loop's own sections of a config: each network's optimizer and what to do when training diverges.
Read without torch."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.errors import ConfigError
from wganlab.sections import option


@dataclass
class OptimizerConfig:
    """One network's optimizer. ``betas`` is Adam's (β1, β2); RMSProp uses ``alpha`` and ``momentum``."""

    name: str = option("adam", choices=("adam", "rmsprop", "sgd"))
    lr: float = option(2e-4, low=0.0, low_open=True)
    betas: tuple[float, float] = (0.5, 0.999)
    momentum: float = option(0.0, low=0.0, high=1.0)
    alpha: float = option(0.99, low=0.0, high=1.0, why="RMSProp's smoothing constant")
    eps: float = option(1e-8, low=0.0, low_open=True)
    weight_decay: float = option(0.0, low=0.0)


def check_optimizer(optimizer: OptimizerConfig, role: str) -> None:
    if not all(0.0 <= beta < 1.0 for beta in optimizer.betas):
        raise ConfigError(f"'{role}.betas' must lie in [0, 1), got {list(optimizer.betas)}")


@dataclass
class DivergenceConfig:
    """What to do when a loss or gradient turns NaN or infinite."""

    action: str = option("stop", choices=("stop", "rollback"),
                         why="rollback reloads the last checkpoint and lowers both learning rates")
    lr_factor: float = option(0.5, low=0.0, high=1.0, low_open=True)
    max_rollbacks: int = option(3, low=0)
