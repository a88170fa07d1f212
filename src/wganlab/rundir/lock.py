"""One writer per run directory and per study directory: a lock file that names its holder.

Two processes training one run would both append every step to ``metrics.jsonl`` and overwrite each other's
checkpoints; two studies on one output directory would train the same runs twice. Whatever writes a directory
(``wganlab train``, rank 0 under torchrun, each study worker for its run, ``wganlab study`` for its output
directory) first takes an exclusive ``flock`` on ``DIR/.wganlab-lock`` and writes its PID, host, start time and
purpose into the file; a second writer gets :class:`DirectoryInUse` naming that holder.

The kernel drops a ``flock`` when its process dies, however it dies (SIGKILL, the out-of-memory killer), so a lock
file that still names a holder but is not locked was left by a dead process: it is taken over with a warning that
names the process that left it. A clean release empties the file.

Shared storage (Ray workers on several machines): the file system must support ``flock`` between the machines
that mount it. NFSv4 does (Linux maps ``flock`` onto NFS byte-range locks), as do CephFS, GPFS and Lustre mounted
with ``-o flock``. Where ``flock`` is refused (``ENOLCK`` or ``EOPNOTSUPP``, e.g. some FUSE and object-store
mounts), the file's record alone decides: a holder counts as alive unless it is on this host and its PID is gone,
so a lock left by a dead process on another machine must then be removed by hand (the message says which file).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wganlab.errors import WganlabError

LOCK_FILE = ".wganlab-lock"
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class DirectoryInUse(WganlabError):
    """Another live process is writing the directory (a run or a study)."""


class DirectoryLock:
    """An exclusive lock on ``directory`` held from :meth:`acquire` to :meth:`release` (or the process's end)."""

    def __init__(self, directory: Path, purpose: str) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DirectoryLock:
        """Take the lock or raise :class:`DirectoryInUse`; a lock left by a dead process is taken over."""
        if self._fd is not None:
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DirectoryInUse(self._in_use_message(_read_record(fd))) from None
            except OSError as err:
                if err.errno not in _NO_FLOCK:
                    raise
                self._check_record_only(_read_record(fd))
            left = _read_record(fd)
            if left:
                print(f"wganlab: warning: '{self.directory}' was locked by {_describe(left)}, which is no longer "
                      "running; taking the lock over", file=sys.stderr)
            _write_record(fd, {"pid": os.getpid(), "host": socket.gethostname(), "purpose": self.purpose,
                               "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "command": _command_line()})
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Empty the record and drop the lock; safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:  # pragma: no cover - a vanished directory: the lock dies with the descriptor anyway
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _in_use_message(self, holder: dict[str, Any]) -> str:
        who = _describe(holder) if holder else "another process (it has not written its name yet)"
        return (f"'{self.directory}' is in use by {who}; wait for it to end or stop it, then run this again "
                "(two writers would interleave its metrics and checkpoints)")

    def _check_record_only(self, holder: dict[str, Any]) -> None:
        """No ``flock`` on this file system: trust the record unless it names a dead PID on this host."""
        if not holder:
            return
        if holder.get("host") == socket.gethostname() and not pid_alive(int(holder.get("pid", 0))):
            return
        raise DirectoryInUse(f"{self._in_use_message(holder)}; this file system has no flock, so if that process "
                             f"is gone, delete '{self.path}'")


def lock_directory(directory: Path, purpose: str) -> DirectoryLock:
    """``DirectoryLock(directory, purpose).acquire()``."""
    return DirectoryLock(directory, purpose).acquire()


def read_holder(directory: Path) -> dict[str, Any]:
    """The record of the lock file in ``directory`` (empty when free or absent): who holds it, for tools and tests."""
    try:
        text = (Path(directory) / LOCK_FILE).read_text(encoding="utf-8")
    except OSError:
        return {}
    return _parse(text)


def _describe(holder: dict[str, Any]) -> str:
    command = f", '{holder['command']}'" if holder.get("command") else ""
    return (f"{holder.get('purpose', 'a wganlab process')} (PID {holder.get('pid', '?')} on "
            f"{holder.get('host', '?')} since {holder.get('since', '?')}{command})")


def _command_line() -> str:
    """The holder's command as a user typed it (a study's workers carry the study's command line)."""
    args = list(sys.argv)
    if args and Path(args[0]).name in ("__main__.py", "wganlab"):
        args[0] = "wganlab"
    return " ".join(args)[:200]


def _read_record(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return _parse(b"".join(chunks).decode("utf-8", errors="replace"))


def _parse(text: str) -> dict[str, Any]:
    try:
        record = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return {"purpose": "an unknown process (unreadable lock record)"}
    return record if isinstance(record, dict) else {}


def _write_record(fd: int, record: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(record).encode("utf-8"))
    os.fsync(fd)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process. A zombie (exited, not yet reaped by its parent: a study's worker
    killed a moment ago) still answers ``kill(pid, 0)`` but holds nothing, so it counts as gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether ``pid`` has exited but is still listed (Linux's /proc; False where there is none)."""
    try:  # Linux: the state follows the parenthesized command name, which may itself hold ") "
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:  # no /proc (macOS) or the process just went: kill(pid, 0) decided
        return False
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])  # zombie, or dead and being removed
