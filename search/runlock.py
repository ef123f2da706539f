"""One writer per run directory: an OS file lock (``flock``) on ``DIR/.lock``.

A search holds the lock from ``RunDir.create``/``RunDir.open`` until ``RunDir.close``, so a second
``optsearch run --out DIR`` or ``optsearch resume DIR`` on a live run fails at once instead of
interleaving its rows with the first one's. The OS drops the lock when the holder dies, so a
``kill -9`` never leaves a stale lock behind: resume just works. The holder writes its pid into
the file so the refusal, and ``optsearch show``, can name it. Whether a run is live comes from the
lock itself (``holder`` tries a shared lock for an instant), never from the pid: a pid is reused
by unrelated processes, a held lock is not. A writer that meets that instant retries for a moment
(``_TRIES``) instead of refusing. The last release deletes the file (still locked, so no one can
hold it meanwhile): a finished run or replay folder keeps no empty ``.lock``, and one a kill left
behind is only a stale pid.

Within one process the lock is shared: RunDirs of the same folder count references (tests
abandon a search mid-run, as a kill would, and resume it in the same process). A lock is never
inherited: the descriptor is close-on-exec and a forked child does not count as the holder.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".lock"
_TRIES, _PAUSE_S = 25, 0.004  # a reader's shared lock lasts microseconds; 0.1 s covers it


class LockedError(RuntimeError):
    """Another process holds the lock; ``pid`` is the holder's (None if it could not be read)."""

    def __init__(self, path: Path, pid: int | None):
        self.path, self.pid = path, pid
        who = f"pid {pid}" if pid is not None else "another process"
        super().__init__(f"{path} is in use by a running search ({who}); let it finish or stop it "
                         "(Ctrl-C checkpoints) before resuming")


@dataclass
class _Held:
    fd: int
    pid: int      # the process that took it (a forked child does not hold it)
    count: int    # RunDirs of this process sharing it


_HELD: dict[str, _Held] = {}


def _key(path: Path) -> str:
    return str(Path(path).resolve())


def acquire(path: Path) -> str:
    """Lock the run directory ``path`` for this process (or share this process's lock); returns
    the key to ``release`` it with. ``LockedError`` naming the holder if another process has it."""
    key = _key(path)
    held = _HELD.get(key)
    if held is not None and held.pid == os.getpid():
        held.count += 1
        return key
    while True:
        fd = _locked(Path(path) / LOCK_NAME)
        if fd is not None:
            break
    stamp = f"{os.getpid()}\n".encode()
    os.pwrite(fd, stamp, 0)
    os.ftruncate(fd, len(stamp))
    _HELD[key] = _Held(fd, os.getpid(), 1)
    return key


def _locked(lock: Path) -> int | None:
    """A descriptor of ``lock``, locked; None when the file was deleted by its last holder
    between our open and our lock (the caller opens it again). ``LockedError`` if held."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _lock(fd, fcntl.LOCK_EX)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if not same:  # we locked a file its holder deleted on release: not the lock any more
            os.close(fd)
            return None
        return fd
    except BlockingIOError:
        pid = _pid(os.pread(fd, 64, 0))
        os.close(fd)
        raise LockedError(lock.parent, pid) from None
    except BaseException:
        os.close(fd)
        raise


def release(key: str) -> None:
    """Drop one reference; the last one deletes the lock file and unlocks."""
    held = _HELD.get(key)
    if held is None or held.pid != os.getpid():
        return
    held.count -= 1
    if held.count > 0:
        return
    del _HELD[key]
    try:
        try:
            os.unlink(Path(key) / LOCK_NAME)
        except FileNotFoundError:
            pass
        except OSError:  # a folder we may lock but not delete in: leave it empty, as before
            os.ftruncate(held.fd, 0)
        fcntl.flock(held.fd, fcntl.LOCK_UN)
    finally:
        os.close(held.fd)


def holder(path: Path) -> int | None:
    """The pid of the process holding ``path``'s lock (0 if held but its pid is not readable),
    else None. Live means the lock is held: a shared non-blocking ``flock`` that succeeds proves
    nobody writes, whatever pid the file names (it is released at once)."""
    try:
        fd = os.open(Path(path) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            for _ in range(_TRIES):  # the writer stamps its pid just after taking the lock
                pid = _pid(os.pread(fd, 64, 0))
                if pid is not None:
                    return pid
                time.sleep(_PAUSE_S)
            return 0
        except OSError:  # a filesystem without flock: fall back to nothing known
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _lock(fd: int, how: int) -> None:
    """Non-blocking ``flock``, retried briefly: a reader's instant of shared lock is not a writer."""
    for _ in range(_TRIES - 1):
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(_PAUSE_S)
    fcntl.flock(fd, how | fcntl.LOCK_NB)


def _pid(data: bytes) -> int | None:
    try:
        pid = int(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return pid if pid > 0 else None
