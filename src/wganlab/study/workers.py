"""A study's local worker processes: how they start, and how the study talks to them and learns that one ended.

A worker trains the runs it is given one at a time over a pipe (:class:`Worker`); :func:`worker_context` chooses
how it starts (forked from a fork server that has imported the heavy libraries once, or spawned).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
from multiprocessing import connection
from pathlib import Path
from typing import Any

from wganlab.study.task import record_failure

# The libraries a worker imports to train and measure runs: about 3 s of each worker's start, which a fork server
# pays once for all of a process's studies. torch._dynamo (1 s) is torch's own: the first Adam a process builds
# imports it; pyplot draws the loss curves and sample grids (it selects no backend when imported: the plots pick
# Agg, preloaded too). wganlab's own modules (0.1 s) are not among them: Python 3.11's server ignores the study's
# sys.path, so a copy of wganlab installed elsewhere could be preloaded in place of the study's.
SERVER_IMPORTS = ["torch", "torch._dynamo", "numpy", "scipy.optimize", "scipy.spatial", "scipy.stats",
                  "matplotlib.pyplot", "matplotlib.backends.backend_agg", "PIL.Image", "torch.utils.tensorboard",
                  "yaml"]


def worker_context(gpus: int) -> Any:
    """How worker processes start. On a Linux CPU, forked from a fork server that has imported torch and the other
    libraries once (:data:`SERVER_IMPORTS`): a worker is ready in a fraction of a second instead of about 3 s, most
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


class Worker:
    """One worker process that trains the runs it is given, one at a time, over a pipe."""

    def __init__(self, context: Any, reuse: bool) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_loop, args=(child, reuse, dict(os.environ)), daemon=True)
        self.process.start()
        child.close()
        self.pidfd = _pidfd(self.process) if context.get_start_method() == "forkserver" else None
        self.ended = self.process.sentinel if self.pidfd is None else self.pidfd  # readable once it has ended

    @property
    def handles(self) -> tuple[Any, Any]:
        return self.conn, self.ended

    @property
    def alive(self) -> bool:
        return not connection.wait([self.ended], timeout=0)

    def give(self, task: tuple[Any, ...]) -> bool:
        """Send a run; False when the process has ended (e.g. an idle worker that a Ctrl-C stopped)."""
        if not self.alive:
            return False
        try:
            self.conn.send(task)
        except (BrokenPipeError, EOFError, OSError):
            return False
        return True

    def take_result(self, job: Any) -> Any:
        """The run's result, or, when the process died during it, a failure that names how it died (recorded in
        each of ``job``'s runs: a backends Job or StackJob)."""
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
        self.process.join(timeout=0)  # reaps a spawned worker that has ended
        self.conn.close()
        if self.pidfd is not None:
            os.close(self.pidfd)

    def _wait_gone(self, seconds: float) -> None:
        connection.wait([self.ended], timeout=seconds)


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
