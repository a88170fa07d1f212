"""Numbers for people: each metric's name, unit and direction, and values printed with the digits their
interval supports.

A mean over 3 seeds with a 95% half-width of 9 is "72 ± 9", not "71.83 ± 9.127" nor "1880 ± 2.9e+03": the
half-width keeps one significant digit (two when it starts with a 1, so 0.14 is not rounded to 0.1), and the
mean is rounded to the same decimal place. Tables never use scientific notation; large numbers get thousands
separators; counts over seeds with no spread stay whole numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """How a metric reads in a table and a sentence."""

    label: str  # column header
    lower_is_better: bool
    scale: float = 1.0  # shown as value x scale (KID x 10^3)
    count: bool = False  # whole numbers per run (modes, classes)
    unit: str = ""  # after the value in sentences ("of 8" is added for counts that know their total)
    noun: str = ""  # "modes", for "covers more modes than"
    bounds: tuple[float, float] | None = None  # the range every run's value lies in
    # A relative difference of two means (positive ones) that a claim cannot rest on, however small its p: an
    # error that every seed of one study run shares and that no test over those seeds can see. Timing: which
    # other run shares the CPU moves a run's time per step. Three complete demo runs of the same code put the
    # GAN's toy step at 4.6, 6.2 and 4.7 ms, and its ratio to WGAN-GP's time per critic update at 0.93, 1.14 and
    # 0.88, each "significant" within its run (p = 0.027, 0.046, < 0.001) and on both sides of 1, never more
    # than 14 % from it. TIMING_TOLERANCE (25 %) was set from the first two runs, after that row's verdict
    # flipped between them; the third run, made after it was set, stays inside it. More runs would set it better.
    tolerance: float = 0.0

    @property
    def direction(self) -> str:
        return "lower is better" if self.lower_is_better else "higher is better"


TIMING_TOLERANCE = 0.25  # two variants' times within a quarter of each other: not told apart (see tolerance)

METRIC_INFO: dict[str, MetricInfo] = {
    "fid": MetricInfo("FID", True, bounds=(0.0, math.inf)),
    # Not x10^3: that custom fits Inception features (KID about 0.01); on wganlab's 28-px feature networks KID is
    # in the hundreds, and a fixed scale per metric keeps every table's header true.
    "kid": MetricInfo("KID", True),
    "w1": MetricInfo("W1 to real points", True, bounds=(0.0, math.inf)),
    # Two counts of the toys' modes (metrics/toy.py): every header says which one a number is.
    "modes_covered": MetricInfo("modes covered (≥ 1% of samples each)", False, count=True, noun="modes",
                                bounds=(0.0, math.inf)),
    "modes_any": MetricInfo("modes with ≥ 1 sample (VEEGAN / PacGAN count)", False, count=True, noun="modes",
                            bounds=(0.0, math.inf)),
    "high_quality": MetricInfo("high-quality share", False, bounds=(0.0, 1.0)),
    "classes_covered": MetricInfo("classes covered", False, count=True, noun="classes", bounds=(0.0, math.inf)),
    "class_kl": MetricInfo("class KL to real", True, bounds=(0.0, math.inf)),
    "class_accuracy": MetricInfo("asked-class accuracy", False, bounds=(0.0, 1.0)),
    "modes_kl": MetricInfo("mode KL to uniform", True, bounds=(0.0, math.inf)),
    "precision": MetricInfo("precision", False, bounds=(0.0, 1.0)),
    "recall": MetricInfo("recall", False, bounds=(0.0, 1.0)),
    "density": MetricInfo("density", False, bounds=(0.0, math.inf)),
    "coverage": MetricInfo("coverage", False, bounds=(0.0, 1.0)),
    # eval.wasserstein (Stanczuk et al. 2021): the batch W1s are descriptions, not scores; "lower" is a reading aid
    "w1_batch": MetricInfo("exact batch W1, real vs generated", True, bounds=(0.0, math.inf)),
    "critic_estimate": MetricInfo("critic's W1 estimate", True),
    "w1_real_real": MetricInfo("batch W1, two real batches", True, bounds=(0.0, math.inf)),
    "w1_real_mean": MetricInfo("batch W1, real vs the mean", True, bounds=(0.0, math.inf)),
    "w1_real_centroids": MetricInfo("batch W1, real vs k-means centroids", True, bounds=(0.0, math.inf)),
    "real_minus_centroids": MetricInfo("real-real minus real-centroids W1", False),
    "critic_w1_error": MetricInfo("critic's relative error on the batch W1", True, bounds=(0.0, math.inf)),
    "critic_w1_correlation": MetricInfo("correlation of critic estimate and batch W1", False, bounds=(-1.0, 1.0)),
    # The practical guide's §5.3.3, read from each run's log (wganlab.metrics.critic_estimate)
    "estimate_end_share": MetricInfo("critic's estimate over the last tenth, share of its largest tenth", True),
    "estimate_fid_change_correlation": MetricInfo("rank correlation of the estimate's and the FID's changes", False,
                                                  bounds=(-1.0, 1.0)),
    # eval.augment: held-out accuracy of wganlab augment's classifier, by what it was trained on
    "accuracy_real": MetricInfo("accuracy, real rows only", False, bounds=(0.0, 1.0)),
    "accuracy_generated": MetricInfo("accuracy, generated only (GAN-train)", False, bounds=(0.0, 1.0)),
    "gan_test": MetricInfo("GAN-test accuracy", False, bounds=(0.0, 1.0)),
    "accuracy_filtered_x1": MetricInfo("accuracy, real + 1x filtered generated", False, bounds=(0.0, 1.0)),
    **{f"accuracy_x{r}": MetricInfo(f"accuracy, real + {r}x generated", False, bounds=(0.0, 1.0))
       for r in ("0.5", "1", "2", "4")},
    "seconds_per_step": MetricInfo("ms per generator step", True, scale=1000.0, tolerance=TIMING_TOLERANCE),
    "seconds_per_critic_step": MetricInfo("ms of training per critic update", True, scale=1000.0,
                                          tolerance=TIMING_TOLERANCE),
    "train_seconds": MetricInfo("training s per run", True, tolerance=TIMING_TOLERANCE),
}


def metric_info(name: str) -> MetricInfo:
    """The known metric's description, or a plain one (lower is better) for any other logged number."""
    if name not in METRIC_INFO and name.startswith("accuracy_x"):  # wganlab augment at a study's own ratio
        return MetricInfo(f"accuracy, real + {name.removeprefix('accuracy_x')}x generated", False, bounds=(0.0, 1.0))
    return METRIC_INFO.get(name) or MetricInfo(name.replace("_", " "), True)


def header(name: str, checkpoint: str | None = None) -> str:
    """``FID, final (lower is better)``: what the column holds, which checkpoint, and which way is good."""
    info = metric_info(name)
    where = f", {checkpoint}" if checkpoint and checkpoint != "run" else ""
    return f"{info.label}{where} ({info.direction})"


def number(value: float, decimals: int | None = None) -> str:
    """A value in fixed notation with thousands separators: 3 significant digits unless ``decimals`` is given."""
    if value is None or not math.isfinite(value):
        return "–"
    if decimals is None:  # significant digits: trailing zeros say nothing (3, not 3.00)
        text = f"{value:,.{significant_decimals(value, 3)}f}"
        return _no_negative_zero(text.rstrip("0").rstrip(".") if "." in text else text)
    return _no_negative_zero(f"{value:,.{decimals}f}")


def significant_decimals(value: float, digits: int) -> int:
    """Decimal places that show ``digits`` significant digits of ``value`` (0 for values of that many digits)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, digits - 1 - math.floor(math.log10(abs(value))))


def uncertainty_decimals(half_width: float) -> int | None:
    """Decimal places of a half-width rounded to 1 significant digit (2 when its first digit is a 1); None for
    a half-width of 0 or NaN. Negative results mean rounding left of the point (tens, hundreds)."""
    if not math.isfinite(half_width) or half_width <= 0:
        return None
    exponent = math.floor(math.log10(half_width))
    leading = half_width / 10**exponent
    if round(leading) >= 10:  # 0.96 rounds to 1.0: one place to the left
        exponent += 1
        leading = 1.0
    return -(exponent - 1) if round(leading, 6) < 2 else -exponent


def interval_text(mean: float, half_width: float, n: int, name: str = "", difference: bool = False,
                  goal: float | None = None) -> str:
    """``mean ± half-width`` of ``n`` seeds with the digits the interval supports; the mean alone for one seed
    (whose spread is unknown); ``all 3 seeds: 8`` when every seed agreed; ``mean (low to high)`` clipped to the
    metric's range when the interval reaches past it; ``–`` when there is no value. A ``difference`` of two
    values of the metric (paired over seeds) has no such range: a difference of accuracies may be negative.
    Against a ``goal`` (a threshold the row judges the interval by), see :func:`goal_interval_text`."""
    if n == 0:
        return "–"
    info = metric_info(name)
    if n > 1 and math.isfinite(half_width) and half_width < 1e-9 * max(1.0, abs(mean)):
        return f"all {n} seeds: {value_text(mean, name)}"  # a zero-width interval is every seed's value
    low, high = _clipped_ends(mean, half_width, name) if n > 1 and not difference else (None, None)
    if goal is not None and low is not None and not info.count:
        shown = goal_interval_text(mean, low, high, half_width, name, goal)
        if shown:
            return shown
    if low is not None and (low, high) != (mean - half_width, mean + half_width):
        # An interval reaching past what the metric can be ("0.5 ± 6" modes) is shown clipped to its range.
        return clipped_text(mean, low, high, half_width, name)
    return plus_minus(mean, half_width if n > 1 else math.nan, name)


def _clipped_ends(mean: float, half_width: float, name: str) -> tuple[float | None, float | None]:
    """The interval's ends, clipped to the metric's range; (None, None) without a finite mean and spread."""
    if not (math.isfinite(half_width) and math.isfinite(mean)):
        return None, None
    low, high = mean - half_width, mean + half_width
    bounds = metric_info(name).bounds
    return (max(low, bounds[0]), min(high, bounds[1])) if bounds else (low, high)


def goal_interval_text(mean: float, low: float, high: float, half_width: float, name: str,
                       goal: float) -> str | None:
    """``mean (low to high)`` with as many more digits as it takes for the mean and both ends to show which
    side of the goal, as the goal is printed (:func:`value_text`), they lie on; None where the usual text
    already shows it. One significant digit of the half-width can hide it: an interval 0.050 to 0.094 against
    a goal of ≤ 0.0905 reads "0.07 ± 0.02", whose upper end looks like 0.09, inside the goal, when it is not.
    A value between the goal and the goal as printed (3 significant digits) cannot show its side at any number
    of digits; it gets the most this allows, and the row's verdict, decided on the values, says which side."""
    info = metric_info(name)
    places = _places(mean, half_width, name)
    if places is None:
        return None
    scaled_goal = goal * info.scale
    shown_goal = round(scaled_goal, significant_decimals(scaled_goal, 3))
    bounds = info.bounds or ()

    def side(value: float, reference: float) -> int:
        return (value > reference) - (value < reference)

    def honest(shown: list[float]) -> bool:
        true = [v * info.scale for v in (mean, low, high)]
        return all(side(s, shown_goal) == side(t, scaled_goal) for s, t in zip(shown, true, strict=True))

    def shown(value: float, digits: int) -> float:  # a value, scaled, as printed at these digits
        return value * info.scale if value in bounds else _rounded(value * info.scale, digits)

    clipped = (low, high) != (mean - half_width, mean + half_width)  # printed as its ends, not "m ± h"
    m, h = shown(mean, places), _rounded(half_width * info.scale, places)
    usual = ([m, shown(low, places), shown(high, places)] if clipped else
             [m, _rounded(m - h, places), _rounded(m + h, places)])  # what a reader adds up from "m ± h"
    if honest(usual):
        return None
    most = max(places, significant_decimals(scaled_goal, 3)) + 3
    digits = next((d for d in range(places, most) if honest([shown(v, d) for v in (mean, low, high)])), most)
    return _range_text(mean, low, high, digits, name)


def _rounded(scaled: float, digits: int) -> float:
    """A scaled value rounded as :func:`_at` prints it (negative ``digits``: to tens, hundreds)."""
    return round(scaled, digits) if digits >= 0 else round(scaled / 10.0 ** -digits) * 10.0 ** -digits


def _range_text(mean: float, low: float, high: float, places: int, name: str) -> str:
    """``mean (low to high)`` at ``places``, a metric's range end printed as it is."""
    bounds = metric_info(name).bounds or ()
    ends = [value_text(end, name) if end in bounds else _at(end, places, name) for end in (low, high)]
    return f"{_at(mean, places, name)} ({ends[0]} to {ends[1]})"


def plus_minus(value: float, half_width: float, name: str = "") -> str:
    """``value ± half-width`` rounded to the half-width's digits; the value alone when the half-width is NaN or 0."""
    info = metric_info(name)
    if value is None or not math.isfinite(value):
        return "–"
    places = _places(value, half_width, name)
    if places is None:  # no spread known
        value *= info.scale
        if info.count and float(value).is_integer():
            return number(value, 0)
        return number(value, 1 if info.count else None)
    return f"{_at(value, places, name)} ± {_at(half_width, places, name)}"


def clipped_text(value: float, low: float, high: float, half_width: float, name: str = "") -> str:
    """``value (low to high)`` with the digits ``half_width`` supports: an interval clipped to the metric's range."""
    places = _places(value, half_width, name)
    if places is None:
        return value_text(value, name)
    return _range_text(value, low, high, places, name)


def _places(value: float, half_width: float, name: str) -> int | None:
    """Decimal places for a value with this half-width (negative: tens, hundreds); None without a spread."""
    info = metric_info(name)
    value, half_width = value * info.scale, half_width * info.scale
    if not math.isfinite(half_width) or half_width < 1e-9 * max(1.0, abs(value)):
        return None  # seeds that agreed, up to rounding error: no spread
    places = uncertainty_decimals(half_width)
    if info.count:  # a mean of whole counts: one decimal, or none where the mean is whole
        return 0 if float(value).is_integer() else 1
    if places < 0 and half_width >= abs(value):  # keep the mean visible: 1,900 ± 2,900, not 2,000 ± 3,000
        return min(0, -(math.floor(math.log10(half_width)) - 1))
    return places


def _at(value: float, places: int, name: str) -> str:
    value *= metric_info(name).scale
    if places >= 0:
        return number(value, places)
    return number(_rounded(value, places), 0)  # rounded to tens, hundreds, ...


def value_text(value: float, name: str = "") -> str:
    """One value of a metric as a sentence shows it: 3 significant digits, counts to one decimal."""
    info = metric_info(name)
    if value is None or not math.isfinite(value):
        return "–"
    scaled = value * info.scale
    if info.count:
        return number(scaled, 0 if float(scaled).is_integer() else 1)
    return number(scaled, None if abs(scaled) < 1000 else 0)


def p_text(p: float) -> str:
    """``p = 0.002``, ``p < 0.001``, ``p = 0.31``: two significant digits, never scientific notation; three
    where two would round across the 0.05 that verdicts use (0.0496 is "p = 0.0496", not "p = 0.050")."""
    if p is None or not math.isfinite(p):
        return "p = –"
    if p < 0.001:
        return "p < 0.001"
    if p >= 0.995:
        return "p = 1"
    if 0.0495 <= p < 0.0505 and p != 0.05:
        return f"p = {p:.4f}"
    return f"p = {number(p, max(2, significant_decimals(p, 2)) if p < 0.1 else 2)}"


def _no_negative_zero(text: str) -> str:
    return text[1:] if text.startswith("-") and text.strip("-0.,") == "" else text
