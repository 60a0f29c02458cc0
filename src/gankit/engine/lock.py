"""One training process per run directory: an advisory lock (flock) on RUN_DIR/run.lock, held while a
Trainer lives. The kernel drops it when the process dies, however it dies, so resuming a killed run is
never blocked by a stale lock file."""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path

from ..errors import RunError

try:
    import fcntl
except ImportError:   # not POSIX: no lock (documented), training works as before
    fcntl = None

LOCK = "run.lock"


class RunLock:
    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        if fcntl is None or self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise RunError(f"{str(self.path.parent)!r} is being trained by another gankit process{holder}. "
                           "Two processes writing one run would corrupt it. Wait for that one to finish or stop "
                           "it (Ctrl-C or kill: it checkpoints), then resume; or train into another folder "
                           "(--out / train.run_name).") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": datetime.now().isoformat(timespec="seconds")}).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)   # closing the descriptor drops the flock
            self._fd = None

    def __del__(self):
        self.release()


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f" (pid {info['pid']} on {info['host']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
