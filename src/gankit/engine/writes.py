"""What a run does when its files cannot be written (disk full, read-only folder, quota): an OSError becomes
a RunError naming what failed and which checkpoint is kept, never a traceback."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from ..errors import RunError
from .checkpoint import load_checkpoint


def write_text_atomic(path: Path, text: str) -> None:
    """Readers (`gankit info`, a study) never see half a file, even when the writer is killed mid-write."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_error(run_dir: Path, what: str, e: OSError, mark_failed: Callable[[str, str], None] | None = None) -> RunError:
    try:
        step = load_checkpoint(run_dir, quiet=True)["step"]
        kept = (f"The last good checkpoint (step {step}) is intact; free space (or make the folder writable) "
                f"and resume with `gankit train --resume {run_dir}`.")
    except Exception:
        kept = "No checkpoint had been written yet."
    if mark_failed is not None:
        try:
            mark_failed("failed", f"could not {what}: {e.strerror or e}")
        except OSError:
            pass   # the disk that refused the checkpoint may refuse the status too
    return RunError(f"Could not {what} in {str(run_dir)!r}: {e.strerror or e}"
                    f"{f' ({e.filename})' if e.filename else ''}. {kept}")


class writes:
    """`with writes(run_dir, "write X", mark_failed):` turns an OSError inside into write_error()."""

    def __init__(self, run_dir: Path, what: str, mark_failed: Callable[[str, str], None] | None = None):
        self.run_dir, self.what, self.mark_failed = run_dir, what, mark_failed

    def __enter__(self):
        return self

    def __exit__(self, kind, e, tb):
        if kind is not None and issubclass(kind, OSError) and not issubclass(kind, BrokenPipeError):
            raise write_error(self.run_dir, self.what, e, self.mark_failed) from None
        return False
