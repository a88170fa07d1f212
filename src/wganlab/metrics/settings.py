"""The opt-in measurements' section of a config (``eval.*``) and its rules. Read without torch."""

from __future__ import annotations

from dataclasses import dataclass

from wganlab.errors import ConfigError
from wganlab.sections import Facts, option

# k of the k-nearest-neighbour balls: precision/recall (Kynkäänniemi et al.), density/coverage (Naeem et al.)
PRDC_NEIGHBOURS = (3, 5)
# all lower-is-better; fid and w1 need eval_every; auto: fid for images, w1 for 2D toys, whichever is evaluated
BEST_METRICS = ("fid", "w1", "wasserstein_estimate", "auto")


@dataclass
class EvalConfig:
    """Opt-in measurements: at each in-training evaluation beside FID or the toy metrics, and after a study's run."""

    wasserstein: bool = option(False, why="the exact W1 between a real and a generated batch in data space, next "
                               "to the critic's estimate and three real baselines (Stanczuk et al. 2021)")
    batch: int = option(256, low=2, high=4096, why="samples per batch of that W1 (an exact assignment: B x B costs)")
    prdc: bool = option(False, why="precision, recall, density and coverage (Kynkäänniemi et al. 2019; Naeem et "
                        "al. 2020) at each evaluation during training, beside its FID: when a run loses or regains "
                        "diversity (recall, coverage) and fidelity (precision, density)")
    augment: int = option(0, low=0, why="in a study, score each conditional run's final generator as data "
                          "augmentation (wganlab augment) with this many classifier seeds; 0: off")


def check_eval(settings: EvalConfig, best_metric: str | None, eval_samples: int, facts: Facts) -> None:
    if settings.wasserstein and not facts.eval_every:
        raise ConfigError("eval.wasserstein=true measures at each evaluation during training: set eval_every > 0")
    if settings.prdc and not facts.eval_every:
        raise ConfigError("eval.prdc=true measures at each evaluation during training: set eval_every > 0")
    if settings.prdc and not facts.images:
        raise ConfigError(f"eval.prdc=true measures images in a feature network's space; data={facts.data} is not "
                          "images (its evaluations during training measure W1, and modes on a mixture)")
    if settings.prdc and eval_samples <= PRDC_NEIGHBOURS[0]:
        raise ConfigError(f"eval.prdc=true measures each generated sample's distance to its k-th nearest generated "
                          f"neighbour (k = {PRDC_NEIGHBOURS[0]}): set eval_samples above {PRDC_NEIGHBOURS[0]}, got "
                          f"{eval_samples}")
    if best_metric in ("fid", "w1") and not facts.eval_every:
        raise ConfigError(f"best_metric={best_metric} needs evaluations during training: set eval_every > 0")
