"""The one list of names: the objectives and network architectures a config may choose, and what each can do.

A name registered here is what the config accepts (its ``choices``), what its error messages suggest, and where
the builders look. Each entry names the object that implements it (``"module:attribute"``, imported only when
it is built, so reading a config never loads torch) and declares its capabilities, which the rest of wganlab asks
(``OBJECTIVES.can(name, "label_targets")``) instead of comparing names. Adding an objective or a network is its
module plus one ``register`` line below.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wganlab.errors import ConfigError


@dataclass(frozen=True)
class Part:
    """One registered name."""

    name: str
    target: str | None  # "module:attribute" that implements it; None: built in place by its registry's user
    summary: str  # one line, with the source it follows
    capabilities: frozenset[str]
    settings: str | None = None  # "module:attribute" of its torch-free wganlab.sections.Section, if it has settings


class Registry:
    """Names of one kind of part, in registration order, each with its declared capabilities."""

    def __init__(self, kind: str, capabilities: dict[str, str]) -> None:
        self.kind = kind
        self.capabilities = dict(capabilities)  # name -> what it means, the only capabilities an entry may declare
        self._parts: dict[str, Part] = {}

    def register(self, name: str, target: str | None, summary: str, *capabilities: str,
                 settings: str | None = None) -> Part:
        unknown = sorted(set(capabilities) - set(self.capabilities))
        if unknown:
            raise ValueError(f"{self.kind} {name!r} declares unknown capabilities {unknown}; "
                             f"known: {sorted(self.capabilities)}")
        if name in self._parts:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if settings is not None and hasattr(sys.modules.get("wganlab.config"), "RunConfig"):
            raise ValueError(f"{self.kind} {name!r} brings settings, but the config's sections were composed when "
                             "wganlab was imported: add its line to wganlab/registry.py, where every part with "
                             "settings is registered")
        part = Part(name, target, summary, frozenset(capabilities), settings)
        self._parts[name] = part
        return part

    def unregister(self, name: str) -> None:
        """Remove a name (a test's or a plugin's own part, when it is done with it)."""
        self._parts.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._parts)

    def __contains__(self, name: object) -> bool:
        return name in self._parts

    def __iter__(self) -> Iterator[Part]:
        return iter(self._parts.values())

    def get(self, name: str) -> Part:
        """The entry, or :class:`ConfigError` naming the choices (and the nearest one)."""
        if name not in self._parts:
            close = difflib.get_close_matches(str(name), self._parts, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown {self.kind} '{name}'{hint} (choose from {', '.join(self._parts)})")
        return self._parts[name]

    def can(self, name: str, capability: str) -> bool:
        if capability not in self.capabilities:
            raise ValueError(f"{self.kind}s have no capability {capability!r}")
        return capability in self.get(name).capabilities

    def having(self, capability: str) -> tuple[str, ...]:
        """The names that declare ``capability``, in registration order."""
        return tuple(part.name for part in self if capability in part.capabilities)

    def load(self, name: str) -> Any:
        """The object that implements ``name`` (its module is imported now)."""
        part = self.get(name)
        if part.target is None:
            raise ValueError(f"{self.kind} {name!r} is built in place, not loaded")
        return _resolve(part.target)

    def settings(self, name: str) -> Any:
        """The :class:`~wganlab.sections.Section` of ``name``'s settings (imported without torch), or None."""
        part = self.get(name)
        return None if part.settings is None else _resolve(part.settings)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


OBJECTIVES = Registry("objective", {
    "label_targets": "takes per-sample real and fake targets: label smoothing, noisy labels, flips",
    "probability": "the discriminator outputs a logit and its losses are cross-entropies in nats, which the "
                   "training-health flags read (a loss near 0 means vanishing gradients)",
    "relativistic": "compares each real score with a fake one: the generator step scores a real batch too, and "
                    "there is no loss on fakes alone (no experience replay)",
})
OBJECTIVES.register("minimax", "wganlab.objectives:Minimax", "Goodfellow et al. 2014, eq. 1",
                    "label_targets", "probability")
OBJECTIVES.register("non-saturating", "wganlab.objectives:NonSaturating", "Goodfellow et al. 2014, §3",
                    "label_targets", "probability")
OBJECTIVES.register("wasserstein", "wganlab.objectives:Wasserstein", "Arjovsky et al. 2017, eq. 3")
OBJECTIVES.register("hinge", "wganlab.objectives:Hinge", "Lim & Ye 2017; Miyato et al. 2018, eq. 16-17")
OBJECTIVES.register("least-squares", "wganlab.objectives:LeastSquares", "Mao et al. 2017, eq. 2 (a=0, b=c=1)",
                    "label_targets")
OBJECTIVES.register("relativistic", "wganlab.objectives:RelativisticPairing",
                    "Jolicoeur-Martineau 2019; R3GAN's RpGAN (Huang et al. 2024, eq. 2)", "relativistic")

ARCHITECTURES = Registry("architecture", {
    "points": "trains on 2D toy data",
    "images": "trains on images",
    "composable": "takes conditioning, a dense head, minibatch features, feature matching and virtual batch norm",
    "stackable": "its layers have stacked forms, so its seeds can train as one model (wganlab.stacking)",
})
ARCHITECTURES.register("auto", None, "mlp for 2D points, dcgan for images", "points", "images", "composable",
                       "stackable")
ARCHITECTURES.register("mlp", None, "fully connected, model.width x model.mlp_depth", "points", "images",
                       "composable", "stackable")
ARCHITECTURES.register("dcgan", None, "Radford et al.'s DCGAN, sized by model.width", "images", "composable",
                       "stackable")
ARCHITECTURES.register("resnet", "wganlab.nets.resnet:resnet_family",
                       "Gulrajani et al.'s residual blocks, model.width channels each, norms from model.g_norm/d_norm "
                       "(none in the critic for R1/R2)", "images", "composable")
ARCHITECTURES.register("dtu-dcgan", "wganlab.nets.named:dtu_dcgan",
                       "the DTU study's models_file.py (Gribsvad & Bundgaard-Nielsen)", "images", "stackable")
ARCHITECTURES.register("dtu-toy", "wganlab.nets.named:dtu_toy",
                       "the DTU study's toy MLPs (its repository's notebook: 16 units, batch norm in the generator)",
                       "points")
ARCHITECTURES.register("guide-dcgan", "wganlab.nets.named:guide_dcgan",
                       "the practical guide's DCGAN (Garrido et al., §3.1.7)", "images", "composable", "stackable")
ARCHITECTURES.register("tf-tutorial", "wganlab.nets.named:tf_tutorial",
                       "the TensorFlow DCGAN tutorial's networks (the MNIST blog)", "images", "stackable")
ARCHITECTURES.register("gulrajani-toy", "wganlab.nets.named:gulrajani_toy",
                       "Gulrajani et al.'s gan_toy.py MLPs", "points", "stackable")
ARCHITECTURES.register("gulrajani-mnist", "wganlab.nets.named:gulrajani_mnist",
                       "Gulrajani et al.'s gan_mnist.py networks", "images", "stackable")
ARCHITECTURES.register("gulrajani-resnet", "wganlab.nets.named:gulrajani_resnet",
                       "Gulrajani et al.'s gan_cifar_resnet.py ResNets", "images")
ARCHITECTURES.register("sngan-resnet", "wganlab.nets.named:sngan_resnet",
                       "Miyato et al.'s SNGAN ResNets at 32 and 64 px", "images")
ARCHITECTURES.register("arjovsky-dcgan64", "wganlab.nets.named:arjovsky_dcgan64",
                       "Arjovsky et al.'s 64x64 DCGAN", "images", "stackable")

# The parts a training step is composed of besides the objective (wganlab.training.hooks), in the order they run:
# within each phase of a step, e.g. after a critic update, weight clipping acts before historical averaging updates
# its mean and before experience replay keeps a fake. Each class's from_settings decides from its settings whether it
# runs.
HOOKS = Registry("hook", {
    "lipschitz": "keeps the critic (approximately) 1-Lipschitz or penalises its gradients",
    "trick": "a training technique: the practical guide's (Garrido et al.), Salimans et al.'s, DiffAugment, EMA",
    "stackable": "exact when seeds train stacked in one model (wganlab.stacking): per-sample or element-wise",
})
for _name, _package, _target, _summary, *_kinds in (
    ("weight-clipping", "lipschitz.clipping", "WeightClipping", "Arjovsky et al. 2017, Algorithm 1: lipschitz.clip",
     "lipschitz", "stackable"),
    ("gradient-penalty", "lipschitz.penalty", "GradientPenalty",
     "Gulrajani et al. 2017, eq. 3: lipschitz.gradient_penalty", "lipschitz", "stackable"),
    ("r1", "lipschitz.zero_centred", "R1Penalty", "Mescheder et al. 2018, eq. 9: lipschitz.r1", "lipschitz",
     "stackable"),
    ("r2", "lipschitz.zero_centred", "R2Penalty", "R3GAN (Huang et al. 2024), eq. 4: lipschitz.r2", "lipschitz",
     "stackable"),
    ("dragan", "lipschitz.dragan", "DraganPenalty", "Kodali et al. 2017, eq. 9: lipschitz.dragan", "lipschitz"),
    ("image-pool", "tricks.replay", "ImagePoolHook", "Shrivastava et al. 2017: tricks.replay.mode=pool", "trick"),
    ("label-targets", "tricks.labels", "LabelTargetsHook",
     "Salimans et al. 2016 §3.4, the guide §4.1 and §4.5: tricks.labels", "trick"),
    ("historical-averaging", "tricks.averaging", "HistoricalAveraging",
     "Salimans et al. 2016 §3.3: tricks.historical_averaging", "trick"),
    ("experience-replay", "tricks.replay", "ExperienceReplay", "the practical guide §4.2: tricks.replay.mode=step",
     "trick"),
    ("feature-matching", "tricks.matching", "FeatureMatching", "Salimans et al. 2016 §3.1: tricks.feature_matching",
     "trick"),
    ("diffaugment", "tricks.diffaugment", "DiffAugment", "Zhao et al. 2020: tricks.diffaugment", "trick"),
    ("ema", "tricks.ema", "GeneratorAverage", "Karras et al. 2018; Yazıcı et al. 2019: ema", "trick", "stackable"),
):  # each part is a package: its settings (wganlab.sections, no torch) in settings.py, the hook in hook.py
    HOOKS.register(_name, f"wganlab.{_package}.hook:{_target}", _summary, *_kinds,
                   settings=f"wganlab.{_package}.settings:SETTINGS")

# Parts with settings of their own that are not hooks of the step: built into the networks, or a schedule the
# penalties share. Their settings join the config's sections as the hooks' do.
NETWORK_PARTS = Registry("network part", {})
NETWORK_PARTS.register("spectral-norm", "wganlab.lipschitz.spectral.norm:apply_spectral_norm",
                       "Miyato et al. 2018: lipschitz.spectral_norm",
                       settings="wganlab.lipschitz.spectral.settings:SETTINGS")
NETWORK_PARTS.register("minibatch-discrimination", "wganlab.tricks.minibatch.layer:MinibatchDiscrimination",
                       "Salimans et al. 2016 §3.2: tricks.minibatch",
                       settings="wganlab.tricks.minibatch.settings:SETTINGS")
NETWORK_PARTS.register("lazy-regularization", "wganlab.lipschitz.lazy:Lazy",
                       "Karras et al. 2020 §3.1: lipschitz.every, shared by the gradient penalties",
                       settings="wganlab.lipschitz.lazy:SETTINGS")

# What wganlab measures (wganlab.metrics.evaluate computes each one in place); "modes" applies to both kinds of
# samples: the components of a 2D mixture, or the 1,000 digit triples of Stacked MNIST.
METRICS = Registry("metric", {
    "points": "measured on 2D toy samples",
    "images": "measured on images, through a feature network",
})
for _name, _summary, *_kinds in (
    ("fid", "Fréchet distance of feature Gaussians (Heusel et al. 2017); lower is better", "images"),
    ("kid", "kernel inception distance, unbiased MMD² (Bińkowski et al. 2018); lower is better", "images"),
    ("is", "Inception Score (Salimans et al. 2016); higher is better", "images"),
    ("pr", "precision, recall (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020)", "images"),
    ("classes", "classes a classifier finds among the samples (of 10)", "images"),
    ("class_accuracy", "a conditional generator's samples classified as the class asked for (chance: 1/10)",
     "images"),
    ("modes", "mixture components (8 or 25) or Stacked-MNIST triples (of 1,000) covered", "points", "images"),
    ("w1", "exact Wasserstein-1 distance to real samples, by optimal assignment; lower is better", "points"),
):
    METRICS.register(_name, None, _summary, *_kinds)

REGISTRIES = (OBJECTIVES, ARCHITECTURES, HOOKS, NETWORK_PARTS, METRICS)
