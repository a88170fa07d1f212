"""Where a study's runs execute: a local process pool, or Ray tasks on a machine or a cluster.

Both take the same list of :class:`Job` and yield ``(job, result)`` as runs end, in completion order. The machine
is filled with processes x threads (two torch processes with a thread per core each oversubscribe the CPU:
``../shared/MEASURED.md``), and with one run per GPU, round-robin, when GPUs are visible.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from wganlab.study.task import execute_run


@dataclass(frozen=True)
class Job:
    name: str
    run_dir: str
    preset: str | None
    overrides: list[str]
    evaluation_samples: int


@dataclass(frozen=True)
class Placement:
    """How many runs at once, torch threads per run, and the GPU count runs are spread over."""

    workers: int
    threads: int
    gpus: int


def plan_placement(jobs: int, workers: int | None = None, cpus: int | None = None,
                   gpus: int | None = None) -> Placement:
    """Processes x threads that fill ``cpus`` cores without oversubscribing; one run per GPU when there are GPUs."""
    cpus = cpus or os.cpu_count() or 1
    if gpus is None:
        gpus = _visible_gpus()
    default = gpus if gpus else cpus
    count = max(1, min(workers or default, max(jobs, 1)))
    return Placement(count, max(1, cpus // count), gpus)


def _visible_gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken CUDA install means no GPUs for placement purposes
        return 0


def run_local(jobs: list[Job], placement: Placement) -> Iterator[tuple[Job, dict[str, Any]]]:
    """The runs in ``placement.workers`` spawned processes; on GPUs a fresh process per run (its own device).

    On the CPU a worker process trains run after run: starting Python, torch and the feature network takes about
    4 s, a tenth of a short run. Each run seeds every generator and sets its threads itself, so nothing of one run
    carries into the next. On GPUs each run gets a fresh process, which must see its one device before CUDA starts.

    A run is submitted only when a worker is free, so on Ctrl-C nothing is queued behind the running runs: they
    receive the same SIGINT (one process group), write a checkpoint and return, and no new run starts.
    """
    context = multiprocessing.get_context("spawn")
    waiting = list(enumerate(jobs))
    with ProcessPoolExecutor(max_workers=placement.workers, mp_context=context,
                             max_tasks_per_child=1 if placement.gpus else None) as pool:
        running: dict[Future, Job] = {}

        def submit_next() -> None:
            index, job = waiting.pop(0)
            gpu = index % placement.gpus if placement.gpus else None
            running[pool.submit(execute_run, job.run_dir, job.preset, job.overrides, placement.threads, gpu,
                                job.evaluation_samples)] = job

        while waiting and len(running) < placement.workers:
            submit_next()
        try:
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield running.pop(future), _outcome(future)
                    if waiting:
                        submit_next()
        except BaseException:
            waiting.clear()  # the running runs checkpoint on the same Ctrl-C; the pool waits for them
            raise


def _outcome(future: Future) -> dict[str, Any]:
    if future.cancelled():
        return {"status": "interrupted"}
    error = future.exception()
    if error is not None:  # the worker process itself died (killed, out of memory)
        return {"status": "failed", "error": f"worker process ended: {type(error).__name__}: {error}"}
    return future.result()


def run_ray(jobs: list[Job], placement: Placement, address: str | None = None) -> Iterator[tuple[Job, dict[str, Any]]]:
    """Each run as a Ray task asking for ``placement.threads`` CPUs (and a GPU when the cluster has them).

    ``address`` is ``auto`` or ``HOST:PORT`` of a running cluster; without it a local Ray instance is started
    with this machine's CPUs. Run directories must be on storage every node sees (a shared file system).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        from wganlab.study.spec import StudyError

        raise StudyError("the Ray backend needs Ray: pip install 'wganlab[ray]' (or use --backend local)") from None
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "configure_logging": False}
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=placement.workers * placement.threads, num_gpus=placement.gpus, **options)
    pending: dict[Any, Job] = {}
    try:
        gpus_in_cluster = int(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(num_cpus=placement.threads, num_gpus=1 if gpus_in_cluster else 0, max_retries=0)(_ray_run)
        pending = {task.remote(job.run_dir, job.preset, job.overrides, placement.threads,
                               job.evaluation_samples): job for job in jobs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            job = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except Exception as err:  # a task whose worker died
                result = {"status": "failed", "error": f"Ray task failed: {type(err).__name__}: {err}"}
            yield job, result
    except BaseException:
        for ref in pending:  # a cancelled run stops inside its step; its last periodic checkpoint is intact
            ray.cancel(ref)
        raise
    finally:
        if started_here:
            ray.shutdown()


def _ray_run(run_dir: str, preset: str | None, overrides: list[str], threads: int, samples: int) -> dict[str, Any]:
    # Ray sets CUDA_VISIBLE_DEVICES to the task's GPU itself, so no GPU index is passed on.
    return execute_run(run_dir, preset, overrides, threads, None, samples)
