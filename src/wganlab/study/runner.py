"""``wganlab study``: expand a study, run what is not finished, aggregate over seeds and write the report.

The study directory holds ``study.json`` (the expanded runs, so ``wganlab report`` can rebuild without the study
file), ``runs/<name>/`` per run, ``summary.csv`` / ``summary.md`` and ``report.html``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wganlab.fileio import read_json, write_json_atomic
from wganlab.rundir.lock import DirectoryLock
from wganlab.study import search
from wganlab.study.backends import Job, StackJob, plan_placement, run_local, run_ray
from wganlab.study.layout import MANIFEST_FILE, REPLACED_DIR, RUNS_DIR, StudyChanged, read_manifest
from wganlab.study.spec import RunSpec, Study
from wganlab.study.task import ERROR_FILE, config_differences, read_result, run_state, saved_config

# The directory's layout lives in layout.py (readers import it without the runner); re-exported for callers.
__all__ = ["MANIFEST_FILE", "REPLACED_DIR", "RUNS_DIR", "StudyChanged", "read_manifest", "run_study"]


def default_out(study: Study) -> Path:
    return Path("runs") / "studies" / f"{study.name}-{study.scale}"


def write_manifest(study: Study, out: Path) -> None:
    manifest = {
        "name": study.name,
        "description": study.description,
        "scale": study.scale,
        "axes": study.axes,
        "evaluation_samples": study.evaluation_samples,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runs": [{**asdict(spec), "overrides": list(spec.overrides), "command": spec.command()}
                 for spec in study.runs],
    }
    previous = read_json(out / MANIFEST_FILE)
    if isinstance(previous, dict):
        manifest["created"] = previous.get("created", manifest["created"])
    write_json_atomic(out / MANIFEST_FILE, manifest)


def run_study(study: Study, out: str | Path, backend: str = "local", workers: int | None = None,
              address: str | None = None, log: Any = None, stack_seeds: bool | None = None,
              rerun_changed: bool = False) -> dict[str, Any]:
    """Run every unfinished run of ``study`` under ``out``; returns counts and the failed runs' errors.
    ``stack_seeds`` (default: the study file's ``stack_seeds``) trains the runs of a variant that differ only in
    their seed as one stacked model each (:mod:`wganlab.stacking`).

    A run already under ``out`` is reused or resumed only when its saved config is what the study now asks
    (execution settings aside; ``steps`` and the evaluation's sample count included): otherwise the study is
    refused with :class:`StudyChanged`, naming the runs and settings, so that no table can mix results of two
    configs. ``rerun_changed`` instead moves those runs to ``OUT/replaced/`` and trains them again.

    ``out`` is locked while the study runs: a second study process on it is refused with the holder's name.
    Progress lines go to ``log`` (default: ``sys.stderr`` as it is when the study starts).
    """
    log, out = (sys.stderr if log is None else log), Path(out)
    if study.search is not None:
        return _run_search(study, out, backend, workers, address, log, stack_seeds, rerun_changed)
    with DirectoryLock(out, "a study writing this directory"):
        changed = changed_runs(study, out)
        if changed and not rerun_changed:
            raise StudyChanged(changed_message(changed, out))
        for name in changed:
            _set_aside(out, name, changed[name], log)
        stack = study.stack_seeds if stack_seeds is None else stack_seeds
        outcome = _run_unfinished(study, out, backend, workers, address, log, stack)
        return {**outcome, "replaced": len(changed)}


def _run_search(study: Study, out: Path, backend: str, workers: int | None, address: str | None, log: Any,
                stack_seeds: bool | None, rerun_changed: bool) -> dict[str, Any]:
    """A study with a search (:mod:`wganlab.study.search`): its trials in ``OUT/trials``, then the best settings of
    each variant on the fresh seeds in ``OUT``, with ``OUT/search.json``. A trial that failed (diverged, or a
    drawn setting that cannot train) is an outcome of the search, counted as its worst; an interrupted one is
    not, and the re-runs wait for it."""
    from wganlab.study.aggregate import collect

    trials = run_study(search.trials_study(study), out / search.TRIALS_DIR, backend, workers, address, log,
                       stack_seeds, rerun_changed)
    if trials["interrupted"]:
        print(f"search {study.name}: the re-runs of the best settings wait for every trial to finish; run the "
              "same command again", file=log, flush=True)
        return {**trials, "failed": {}, "failed_trials": trials["failed"], "trials": trials["runs"], "runs": 0}
    record = search.choose(study.search, study.base_runs, collect(out / search.TRIALS_DIR).runs)
    confirm = search.confirmation_study(study, record)
    with DirectoryLock(out, "a study writing this directory"):
        changed = changed_runs(confirm, out)  # before the record changes: a refused study keeps its old choice
        if changed and not rerun_changed:
            raise StudyChanged(changed_message(changed, out))
        write_json_atomic(out / search.SEARCH_FILE, record)
    chosen = run_study(confirm, out, backend, workers, address, log, stack_seeds, rerun_changed)
    return {**chosen, "skipped": chosen["skipped"] + trials["skipped"], "ran": chosen["ran"] + trials["ran"],
            "trials": trials["runs"], "failed_trials": trials["failed"]}


def changed_runs(study: Study, out: Path) -> dict[str, list[str]]:
    """Runs under ``out`` (started or finished) whose saved config differs from what ``study`` now asks for
    them, with the settings that differ; a finished run measured on another number of samples is listed too."""
    changed: dict[str, list[str]] = {}
    for spec in study.runs:
        run_dir = Path(out) / RUNS_DIR / spec.name
        saved = saved_config(run_dir)
        if saved is None:
            continue
        keys = config_differences(saved, spec.config().to_dict())
        measured = ((read_result(run_dir) or {}).get("final") or {}).get("samples")
        if measured is not None and measured != study.evaluation_samples:
            keys.append("evaluation.samples")
        if keys:
            changed[spec.name] = keys
    return changed


def changed_message(changed: dict[str, list[str]], out: Path) -> str:
    """One line: the first changed run and its settings, how many more, and the two ways on."""
    name, keys = next(iter(changed.items()))
    more = f" (and {len(changed) - 1} more run{'s' if len(changed) > 2 else ''})" if len(changed) > 1 else ""
    shown = ", ".join(keys[:6]) + (f" and {len(keys) - 6} more" if len(keys) > 6 else "")
    return (f"'{Path(out) / RUNS_DIR / name}' was trained with another config than the study now asks ({shown} "
            f"differ){more}; retrain the changed runs with --rerun-changed (the old ones are kept in "
            f"{Path(out) / REPLACED_DIR}), or write the study to another --out")


def _set_aside(out: Path, name: str, keys: list[str], log: Any) -> None:
    """Move a changed run to ``OUT/replaced/NAME-<time>`` so that it is retrained, never deleted."""
    run_dir = Path(out) / RUNS_DIR / name
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = Path(out) / REPLACED_DIR / f"{name}-{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    run_dir.rename(target)
    print(f"retraining {name}: {', '.join(keys)} changed (the old run is in {target})", file=log, flush=True)


def _run_unfinished(study: Study, out: Path, backend: str, workers: int | None, address: str | None,
                    log: Any, stack_seeds: bool) -> dict[str, Any]:
    write_manifest(study, out)
    pending, skipped = [], 0
    for spec in study.runs:
        run_dir = out / RUNS_DIR / spec.name
        if run_state(run_dir) == "finished":
            skipped += 1
            continue
        job = Job(spec.name, str(run_dir), spec.preset, list(spec.overrides), study.evaluation_samples)
        pending.append((_expected_cost(spec), job))
    units: list[tuple[float, Job | StackJob]] = stack_by_seed(pending, log) if stack_seeds else list(pending)
    units.sort(key=lambda pair: pair[0], reverse=True)  # longest first: no worker idles behind a long run
    todo = [job for _, job in units]
    total = sum(len(job.members) for job in todo)
    placement = plan_placement(len(todo), workers)
    stacks = sum(isinstance(job, StackJob) for job in todo)
    print(f"study {study.name} ({study.scale}): {len(study.runs)} runs, {skipped} already finished, {total} to "
          f"run{f' ({stacks} stacks of seeds)' if stacks else ''} on {backend} ({placement.workers} at a time x "
          f"{placement.threads} threads{f', {placement.gpus} GPUs' if placement.gpus else ''})", file=log, flush=True)
    runs = run_ray(todo, placement, address) if backend == "ray" else run_local(todo, placement)
    failed: dict[str, str] = {}
    interrupted = 0
    started = time.perf_counter()
    # closing: a Ctrl-C or SIGTERM raised here, between two results, stops the backend's runs at their
    # checkpoints now (the generator's own cleanup), not whenever the interpreter collects the generator
    with contextlib.closing(runs):
        for count, (job, result) in enumerate(runs, start=1):
            status = result.get("status")
            if status == "failed":
                failed[job.name] = result.get("error", "unknown error")
            interrupted += status == "interrupted"
            detail = _headline(result) if status == "finished" else result.get("error", "")
            print(f"[{count}/{total}] {job.name}: {status} {detail}".rstrip() +
                  f"  ({time.perf_counter() - started:.0f} s)", file=log, flush=True)
    return {"runs": len(study.runs), "skipped": skipped, "ran": total, "failed": failed,
            "interrupted": interrupted}


def stack_by_seed(pending: list[tuple[float, Job]], log: Any) -> list[tuple[float, Job | StackJob]]:
    """The pending runs with those that differ only in their seed grouped into one stack each; a group that
    cannot be stacked (:func:`~wganlab.stacking.trainer.stacking_refusal`) is said so in one line and runs as
    separate runs. A stack's cost, for ordering, is its seeds' sum."""
    from wganlab.config import load_config
    from wganlab.stacking.trainer import stacking_refusal

    groups: dict[tuple[Any, ...], list[tuple[float, Job]]] = {}
    for cost, job in pending:
        key = (job.preset, tuple(o for o in job.overrides if not o.startswith("seed=")), job.evaluation_samples)
        groups.setdefault(key, []).append((cost, job))
    units: list[tuple[float, Job | StackJob]] = []
    for (preset, overrides, _), members in groups.items():
        refusal = stacking_refusal(load_config(preset, list(overrides))) if len(members) > 1 else "one seed"
        if refusal is None:
            units.append((sum(cost for cost, _ in members), StackJob(tuple(job for _, job in members))))
            continue
        if len(members) > 1:
            print(f"not stacked: {', '.join(job.name for _, job in members)}: {refusal}; they run separately",
                  file=log, flush=True)
        units += members
    return units


def _expected_cost(spec: RunSpec) -> float:
    """A rough relative cost, for ordering only: network passes times batch, images far above 2D points."""
    config = spec.config()
    passes = config.steps * (config.critic_steps + 1)
    return passes * config.resolved_batch_size * (1.0 if config.is_vectors else 100.0)


def failed_runs(out: Path) -> dict[str, str]:
    """Runs whose last attempt failed, with the one-line reason each wrote."""
    found = {}
    for error in sorted((Path(out) / RUNS_DIR).glob(f"*/{ERROR_FILE}")):
        found[error.parent.name] = error.read_text(encoding="utf-8").splitlines()[0]
    return found


def _headline(result: dict[str, Any]) -> str:
    final = result.get("final") or {}
    for key, fmt in (("fid", "FID {:.2f}"), ("w1", "W1 {:.4f}")):
        if final.get(key) is not None:
            text = fmt.format(final[key])
            if final.get("modes_covered") is not None:
                text += f", modes {final['modes_covered']}/{final.get('modes_total')}"
            return text
    return ""
