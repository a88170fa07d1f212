"""Does a conditional generator make the class it is asked for? The share of ``--class K`` samples that
wganlab's classifier assigns to K, per class and averaged (``wganlab eval``'s ``class_accuracy`` is the same share,
measured on the evaluation's samples, every class asked in turn).

An unconditional generator cannot be asked for a class: its samples are the same whatever K, so its per-class
share is just how often the classifier says K, and the average over classes is exactly 1/K: the chance level a
conditional model must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from wganlab.data.images import to_symmetric
from wganlab.metrics.classifier import load_classifier, predict
from wganlab.metrics.scores import asked_class_accuracy
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

    def probabilities(samples: torch.Tensor) -> torch.Tensor:
        return predict(classifier, to_symmetric(samples, loaded.config.data.pixel_range))[1]

    if loaded.num_classes:
        probs = torch.cat([probabilities(generate(loaded, per_class, seed=seed + label, label=label))
                           for label in range(classes)])
        return ClassAccuracy(asked_class_accuracy(probs, torch.arange(classes).repeat_interleave(per_class)),
                             per_class, True)
    # the same samples whichever class is asked for: classified once, not once per class
    predicted = probabilities(generate(loaded, per_class * classes, seed=seed)).argmax(1)
    return ClassAccuracy([float((predicted == label).float().mean()) for label in range(classes)], per_class, False)
