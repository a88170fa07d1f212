"""Where a study's runs execute: a local process pool, or Ray tasks on a machine or a cluster.

Both take the same list of :class:`Job` and yield ``(job, result)`` as runs end, in completion order. The machine
is filled with processes x threads (two torch processes with a thread per core each oversubscribe the CPU:
``../shared/MEASURED.md``), and with one run per GPU, round-robin, when GPUs are visible.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import connection
from pathlib import Path
from typing import Any

from wganlab.study.task import execute_run, execute_stack, record_failure

RAY_STOP_TIMEOUT_S = 60  # how long a stopped study waits for its cancelled Ray runs to write their checkpoints
# The libraries a worker imports to train and measure runs: about 2 s of each worker's start, which a fork server
# pays once for all of a process's studies. wganlab's own modules (0.1 s) are not among them: Python 3.11's server
# ignores the study's sys.path, so a copy of wganlab installed elsewhere could be preloaded in place of the study's.
SERVER_IMPORTS = ["torch", "numpy", "scipy.optimize", "scipy.spatial", "scipy.stats", "matplotlib", "PIL.Image",
                  "torch.utils.tensorboard", "yaml"]


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

    On the CPU a worker process trains run after run (:func:`worker_context` says how it starts). Each run seeds
    every generator and sets its threads itself, so nothing of one run carries into the next. On GPUs each run
    gets a fresh spawned process, which must see its one device before CUDA starts.

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
    idle: list[_Worker] = []
    busy: dict[_Worker, Job | StackJob] = {}

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
        worker = _Worker(context, reuse)
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


def worker_context(gpus: int) -> Any:
    """How worker processes start. On a Linux CPU, forked from a fork server that has imported torch and the other
    libraries once (:data:`SERVER_IMPORTS`): a worker is ready in a fraction of a second instead of about 2 s, most
    of a short run's overhead (the test suite starts dozens of studies). The server is a fresh interpreter that has
    run no training; each worker takes the study's environment, working directory and sys.path of the moment, as
    a spawned one would (settings a library reads once at import, like ``OMP_NUM_THREADS``, are those of the
    process's first study; the runs set their threads themselves), and is watched through a pidfd of its own
    (:func:`_pidfd`). On GPUs, where a worker must set the one device it sees before CUDA starts, and elsewhere
    (macOS forks unsafely after these imports; kernels without pidfds): spawned."""
    if gpus or sys.platform != "linux" or not _pidfds_work():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(SERVER_IMPORTS)
    return context


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


class _Worker:
    """One worker process that trains the runs it is given, one at a time, over a pipe."""

    def __init__(self, context: Any, reuse: bool) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_loop, args=(child, reuse, dict(os.environ)), daemon=True)
        self.process.start()
        child.close()
        self.pidfd = _pidfd(self.process) if context.get_start_method() == "forkserver" else None

    @property
    def handles(self) -> tuple[Any, Any]:
        return self.conn, self.process.sentinel if self.pidfd is None else self.pidfd

    @property
    def alive(self) -> bool:
        return self.process.is_alive() if self.pidfd is None else not connection.wait([self.pidfd], timeout=0)

    def give(self, task: tuple[Any, ...]) -> bool:
        """Send a run; False when the process has ended (e.g. an idle worker that a Ctrl-C stopped)."""
        if not self.alive:
            return False
        try:
            self.conn.send(task)
        except (BrokenPipeError, EOFError, OSError):
            return False
        return True

    def take_result(self, job: Job | StackJob) -> Any:
        """The run's result, or, when the process died during it, a failure that names how it died."""
        try:
            if self.conn.poll():
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        self.process.join(timeout=5)
        code = self.process.exitcode
        reason = ("its worker process ended, its exit status lost with the fork server that reported it"
                  if self.pidfd is not None and code == 255 else describe_exit(code))
        result = {"status": "failed", "error": f"{reason}; run the same study command again to resume it"
                                               f"{_from_checkpoint(job.run_dir)}"}
        for member in job.members:
            with contextlib.suppress(OSError):  # the study still reports it
                record_failure(Path(member.run_dir), result["error"])
        return result

    def signal(self, number: int) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                if self.pidfd is None:
                    os.kill(self.process.pid, number)
                else:  # through the pidfd: never a process that took over the pid of one that ended
                    signal.pidfd_send_signal(self.pidfd, number)

    def wait_quietly(self) -> None:
        try:
            if self.conn.poll(None):
                self.conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            pass

    def stop(self) -> None:
        if self.alive:
            with contextlib.suppress(BrokenPipeError, EOFError, OSError):
                self.conn.send(None)
            self._wait_gone(5)
        if self.alive:
            self.signal(signal.SIGTERM)
            self._wait_gone(5)
        self.conn.close()
        if self.pidfd is not None:
            os.close(self.pidfd)

    def _wait_gone(self, seconds: float) -> None:
        if self.pidfd is None:
            self.process.join(timeout=seconds)
        else:
            connection.wait([self.pidfd], timeout=seconds)


def _pidfd(process: Any) -> int | None:
    """A pidfd of a worker forked by the fork server, which reports its workers' exits: were the server to die (a
    SIGTERM to the whole process group, the out-of-memory killer), its reports would say every worker ended. The
    pidfd is readable once the worker itself has ended, and signals sent through it reach no other process that
    reuses the pid. None when the worker has already ended (its exit is then the server's to report)."""
    try:
        return os.pidfd_open(process.pid)
    except ProcessLookupError:
        return None


def _pidfds_work() -> bool:
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        return False
    return True


def _worker_loop(conn: Any, reuse: bool, environment: dict[str, str]) -> None:
    """A worker's life: run what arrives until told to stop (None), the parent goes, or a Ctrl-C while idle.

    A SIGTERM is a Ctrl-C here: a run in training stops at a checkpoint (the trainer's own handler), one being
    measured returns as interrupted, an idle worker ends. The study's environment replaces the one a fork
    server started with (a data path set since, for instance)."""
    os.environ.clear()
    os.environ.update(environment)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while (task := conn.recv()) is not None:
            function, arguments = task
            conn.send(function(*arguments))
            if not reuse:
                return
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


def describe_exit(exitcode: int | None) -> str:
    """How a worker process ended, in words: 'killed by signal 9 (out of memory?)', 'exited with code 3'."""
    if exitcode is None:
        return "its worker process stopped answering"
    if exitcode < 0:
        number = -exitcode
        if number == signal.SIGKILL:
            return "killed by signal 9 (out of memory?)"
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = "unknown signal"
        return f"killed by signal {number} ({name})"
    return f"its worker process exited with code {exitcode}"


def _from_checkpoint(run_dir: str) -> str:
    from wganlab.rundir.checkpoints import list_checkpoints

    found = list_checkpoints(Path(run_dir))
    return f" from its checkpoint at step {found[-1][0]}" if found else " from the start"


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

        raise StudyError("the Ray backend needs Ray: pip install 'wganlab[ray]' (or use --backend local)") from None
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
