"""Loss logs of a run: JSONL (one row per log interval), CSV (same rows) and TensorBoard."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

LOSSES_JSONL = "losses.jsonl"
LOSSES_CSV = "losses.csv"


def read_rows(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / LOSSES_JSONL
    if not path.exists():
        return []
    rows = []
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:   # a line torn by a kill mid-write
            continue
        if isinstance(row, dict) and type(row.get("step")) is int:   # anything else is not a row of ours
            rows.append(row)
    return rows


class RunLog:
    def __init__(self, run_dir: Path, tensorboard: bool, resume_step: int | None = None):
        self.run_dir = run_dir
        self.jsonl = run_dir / LOSSES_JSONL
        if resume_step is not None:
            # Rows written after the checkpoint we resume from will be written again: drop them.
            keep = [r for r in read_rows(run_dir) if r["step"] <= resume_step]
            self.jsonl.write_text("".join(json.dumps(r) + "\n" for r in keep))
        self._file = open(self.jsonl, "a")
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter  # imported only when used: it is slow

            self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step or None)

    def write(self, step: int, values: dict[str, float], elapsed: float) -> None:
        row = {"step": step, "time": round(elapsed, 3), **{k: _clean(v) for k, v in values.items()}}
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(k, v, step)

    def image(self, tag: str, hwc, step: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, hwc, step, dataformats="HWC")

    def write_csv(self) -> Path:
        rows = read_rows(self.run_dir)
        keys = list(dict.fromkeys(k for r in rows for k in r))
        out = self.run_dir / LOSSES_CSV
        with open(out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)
        return out

    def close(self) -> None:
        self._file.close()
        if self.tb is not None:
            self.tb.close()


def _clean(v: float) -> float | str:
    return v if math.isfinite(v) else str(v)   # JSON has no NaN/inf


class NullLog:
    """The log of a distributed run's other ranks: rank 0 alone writes the run's files."""

    def write(self, step: int, values: dict[str, float], elapsed: float) -> None:
        pass

    def image(self, tag: str, hwc, step: int) -> None:
        pass

    def write_csv(self) -> None:
        pass

    def close(self) -> None:
        pass
