"""One process owns a meeting's store: the exclusive lock on the database file, and the
error that names who holds it (read from /proc/locks).

Apart from store.py because it is about processes, not SQL: `Store.open()` takes it for
`run` and `serve`, readers such as `export` never do.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .group_commit import StoreError


class StoreLocked(StoreError):
    """Another process owns the database."""


class StoreLock:
    """An exclusive lock on the database file itself, held while a process owns the store.

    The lock is taken on the file (its inode), not on a name: a symlink, a hard link or `..` in
    the path reach the same lock, so two servers can never own one store. It is a BSD `flock`,
    which SQLite's own POSIX locks neither see nor disturb. The descriptor stays open until
    `release()`, after SQLite's connections are closed (closing any descriptor of a file drops
    the process's POSIX locks on it, SQLite's included).
    """

    def __init__(self, db_path: Path) -> None:
        self.path = db_path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _flock_holder(os.fstat(fd))
            os.close(fd)
            raise StoreLocked(
                f"{self.path} is in use by {holder}: only one `townhall run` or `serve` may "
                "own a database (whatever path names it). Stop that process, or give this one "
                "another [store] path. (`townhall export` works alongside it.)"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _flock_holder(st: os.stat_result) -> str:
    """"process N" holding a flock on the file `st` describes, read from /proc/locks (Linux);
    "another process" where that cannot be told."""
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}"
    same_inode: list[tuple[str, str]] = []  # (device, pid); overlay filesystems report
    with contextlib.suppress(OSError):      # another device number there than stat does
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                fields = line.split()
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[3] == "WRITE":
                    dev, _, ino = fields[5].rpartition(":")
                    if ino == str(st.st_ino):
                        same_inode.append((dev, fields[4]))
    pids = [pid for dev, pid in same_inode if dev == device] or [pid for _, pid in same_inode]
    return f"process {pids[0]}" if len(set(pids)) == 1 else "another process"
