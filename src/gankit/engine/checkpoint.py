"""Atomic checkpoints: written to a temporary file, flushed, then renamed over the old one, so that a
kill at any moment leaves either the previous or the new checkpoint, never a torn file."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from ..config import Config, load_config
from ..errors import ConfigError, RunError

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(state: dict, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def checkpoint_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT


def load_checkpoint(run_dir: str | Path) -> dict:
    """Load a run's checkpoint with weights_only=True (no arbitrary code from the file)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"Run directory {str(run_dir)!r} does not exist. Give the folder a `gankit train` "
                       "run wrote (under runs/ by default).")
    path = checkpoint_path(run_dir)
    if not path.exists():
        raise RunError(f"{str(run_dir)!r} holds no checkpoint ({CHECKPOINT}). Either it is not a gankit run "
                       "directory, or the run stopped before its first checkpoint; start it again with "
                       "`gankit train CONFIG` (lower train.checkpoint_every to checkpoint sooner).")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file; torch's own text can run to several lines
        first = (str(e).strip().splitlines() or [""])[0].split(". ")[0].rstrip(".")
        raise RunError(f"Cannot read checkpoint {str(path)!r} ({type(e).__name__}: {first}). The file is "
                       "damaged or not a gankit checkpoint.") from None


def checkpoint_config(state: dict, run_dir: str | Path, overrides: list[str] | tuple = ()) -> Config:
    """The Config a checkpoint was written with, plus `overrides`. A stored config this version no longer
    accepts (an option renamed or removed since the run was made) is named as the checkpoint's fault, apart
    from a mistake in the overrides."""
    try:
        cfg = load_config(state["config"])
    except ConfigError as e:
        raise ConfigError(f"The checkpoint in {str(run_dir)!r} holds a config this version of gankit does not "
                          f"accept, probably written by an older version: {e}") from None
    return load_config(state["config"], list(overrides)) if overrides else cfg
