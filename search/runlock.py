"""One writer per run directory: an OS file lock (``flock``) on ``DIR/.lock``.

A search holds the lock from ``RunDir.create``/``RunDir.open`` until ``RunDir.close``, so a second
``optsearch run --out DIR`` or ``optsearch resume DIR`` on a live run fails at once instead of
interleaving its rows with the first one's. The OS drops the lock when the holder dies, so a
``kill -9`` never leaves a stale lock behind: resume just works. The holder writes its pid into
the file so the refusal, and ``optsearch show``, can name it; readers never take the lock. The
last release deletes the file (still locked, so no one can hold it meanwhile): a finished run
or replay folder keeps no empty ``.lock``, and one a kill left behind is only a stale pid.

Within one process the lock is shared: RunDirs of the same folder count references (tests
abandon a search mid-run, as a kill would, and resume it in the same process). A lock is never
inherited: the descriptor is close-on-exec and a forked child does not count as the holder.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = ".lock"


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
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
    """The pid of the live process holding ``path``'s lock, else None. Reads the pid file only
    (a reader must not take the lock, even for an instant, or it could turn a writer away)."""
    try:
        pid = _pid((Path(path) / LOCK_NAME).read_bytes()[:64])
    except OSError:
        return None
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # killed without releasing: the OS dropped the lock with it
    except PermissionError:
        pass
    return pid


def _pid(data: bytes) -> int | None:
    try:
        pid = int(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return pid if pid > 0 else None
