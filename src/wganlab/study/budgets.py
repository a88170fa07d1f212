"""Our budget beside the source's, for each row of ``docs/reproduction.md``: what the runs behind a claim
trained (steps x batch, per variant where they differ, seeds), the source's stated budget, and their ratio, which
decides the row's budget class and whether a levelled curve may refute the source."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wganlab.config import VECTOR_DATASETS
from wganlab.study.reproduction_page import BUDGET_CLASSES, CARRIED, ClaimRow
from wganlab.study.task import saved_config
from wganlab.study.verdicts import AGREES, UNSEPARATED


def last_step_read(test: dict[str, Any]) -> int | None:
    """The last training step a claim reads from the runs' logs (``alike``, ``at_step``); None: the end."""
    if test["kind"] == "alike":
        return max(test["steps"])
    return test.get("at_step")


@dataclass(frozen=True)
class OurBudget:
    """What the runs behind a row trained: each distinct (steps, batch) with the variants (or datasets) that
    trained it, and the seeds per experiment. For ``alike``/``at_step`` the steps are the last step read."""

    lengths: tuple[tuple[int, int | None, str], ...]  # (steps, batch or None where no config says, who)
    seeds: int

    @property
    def most_samples(self) -> int | None:
        """The most samples any of the runs saw (steps × batch), None where a batch is unknown."""
        if any(batch is None for _, batch, _ in self.lengths):
            return None
        return max(steps * batch for steps, batch, _ in self.lengths)

    def text(self) -> str:
        """``1,000 steps × 256, 5 seeds``; where variants trained for different lengths, each with its own:
        ``1,200 steps × 32 (dcgan), 500 × 32 (wgan), 5 seeds``."""
        parts = []
        for i, (steps, batch, who) in enumerate(self.lengths):
            size = f" × {batch}" if batch else ""
            parts.append(f"{steps:,}{' steps' if i == 0 else ''}{size}" + (f" ({who})" if who else ""))
        return f"{', '.join(parts)}, {self.seeds} seeds"


def our_budget(claim: dict[str, Any], runs: list) -> OurBudget | None:
    """The runs' budget (:class:`OurBudget`): steps from each run's result (the last step read for ``alike`` and
    ``at_step``), batch sizes from their saved configs; None where the runs say no steps."""
    length: dict[tuple[str, str], tuple[int, int | None]] = {}
    for run in runs:
        steps = last_step_read(claim["test"])
        if steps is None and run.result and isinstance(run.result.get("steps"), int):
            steps = run.result["steps"]
        if steps is None:
            continue
        config = saved_config(run.run_dir)
        batch = None
        if config:
            is_vectors = config.get("data", {}).get("name") in VECTOR_DATASETS
            batch = config.get("batch_size") or (256 if is_vectors else 64)
        cell = (run.labels.get("data"), run.labels.get("variant"))
        before_steps, before_batch = length.get(cell, (0, None))  # a cell's seeds: the longest, a known batch
        length[cell] = (max(steps, before_steps), batch if batch is not None else before_batch)
    if not length:
        return None
    known = {batch for _, batch in length.values() if batch is not None}
    if len(known) == 1:  # a run without a saved config trained at the batch every other run did
        length = {cell: (steps, next(iter(known))) for cell, (steps, _) in length.items()}
    groups: dict[tuple[int, int | None], list[tuple[str, str]]] = {}
    for cell, combination in length.items():
        groups.setdefault(combination, []).append(cell)
    by_variant = len({v for _, v in length}) == sum(len({v for _, v in cells}) for cells in groups.values())
    variants_of: dict[str, set[str]] = {}
    for data, variant in length:
        variants_of.setdefault(data, set()).add(variant)

    def who(cells: list[tuple[str, str]]) -> str:
        """The variants, when each trains one length; else each dataset whose every variant trains this one,
        and "variant on dataset" for the rest."""
        if len(groups) == 1:
            return ""
        if by_variant:
            return ", ".join(dict.fromkeys(v for _, v in cells))
        named = []
        for data in dict.fromkeys(d for d, _ in cells):
            here = [v for d, v in cells if d == data]
            named += [data] if set(here) == variants_of[data] else [f"{v} on {data}" for v in here]
        return ", ".join(named)

    ordered = sorted(groups.items(), key=lambda item: -item[0][0] * (item[0][1] or 1))
    seeds = len({(r.labels.get("data"), r.labels.get("variant"), r.labels.get("seed")) for r in runs})
    return OurBudget(tuple((steps, batch, who(cells)) for (steps, batch), cells in ordered),
                     max(1, seeds // len(length)))


def budget_text(claim: dict[str, Any], runs: list) -> tuple[str, str, float | None]:
    """``ours 1,000 steps × 256 (5 seeds); source: ... : 1 % of it``, the row's budget class, and the ratio of
    our samples seen to the source's (None where either is unknown)."""
    theirs = source_text(claim)
    if claim["test"]["kind"] == "unmeasured" or not runs:
        return f"source: {theirs}", BUDGET_CLASSES[5], None
    ours = our_budget(claim, runs)
    if ours is None:
        return f"source: {theirs}", BUDGET_CLASSES[3], None
    text = f"ours: {ours.text()}; source: {theirs}"
    ratio = _ratio(claim, ours)
    if ratio is None:
        return text, BUDGET_CLASSES[3], None
    text += f" ({'up to ' if len(ours.lengths) > 1 else ''}{_percent(ratio)} of it)"
    budget_class = BUDGET_CLASSES[0] if ratio >= 1 else BUDGET_CLASSES[1] if ratio >= 0.1 else BUDGET_CLASSES[2]
    return text, budget_class, ratio


def source_text(claim: dict[str, Any]) -> str:
    """What the claims file says of the source's budget, on one line."""
    return " ".join(str((claim.get("source_budget") or {}).get("text", "not stated")).split())


def carried_budget(claim: dict[str, Any], kept: ClaimRow) -> dict[str, str]:
    """The budget fields of a row kept from an earlier page. Ours was measured and stays; the source's side is
    what the claims file states now, so a corrected reading of the source reaches the page without re-running
    the study (kept whole where the kept text holds a ratio of ours to the source's, measured with both);
    and an agreement or a "not separable" about trained models written before rows said so gets the caveat of
    runs under a tenth of the source's budget, with the share :func:`budget_text` wrote."""
    budget = kept.budget or f"source: {source_text(claim)}"  # a page written before rows held budgets
    ours, separator, _ = budget.partition("; source: ")
    share = re.search(r"\((?:up to )?([^()]+%) of it\)$", budget)
    if separator and share is None:
        budget = f"{ours}; source: {source_text(claim)}"
    why, trained = kept.why, claim.get("trained", True)
    if not why and trained and kept.verdict in (AGREES, UNSEPARATED) and kept.budget_class == BUDGET_CLASSES[2] \
            and share:
        why = unfinished_caveat(f"{share.group(1)} of the source's budget", kept.verdict)
    return {"budget": budget, "why": why, "budget_class": kept.budget_class or CARRIED}


def unfinished_caveat(share: str, verdict: str, improving: list[str] | None = None) -> str:
    """What an agreement or a "not separable" from runs that could not refute a claim says: ``share`` of the
    source's budget they had (:func:`share_text`), the curves still improving, and what more training could do."""
    could = "change the verdict" if verdict == AGREES else "separate"
    return (f"at {share}" + (", still improving: " + "; ".join(improving) if improving else "")
            + f"; trained on, these models could still {could}")


def _ratio(claim: dict[str, Any], ours: OurBudget | None) -> float | None:
    """The most samples any of our runs saw (steps × batch) over the source's, where both are known."""
    samples = (claim.get("source_budget") or {}).get("samples")
    if not samples or ours is None or not ours.most_samples:
        return None
    return ours.most_samples / float(samples)


def budget_ratio(claim: dict[str, Any], runs: list) -> float | None:
    """These runs' share of the source's budget: the most samples any of them saw over the source's."""
    return _ratio(claim, our_budget(claim, runs))


def share_text(ratio: float | None) -> str:
    return f"{_percent(ratio)} of the source's budget" if ratio is not None else \
        "our budget (the source states none to compare with)"


def _percent(ratio: float) -> str:
    value = 100 * ratio
    return f"{value:.0f} %" if value >= 10 else f"{value:.1g} %" if value >= 0.1 else "under 0.1 %"
