"""The lock that keeps a second process out of a run or study directory, and its take-over after a crash."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from wganlab.rundir import lock as runlock
from wganlab.rundir.lock import DirectoryInUse, DirectoryLock, read_holder


def test_a_second_writer_is_refused_with_the_holders_pid_host_and_start(tmp_path):
    with DirectoryLock(tmp_path, "the first writer"):
        holder = read_holder(tmp_path)
        assert (holder["pid"], holder["host"]) == (os.getpid(), socket.gethostname())
        with pytest.raises(DirectoryInUse) as refused:
            DirectoryLock(tmp_path, "a second writer").acquire()  # flock is per open file: same process too
        message = str(refused.value)
        assert f"in use by the first writer (PID {os.getpid()} on {socket.gethostname()} since " in message
        assert holder["since"] in message and "\n" not in message
    assert read_holder(tmp_path) == {}  # a clean release empties the record
    DirectoryLock(tmp_path, "a second writer").acquire().release()


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_warning(tmp_path, capsys):
    code = ("import os, signal, sys; from wganlab.rundir.lock import lock_directory; "
            "lock_directory(sys.argv[1], 'a run the OOM killer ended'); os.kill(os.getpid(), signal.SIGKILL)")
    died = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert died.returncode == -signal.SIGKILL
    left = read_holder(tmp_path)
    assert left["purpose"] == "a run the OOM killer ended" and left["pid"] != os.getpid()
    with DirectoryLock(tmp_path, "the resumed run"):
        assert read_holder(tmp_path)["pid"] == os.getpid()
    warning = capsys.readouterr().err
    assert f"locked by a run the OOM killer ended (PID {left['pid']} on " in warning
    assert "no longer running; taking the lock over" in warning


@pytest.fixture
def no_flock(monkeypatch):
    """A file system without flock (some network mounts): the lock record alone decides."""
    def refuse(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(runlock.fcntl, "flock", refuse)


def test_without_flock_the_record_decides_a_live_holder_blocks_a_dead_one_does_not(tmp_path, no_flock):
    path = tmp_path / runlock.LOCK_FILE
    alive = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": "a live writer"}
    path.write_text(json.dumps(alive), encoding="utf-8")
    with pytest.raises(DirectoryInUse, match="this file system has no flock, so if that process is gone, delete"):
        DirectoryLock(tmp_path, "a second writer").acquire()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone_record = {"pid": int(gone.stdout), "host": socket.gethostname(), "purpose": "a finished writer"}
    path.write_text(json.dumps(gone_record), encoding="utf-8")
    with DirectoryLock(tmp_path, "the next writer"):
        assert read_holder(tmp_path)["purpose"] == "the next writer"


@pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(os, "waitid"),
                    reason="reads process states from Linux's /proc")
def test_without_flock_a_zombie_holder_counts_as_gone(tmp_path, no_flock):
    """An exited child not yet reaped (a study's worker killed a moment ago) answers kill(pid, 0) but holds
    nothing: where the lock record decides (no flock), its directory is free."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # it has exited; WNOWAIT leaves it a zombie
        assert runlock.pid_alive(child.pid) is False and runlock.pid_alive(os.getpid()) is True
        record = {"pid": child.pid, "host": socket.gethostname(), "purpose": "a killed worker"}
        (tmp_path / runlock.LOCK_FILE).write_text(json.dumps(record), encoding="utf-8")
        with DirectoryLock(tmp_path, "the next writer"):
            assert read_holder(tmp_path)["purpose"] == "the next writer"
    finally:
        child.wait()
    assert runlock.pid_alive(child.pid) is False  # reaped: no such process
