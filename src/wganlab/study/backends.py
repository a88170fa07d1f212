"""Where a study's runs execute: a local process pool, or Ray tasks on a machine or a cluster.

Both take the same list of :class:`Job` and yield ``(job, result)`` as runs end, in completion order. The machine
is filled with processes x threads (two torch processes with a thread per core each oversubscribe the CPU, and
OpenMP threads that wait for a core slow each other down several times over), and with one run per GPU,
round-robin, when GPUs are visible.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import connection
from typing import Any

from wganlab.study.task import execute_run, execute_stack
from wganlab.study.workers import Worker, worker_context

RAY_STOP_TIMEOUT_S = 60  # how long a stopped study waits for its cancelled Ray runs to write their checkpoints


@dataclass(frozen=True)
class Job:
    name: str
    run_dir: str
    preset: str | None
    overrides: list[str]
    evaluation_samples: int

    @property
    def members(self) -> tuple[Job, ...]:
        """The study runs this job trains (itself)."""
        return (self,)

    def task(self, threads: int, gpu: int | None) -> tuple[Any, tuple[Any, ...]]:
        """What a worker calls, and with what."""
        return execute_run, (self.run_dir, self.preset, self.overrides, threads, gpu, self.evaluation_samples)

    def results(self, result: Any) -> list[tuple[Job, dict[str, Any]]]:
        """The worker's answer as (run, result) pairs."""
        return [(self, result)]


@dataclass(frozen=True)
class StackJob:
    """Runs of one variant that differ only in their seed, trained as one stacked model (wganlab.stacking)."""

    jobs: tuple[Job, ...]

    @property
    def name(self) -> str:
        return f"{self.jobs[0].name} and {len(self.jobs) - 1} more seeds"

    @property
    def run_dir(self) -> str:
        return self.jobs[0].run_dir

    @property
    def members(self) -> tuple[Job, ...]:
        return self.jobs

    def task(self, threads: int, gpu: int | None) -> tuple[Any, tuple[Any, ...]]:
        first = self.jobs[0]
        return execute_stack, ([job.run_dir for job in self.jobs], first.preset, [job.overrides for job in self.jobs],
                               threads, gpu, first.evaluation_samples)

    def results(self, result: Any) -> list[tuple[Job, dict[str, Any]]]:
        if isinstance(result, dict):  # the worker died: the same failure for every seed
            return [(job, result) for job in self.jobs]
        return list(zip(self.jobs, result, strict=True))


@dataclass(frozen=True)
class Placement:
    """How many runs at once, torch threads per run, and the GPU count runs are spread over."""

    workers: int
    threads: int
    gpus: int


def plan_placement(jobs: int, workers: int | None = None, cpus: int | None = None,
                   gpus: int | None = None) -> Placement:
    """Processes x threads that fill ``cpus`` cores without oversubscribing; one run per GPU when there are GPUs."""
    cpus = cpus or usable_cpus()
    if gpus is None:
        gpus = _visible_gpus()
    default = gpus if gpus else cpus
    count = max(1, min(workers or default, max(jobs, 1)))
    return Placement(count, max(1, cpus // count), gpus)


def usable_cpus() -> int:
    """The cores this process may run on: under ``taskset`` or a batch scheduler's CPU set fewer than the machine
    has (``os.cpu_count`` counts them all, and threads for cores one cannot use only contend)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


def _visible_gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # a broken CUDA install means no GPUs for placement purposes
        return 0


def run_local(jobs: list[Job | StackJob], placement: Placement) -> Iterator[tuple[Job, dict[str, Any]]]:
    """The runs in ``placement.workers`` worker processes; on GPUs a fresh process per run (its own device).

    On the CPU a worker process trains run after run (:func:`wganlab.study.workers.worker_context` says how it
    starts). Each run seeds every generator and sets its threads itself, so nothing of one run carries into the
    next. On GPUs each run gets a fresh spawned process, which must see its one device before CUDA starts.

    A worker that dies (SIGKILL from the out-of-memory killer, a crash in native code) takes only its own run with
    it: that run is reported with the signal, a new worker takes the next run, and the others go on. (A
    ``concurrent.futures`` pool would instead break and end every run at once.)

    A run is handed out only when a worker is free, so on Ctrl-C nothing is queued behind the running runs: they
    receive the same SIGINT (one process group), write a checkpoint and return, and no new run starts. A SIGTERM
    sent to the study alone (``kill PID``, ``timeout``, a batch scheduler's end of time) is handled the same way:
    the study passes it on to the running runs and waits for their checkpoints, so that no worker goes on
    training without it.
    """
    context = worker_context(placement.gpus)
    waiting = list(enumerate(jobs))
    reuse = not placement.gpus
    idle: list[Worker] = []
    busy: dict[Worker, Job | StackJob] = {}

    def hand_out() -> None:
        index, job = waiting.pop(0)
        gpu = index % placement.gpus if placement.gpus else None
        task = job.task(placement.threads, gpu)
        while idle:
            worker = idle.pop()
            if worker.give(task):
                busy[worker] = job
                return
            worker.stop()
        worker = Worker(context, reuse)
        if not worker.give(task):  # pragma: no cover - a worker that died before its first run
            raise RuntimeError("a study worker process ended before it could start a run")
        busy[worker] = job

    try:
        with _sigterm_as_ctrl_c(lambda: [worker.signal(signal.SIGTERM) for worker in busy]):
            while waiting and len(busy) < placement.workers:
                hand_out()
            while busy:
                ready = set(connection.wait([handle for worker in busy for handle in worker.handles]))
                for worker in [w for w in busy if ready & set(w.handles)]:
                    job = busy.pop(worker)
                    result = worker.take_result(job)
                    if reuse and worker.alive:
                        idle.append(worker)
                    else:
                        worker.stop()
                    yield from job.results(result)
                    if waiting:
                        hand_out()
    except BaseException:
        waiting.clear()  # the running runs checkpoint on the same Ctrl-C: let them finish writing it
        for worker in busy:
            worker.wait_quietly()
        raise
    finally:
        for worker in [*idle, *busy]:
            worker.stop()


@contextlib.contextmanager
def _sigterm_as_ctrl_c(pass_on: Callable[[], Any]) -> Iterator[None]:
    """While a study waits on its runs, a SIGTERM is passed on to them (``pass_on``) and then raised here as a
    Ctrl-C is, so that the backend stops its runs at a checkpoint: the default (the study process ends at once)
    would leave local workers training, orphaned, and Ray's runs ended without their checkpoint."""

    def handler(signum: int, frame: Any) -> None:
        pass_on()
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: the signal stays with whoever owns it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_ray(jobs: list[Job | StackJob], placement: Placement,
            address: str | None = None) -> Iterator[tuple[Job, dict[str, Any]]]:
    """Each run as a Ray task asking for ``placement.threads`` CPUs (and a GPU when the cluster has them).

    ``address`` is ``auto`` or ``HOST:PORT`` of a running cluster; without it a local Ray instance is started
    with this machine's CPUs. Run directories must be on storage every node sees (a shared file system).
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        from wganlab.study.spec import StudyError

        raise StudyError("the Ray backend needs Ray: pip install ray (wganlab's ray extra), or use --backend "
                         "local") from None
    started_here = not ray.is_initialized()
    if started_here:
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                   "configure_logging": False}
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=placement.workers * placement.threads, num_gpus=placement.gpus, **options)
    pending: dict[Any, Job | StackJob] = {}
    try:
        gpus_in_cluster = int(ray.cluster_resources().get("GPU", 0))
        task = ray.remote(num_cpus=placement.threads, num_gpus=1 if gpus_in_cluster else 0, max_retries=0)(_ray_run)
        # Ray sets CUDA_VISIBLE_DEVICES to the task's GPU itself, so no GPU index is passed on.
        pending = {task.remote(*job.task(placement.threads, None)): job for job in jobs}
        with _sigterm_as_ctrl_c(lambda: None):  # the cancellation below is what passes it on
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done[0])
                try:
                    result = ray.get(done[0])
                except Exception as err:  # a task whose worker died
                    result = {"status": "failed", "error": f"Ray task failed: {type(err).__name__}: {err}"}
                yield from job.results(result)
    except BaseException:
        for ref in pending:  # a KeyboardInterrupt inside each running run: it checkpoints at its step, as on Ctrl-C
            ray.cancel(ref)
        if pending:  # and has the time to write it before the shutdown below ends it (a second SIGTERM, no
            # longer ours, goes to Ray's own handler and ends the wait)
            with contextlib.suppress(ray.exceptions.RayError):
                ray.wait(list(pending), num_returns=len(pending), timeout=RAY_STOP_TIMEOUT_S)
        raise
    finally:
        if started_here:
            ray.shutdown()


def _ray_run(function: Any, arguments: tuple[Any, ...]) -> Any:
    return function(*arguments)
