"""Does a conditional generator make the class it is asked for? The share of ``--class K`` samples that
wganlab's classifier assigns to K, per class and averaged.

An unconditional generator cannot be asked for a class: its samples are the same whatever K, so its per-class
share is just how often the classifier says K, and the average over classes is exactly 1/K: the chance level a
conditional model must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from wganlab.data.images import to_symmetric
from wganlab.metrics.classifier import load_classifier, predict
from wganlab.sampling import LoadedGenerator, generate


@dataclass(frozen=True)
class ClassAccuracy:
    per_class: list[float]  # share of class-K samples classified as K
    samples_per_class: int
    conditional: bool

    @property
    def mean(self) -> float:
        return sum(self.per_class) / len(self.per_class)


def class_accuracy(loaded: LoadedGenerator, dataset: str = "mnist", per_class: int = 500,
                   seed: int = 0) -> ClassAccuracy:
    classifier = load_classifier(dataset)
    classes = loaded.num_classes or 10

    def classified(samples: torch.Tensor) -> torch.Tensor:
        return predict(classifier, to_symmetric(samples, loaded.config.data.pixel_range))[1].argmax(1)

    if loaded.num_classes:
        predicted = [classified(generate(loaded, per_class, seed=seed + label, label=label))
                     for label in range(classes)]
    else:  # the same samples whichever class is asked for: classified once, not once per class
        predicted = [classified(generate(loaded, per_class * classes, seed=seed))] * classes
    shares = [float((labels == label).float().mean()) for label, labels in enumerate(predicted)]
    return ClassAccuracy(shares, per_class, bool(loaded.num_classes))
