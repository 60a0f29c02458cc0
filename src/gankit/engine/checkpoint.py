"""Checkpoints that survive kills, full disks and damage.

A run keeps its last two checkpoints, `checkpoint.pt` (newest) and `checkpoint.prev.pt`, and a manifest,
`checkpoint.json`, holding the SHA-256 of each (torch.load does not notice a flipped byte: the weights
would load silently wrong). A save writes a temporary file, lists its digest in the manifest, then moves
the newest checkpoint to `.prev` and the new file into place. At every moment of that sequence the manifest
lists the digest of every checkpoint file present, so a kill at any point leaves at least one checkpoint
that verifies; loading takes the newest that does, and says so when it had to fall back.

Files are read with torch.load(weights_only=True): a checkpoint cannot run code (a malicious pickle is
refused, not executed)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from pathlib import Path

import torch

from ..config import Config, load_config
from ..errors import ConfigError, RunError
from ..files import sha256_file

CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"
MANIFEST = "checkpoint.json"
DAMAGED = "checkpoint.damaged.pt"
FORMAT = 1   # checkpoint layout version
REQUIRED = ("format", "step", "elapsed", "config", "model")   # what every checkpoint written here holds


class StateMismatch(RunError):
    """A checkpoint's tensors do not fit the networks the config builds; `detail` is torch's first line."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def torch_error_summary(e: BaseException, limit: int = 300) -> str:
    """torch's load_state_dict error in one line: its heading and the first mismatch it lists."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return "; ".join(lines[:2])[:limit] if lines else type(e).__name__


def checkpoint_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT


def has_checkpoint(run_dir: str | Path) -> bool:
    """True when the run directory holds a checkpoint file (newest or previous), damaged or not."""
    return any((Path(run_dir) / name).exists() for name in (CHECKPOINT, PREVIOUS))


def _read_manifest(run_dir: Path) -> dict | None:
    """{file name: {"sha256", "step", "bytes"}}, or None for a run written before manifests (trusted as
    is) or a manifest that cannot be read (then nothing can be verified: files are judged by loading)."""
    try:
        data = json.loads((run_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and all(isinstance(v, dict) for v in data.values()) else None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(data, indent=1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _sync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _intact(path: Path, entry: dict | None) -> bool:
    """The file still matches its manifest entry: checked before it may push the older file out of `.prev`
    (reading it back costs far less than the step that made it)."""
    return (entry is not None and path.exists() and path.stat().st_size == entry.get("bytes")
            and sha256_file(path) == entry.get("sha256"))


def save_checkpoint(state: dict, run_dir: str | Path) -> Path:
    """Write `state` as the run's newest checkpoint, keeping the one before as `.prev`. An OSError (disk
    full, read-only folder) leaves both earlier files and the manifest as they were."""
    run_dir = Path(run_dir)
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getbuffer()
    entry = {"sha256": hashlib.sha256(data).hexdigest(), "step": int(state.get("step", -1)), "bytes": len(data)}
    tmp, new, prev = run_dir / (CHECKPOINT + ".tmp"), run_dir / CHECKPOINT, run_dir / PREVIOUS
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)   # a partial file of a full disk would only take more space
        raise
    manifest = _read_manifest(run_dir) or {}
    current = manifest.get(CHECKPOINT)
    # 1. The manifest learns the new digest first, so the new file verifies the moment it is in place.
    _write_json(run_dir / MANIFEST, {**manifest, CHECKPOINT + ".next": entry})
    # 2. Newest -> previous, unless the newest is damaged: a damaged file must never push out a good one.
    if new.exists():
        if _intact(new, current) or not manifest:
            os.replace(new, prev)
        else:
            os.replace(new, run_dir / DAMAGED)
            current = manifest.get(PREVIOUS)
    # 3. The new file into place, then a manifest that lists exactly the two files there.
    os.replace(tmp, new)
    after = {CHECKPOINT: entry}
    if prev.exists() and current is not None:
        after[PREVIOUS] = current
    _write_json(run_dir / MANIFEST, after)
    _sync_dir(run_dir)
    return new


def _check_structure(state: object, path: Path) -> dict:
    if not isinstance(state, dict) or not all(k in state for k in REQUIRED):
        missing = [k for k in REQUIRED if not isinstance(state, dict) or k not in state]
        raise RunError(f"{str(path)!r} is not a gankit checkpoint: it lacks {', '.join(missing)}.")
    kinds = {"step": int, "elapsed": (int, float), "config": dict, "model": dict}
    wrong = [k for k, t in kinds.items() if not isinstance(state[k], t) or isinstance(state[k], bool)]
    if wrong or state["step"] < 0:
        raise RunError(f"{str(path)!r} is not a gankit checkpoint: its {', '.join(wrong) or 'step'} "
                       "entry is not what gankit writes.")
    if state["format"] != FORMAT:
        raise RunError(f"{str(path)!r} has checkpoint format {state['format']!r}; this version of gankit reads "
                       f"format {FORMAT}. Use the gankit version that wrote the run.")
    return state


def _load_one(path: Path, manifest: dict | None) -> dict:
    """Load and verify one file; RunError says why it cannot be used."""
    entries = {} if manifest is None else {e.get("sha256") for e in manifest.values()}
    if manifest is not None:
        digest = sha256_file(path)
        if digest not in entries:
            raise RunError(f"{str(path)!r} is damaged: its SHA-256 does not match the one recorded when it was "
                           f"written ({MANIFEST}); the file was truncated or changed on disk.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:   # a truncated, foreign or malicious file; torch's own text runs to many lines
        first = (str(e).strip().splitlines() or [""])[0].split(". ")[0].rstrip(".")
        hint = (" It holds objects other than tensors and plain data, which gankit refuses to unpickle "
                "(loading it could run code)." if "weights_only" in str(e) or "Unsupported global" in str(e)
                else " The file is damaged or not a gankit checkpoint.")
        raise RunError(f"Cannot read checkpoint {str(path)!r} ({type(e).__name__}: {first}).{hint}") from None
    return _check_structure(state, path)


def read_status(run_dir: str | Path) -> dict:
    """RUN_DIR/status.json, or {} when it is missing or unreadable (the checkpoint is the record that matters)."""
    try:
        status = json.loads((Path(run_dir) / "status.json").read_text())
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def load_checkpoint(run_dir: str | Path, quiet: bool = False) -> dict:
    """The newest checkpoint of `run_dir` that verifies and loads (weights_only: no code from the file).
    When the newest is damaged and the previous one is used, a line on stderr says so (unless `quiet`)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"Run directory {str(run_dir)!r} does not exist. Give the folder a `gankit train` "
                       "run wrote (under runs/ by default).")
    if not has_checkpoint(run_dir) and read_status(run_dir).get("status") == "finished":
        raise RunError(f"{str(run_dir)!r} is a record of a finished run whose checkpoints were not kept (a "
                       "committed study's runs are: git ignores checkpoint*). Its figures, losses and samples "
                       "stay readable, but nothing can be resumed or sampled from it; train it again with "
                       f"`gankit train {run_dir / 'config.yaml'}`.")
    if not has_checkpoint(run_dir):
        raise RunError(f"{str(run_dir)!r} holds no checkpoint ({CHECKPOINT}). Either it is not a gankit run "
                       "directory, or the run stopped before its first checkpoint; start it again with "
                       "`gankit train CONFIG` (lower train.checkpoint_every to checkpoint sooner).")
    problems = []
    for attempt in range(2):   # a save may replace the files between reading the manifest and a file
        manifest = _read_manifest(run_dir)
        problems = []
        for name in (CHECKPOINT, PREVIOUS):
            path = run_dir / name
            if not path.exists():
                continue
            try:
                state = _load_one(path, manifest)
            except RunError as e:
                problems.append(str(e))
                continue
            if problems and not quiet:
                print(f"gankit: warning: {problems[0]} Using the previous checkpoint, {str(path)!r} (step "
                      f"{state['step']}).", file=sys.stderr)
            return state
        if _read_manifest(run_dir) == manifest:
            break
    raise RunError(" ".join(problems) + (" No earlier checkpoint verifies either." if len(problems) > 1 else "")
                   + " Start the run again (the samples and logs in the folder are kept), or restore the "
                   "file from a backup.")


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
