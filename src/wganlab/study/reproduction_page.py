"""The markdown of ``docs/reproduction.md``: one row per claim with its verdict, budget, figure and table, the
tallies, and the rows carried in a comment so that a later rewrite can keep those whose study is not at hand."""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from wganlab.errors import WganlabError
from wganlab.study import figures
from wganlab.study.aggregate import StudyResults, run_value, t_interval
from wganlab.study.numbers import TIMING_TOLERANCE, plus_minus
from wganlab.study.search import SEARCH_FILE
from wganlab.study.verdicts import AGREES, DISAGREES, NOT_REPRODUCED, UNMEASURED, UNSEPARATED, VERDICTS

SECTIONS = {"studies": "The five source studies", "other": "Other results wganlab measures"}
CARRIED = "measured before budgets were recorded"  # a row kept from a page written before they were
# Cited by authors and title; the rows name them by their authors (or "the MNIST blog").
SOURCE_STUDIES = (
    'Gribsvad & Bundgaard-Nielsen (DTU), "Wasserstein Generative Adversarial Networks"',
    'Garrido, Lafourcade, Lapertot & Lefevre, "A practical guide to understanding and applying Generative '
    'Adversarial Networks and their improvements" (2019)',
    'Pan, Xie & Chen, "Loss Function Matters: Probing into the Reason behind Wasserstein GAN\'s Success"',
    'Astroth, "Wasserstein Generative Adversarial Networks and Their Applications"',
    'the MNIST blog, "Wasserstein GANs" (a blog post, no author named in its text: GAN against WGAN-GP on MNIST '
    'with the TensorFlow DCGAN tutorial\'s networks)',
)
BUDGET_CLASSES = ("at or above the source's budget", "10–100 % of it", "under 10 % of it",
                  "source budget not stated", CARRIED, "not measured")


@dataclass
class ClaimRow:
    source: str
    claim: str
    study: str
    seeds: str
    cpu_time: str
    measured: str
    verdict: str
    why: str = ""
    measured_on: str = ""  # the day the newest run behind the row was measured (measured_day); empty: not measured
    figure: str = ""  # the claim's figure, relative to the page (written from the same study outputs)
    table: str = ""  # markdown shown under the figure: the numbers it draws
    section: str = "studies"  # "studies": the five source studies; "other": other papers, wganlab's questions
    where: str = ""  # the source's section or figure
    quote: str = ""  # the source's own sentence
    differences: str = ""  # settings that differ from the source's, stated after the claim (not part of its key)
    budget: str = ""  # ours beside the source's, with the ratio
    budget_class: str = ""  # one of BUDGET_CLASSES

    @property
    def key(self) -> str:
        """Which claim the row is about, to carry it over only while the claim reads the same."""
        return f"{self.source}\n{self.claim}"


ROWS_MARK = "wganlab reproduce rows"


def _search_figure(results: StudyResults) -> bytes | None:
    """A searched study's "best metric after k trials" curves, from its ``search.json`` (None without one)."""
    path = results.out / SEARCH_FILE
    return figures.search_figure(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None


# A claim's ``figure:`` names one of these; each draws from the study's results, or returns None.
FIGURES = {"critic-vs-w1": figures.critic_vs_w1_figure, "augment": figures.augmentation_figure,
           "search": _search_figure,
           "class-accuracy": lambda results: figures.seed_curves_figure(results, "class_accuracy",
                                                                        "asked-class accuracy"),
           "coverage": lambda results: figures.seed_curves_figure(results, "coverage", "coverage"),
           "fid": lambda results: figures.seed_curves_figure(results, "fid", "FID (in training)")}


FIGURE_CAPTIONS = {"critic-vs-w1": "the exact batch W1 (solid) and each critic's estimate of it (dashed), means "
                   "over seeds with 95% bands",
                   "augment": "held-out accuracy against generated rows per real row (0: real rows only), with "
                   "generated rows only (GAN-train) dashed; means over seeds with 95% error bars",
                   "search": "the best metric a search of k trials finds for each variant (Lucic et al. 2018): the "
                   "median of a bootstrap of its trials with the 95% band",
                   "class-accuracy": "the share of each run's samples classified as the class asked for, at every "
                   "evaluation during training, one line per seed (chance: 1 in 10)",
                   "coverage": "the share of real samples with a generated one within their 5th-nearest-neighbour "
                   "distance (Naeem et al.'s coverage, which grows with the number generated: 1,000 of the real "
                   "MNIST digits against all 10,000 reach 0.27), at every in-training evaluation, one line per seed",
                   "fid": "the FID of each run's fixed latents at every evaluation during training, one line per "
                   "seed (a sudden collapse shows as a jump)"}


_ROWS_COMMENT = re.compile(r"<!-- " + ROWS_MARK + r"(?: [^\n]*)?\n(.*?)\n-->", re.DOTALL)  # mark, note, rows
# Said beside the record, for whoever reads the file rather than the page: why a claim is missing from it.
ROWS_NOTE = ("(the measured rows, kept for a later rewrite; a not-measured row is rebuilt from "
             "src/wganlab/study/claims.yaml each time)")


def build_page(rows: list[ClaimRow], command: str) -> str:
    days = sorted({r.measured_on for r in rows if r.measured_on})
    lines = [
        "# The studies' claims, re-measured",
        "",
        f"Written by `{command}` on {date.today().isoformat()} from the studies' outputs; do not edit by hand. "
        "Each row quotes one claim of a source study with its section, says what wganlab measures for it (the "
        "shipped study, seeds, training time on CPUs unless the claim names a GPU, on whichever 2-core host ran "
        "the study that day (hosts have differed up to 2-3x: docs/performance.md; runs started since 2026-12-06 "
        "name their machine in run.json); seeds trained stacked count their share of the stack; a searched "
        "study adds its search's trials), our budget beside the source's, "
        "and the verdict, decided by the rule in "
        "`src/wganlab/study/claims.yaml`: *agrees* / *disagrees* (Holm-corrected p < 0.05 over the claim's own "
        f"pairs for comparisons, and for times a difference over {TIMING_TOLERANCE:.0%}, which study runs of "
        "the same code move a ratio of two variants' times by; "
        "the whole interval past the goal for thresholds, every seed for \"all modes\"; an agreement from runs "
        "with under a tenth of the source's budget, or still improving, keeps its verdict and says so), "
        "*not reproduced* (it would disagree, but the runs it rests on were still improving when they stopped, "
        "too few evaluations show that they had stopped — the slope of the metric over the last third of "
        "training, or over the last 3 evaluations where the last third holds fewer, "
        "`src/wganlab/study/convergence.py` — a threshold's levelled curve of its own metric could still reach it "
        "(the end of the slope's 95% interval on the goal's side, kept up to the source's budget or, where it "
        "states none, for as many steps again, from the best seed of a count judged seed by seed, else from the "
        "end of the values' interval on the goal's side), they had under a tenth of the source's budget, or the "
        "source states no budget and their learning rate decays to 0 at the last step, which levels any curve), "
        "*not separable* (these seeds cannot decide it; from runs with under a tenth of the source's budget, or "
        "still improving, the row says they could still separate) or *not measured* "
        "(and why, and what it would cost). Claims of other papers, and wganlab's own questions, are in the second "
        "table and not in the first table's counts.",
        "",
        "The five source studies: " + "; ".join(SOURCE_STUDIES) + ".",
        "",
        *_counts(rows),
    ]
    if len(days) > 1:
        lines += ["", f"Measured on {', '.join(days)} (the *on* column: the day the newest run behind a row was "
                      "measured; a row whose study was not found when the page was rewritten is kept from the page "
                      "before, with its day)."]
    drawn: dict[str, tuple[str, str]] = {}  # figure -> (study, its table), each shown once
    for section, title in SECTIONS.items():
        chosen = [r for r in rows if r.section == section]
        if not chosen:
            continue
        lines += ["", f"## {title}", "", "| source, section | claim | study | seeds | budget | time | on | measured "
                  "| verdict |", "|---|---|---|---|---|---|---|---|---|"]
        for row in chosen:
            verdict = f"**{row.verdict}**" + (f": {row.why}" if row.why else "")
            measured = row.measured + (f" ([figure]({row.figure}))" if row.figure else "")
            claim = (f"\"{row.quote}\" Tested: {row.claim}" if row.quote else row.claim)
            claim += f" Differences: {row.differences}" if row.differences else ""
            source = f"{row.source}, {row.where}" if row.where else row.source
            lines.append(f"| {source} | {claim} | `{row.study}` | {row.seeds} | {row.budget or '–'} | "
                         f"{row.cpu_time} | {row.measured_on or '–'} | {measured} | {verdict} |")
            if row.figure:
                drawn.setdefault(row.figure, (row.study, row.table))
    lines += ["", "Each study's report (`report.html` in its directory) shows the samples and curves behind its rows."]
    if drawn:
        lines += ["", "## Figures"]
        for path, (study, table) in drawn.items():
            kind = Path(path).stem.rsplit(".", 1)[-1]
            lines += ["", f"`{study}`: {FIGURE_CAPTIONS.get(kind, kind)}.", "", f"![{study}]({path})"]
            lines += ["", table] if table else []
    record = json.dumps([asdict(r) for r in rows if r.measured_on], ensure_ascii=False, indent=0)
    lines += ["", f"<!-- {ROWS_MARK} {ROWS_NOTE}", record, "-->"]
    return "\n".join(lines) + "\n"


def _counts(rows: list[ClaimRow]) -> list[str]:
    """The headline: verdicts per section, and per budget class within it."""
    lines = []
    for section, title in SECTIONS.items():
        chosen = [r for r in rows if r.section == section]
        if not chosen:
            continue
        lines.append(f"**{title}**: " + _tally(chosen) + ".")
        lines += [f"- {budget}: {_tally(group)}" for budget in BUDGET_CLASSES
                  if (group := [r for r in chosen if r.budget_class == budget])]
        lines.append("")
    return lines[:-1]


def _tally(rows: list[ClaimRow]) -> str:
    return ", ".join(f"{sum(r.verdict == v for r in rows)} {VERDICT_PLURALS[v]}" for v in VERDICTS
                     if any(r.verdict == v for r in rows))


VERDICT_PLURALS = {AGREES: "agree", DISAGREES: "disagree", NOT_REPRODUCED: "not reproduced at the budget",
                   UNSEPARATED: "not separable", UNMEASURED: "not measured"}


def measured_rows(page: Path) -> dict[str, ClaimRow]:
    """The measured rows a page written by :func:`build_page` carries, by claim; none if the page is absent, was
    not written by it, or its record cannot be read (the rows are then measured again or marked not run)."""
    try:
        found = _ROWS_COMMENT.search(Path(page).read_text(encoding="utf-8"))
        records = json.loads(found.group(1)) if found else []
    except (OSError, ValueError):
        return {}
    names = {f.name for f in fields(ClaimRow)}
    required = {f.name for f in fields(ClaimRow) if f.default is MISSING}  # a page written before a field existed
    rows = [ClaimRow(**{k: v for k, v in r.items() if k in names}) for r in records
            if isinstance(r, dict) and required <= r.keys()]
    return {row.key: row for row in rows if row.measured_on}


AUGMENT_COLUMNS = {"accuracy_real": "real only", "accuracy_generated": "generated only (GAN-train)",
                   "accuracy_x0.5": "real + 0.5x", "accuracy_x1": "real + 1x", "accuracy_filtered_x1":
                   "real + 1x filtered", "accuracy_x2": "real + 2x", "accuracy_x4": "real + 4x",
                   "gan_test": "GAN-test"}


def augmentation_table(results: StudyResults) -> str:
    """Held-out accuracy (%) by what the classifier was trained on, one row per dataset and variant: the mean
    over seeds ± the 95% half-width, as the augment figure draws it."""
    lines = ["| data | variant | seeds | " + " | ".join(AUGMENT_COLUMNS.values()) + " |",
             "|---|---|---|" + "---|" * len(AUGMENT_COLUMNS)]
    for runs in results.groups().values():
        done = [r for r in runs if r.result is not None and run_value(r, "accuracy_real") is not None]
        if not done:
            continue
        cells = []
        for metric in AUGMENT_COLUMNS:
            interval = t_interval([run_value(r, metric) for r in done])
            cells.append(plus_minus(100 * interval.mean, 100 * interval.half_width) if interval.n else "–")
        labels = done[0].labels
        lines.append(f"| {labels.get('data', '')} | {labels.get('variant', '')} | {len(done)} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nHeld-out accuracy in %, mean ± 95% half-width over seeds." if len(lines) > 2 else ""


FIGURE_TABLES = {"augment": augmentation_table}


def draw_figure(claim: dict[str, Any], results: StudyResults, folder: Path) -> str:
    """Write the claim's figure as ``images/STUDY-SCALE.KIND.png`` beside the page; its path for the page, or
    empty if the study has nothing to draw."""
    kind = claim["figure"]
    if kind not in FIGURES:
        raise WganlabError(f"claim figure '{kind}' is not one of {', '.join(FIGURES)}")
    png = FIGURES[kind](results)
    if png is None:
        return ""
    name = f"images/{claim['study']}-{claim.get('scale') or 'full'}.{kind}.png"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)
    return name


def minutes_text(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"
