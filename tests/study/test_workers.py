"""A study's local worker processes: how they start (a fork server on Linux CPUs), what they inherit from the study,
and how the study learns that one ended."""

from __future__ import annotations

import os
import signal
import sys
import time
from multiprocessing import connection, forkserver

import pytest

from wganlab.rundir.lock import pid_alive
from wganlab.study.workers import SERVER_IMPORTS, Worker, describe_exit, worker_context


def test_worker_exits_are_described_in_words():
    assert describe_exit(-9) == "killed by signal 9 (out of memory?)"
    assert describe_exit(-15) == "killed by signal 15 (SIGTERM)"
    assert describe_exit(3) == "its worker process exited with code 3"


@pytest.mark.skipif(sys.platform != "linux", reason="study workers fork from a fork server on Linux only")
def test_a_cpu_worker_starts_with_the_libraries_imported_and_the_studys_environment_and_directory_of_now(
        tmp_path, monkeypatch):
    """Workers fork from a server that imported torch and the other libraries once; what the study process changed
    since the server started (an environment variable, the working directory) still reaches the next worker, as it
    would reach a spawned one."""
    assert worker_context(gpus=1).get_start_method() == "spawn"  # a GPU worker sets its device before CUDA starts
    context = worker_context(gpus=0)
    assert context.get_start_method() == "forkserver"
    first = Worker(context, reuse=True)  # starts the server (if no earlier test did)
    assert first.give((os.getpid, ())) and first.conn.recv() != os.getpid()
    first.stop()
    monkeypatch.setenv("WGANLAB_WORKER_CHECK", "set after the server started")
    monkeypatch.chdir(tmp_path)
    worker = Worker(context, reuse=True)
    # evaluated in the worker before it has run anything: the libraries a run needs are imported already
    not_imported = f"[name for name in {SERVER_IMPORTS!r} if name not in __import__('sys').modules]"
    try:
        for question, answer in [((eval, (not_imported,)), []),
                                 ((os.getenv, ("WGANLAB_WORKER_CHECK",)), "set after the server started"),
                                 ((os.getcwd, ()), str(tmp_path))]:
            assert worker.give(question) and worker.conn.recv() == answer, question
    finally:
        worker.stop()


@pytest.mark.skipif(sys.platform != "linux", reason="study workers fork from a fork server on Linux only")
def test_a_dead_fork_server_neither_fails_nor_orphans_the_runs_its_workers_are_training():
    """The server reports its workers' exits; killed (a SIGTERM to the whole process group, the out-of-memory
    killer), it must not make a worker in the middle of a run look dead, nor keep the study from stopping one."""
    finishing, busy = (Worker(worker_context(gpus=0), reuse=True) for _ in range(2))
    assert finishing.give((time.sleep, (2.0,))) and busy.give((time.sleep, (60.0,)))  # two "runs"
    os.kill(forkserver._forkserver._forkserver_pid, signal.SIGKILL)
    started = time.monotonic()
    assert connection.wait(finishing.handles, timeout=10) and time.monotonic() - started > 1.5  # not woken early
    assert finishing.alive and finishing.take_result(None) is None  # time.sleep's own result, not a failure
    finishing.stop()
    assert busy.alive
    busy.stop()  # in the middle of its run: told to stop, then sent SIGTERM (a Ctrl-C to a run)
    assert not pid_alive(busy.process.pid) and not pid_alive(finishing.process.pid)
