"""An on-disk cache of decoded datasets (today: image folders), so a second run skips the decoding.

Each entry is an .npy array plus a .json record of its SHA-256, shape and dtype. An entry that does not
verify (truncated by a kill, a full disk, a flipped byte) is deleted and rebuilt with a warning: a cache can
cost time, never a result. Writes go to a temporary file first; a cache that cannot be written (read-only
home, full disk) is skipped with one warning and training goes on.

Location: $GANKIT_CACHE, else $XDG_CACHE_HOME/gankit, else ~/.cache/gankit; GANKIT_CACHE=off disables it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from ..files import sha256_file


def cache_dir() -> Path | None:
    env = os.environ.get("GANKIT_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "no", "false") else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gankit"


def make_key(*parts: object) -> str:
    """A short digest of everything the cached array depends on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _warn(msg: str) -> None:
    print(f"gankit: warning: {msg}", file=sys.stderr)


def _paths(kind: str, key: str) -> tuple[Path, Path] | None:
    d = cache_dir()
    return None if d is None else (d / kind / f"{key}.npy", d / kind / f"{key}.json")


def load(kind: str, key: str) -> tuple[np.ndarray, dict] | None:
    """The cached array and its extra record, or None when absent; a damaged entry is removed (and named)."""
    where = _paths(kind, key)
    if where is None or not where[0].exists() and not where[1].exists():
        return None
    npy, meta = where
    try:
        record = json.loads(meta.read_text())
        if sha256_file(npy) != record["sha256"]:
            raise ValueError("its SHA-256 does not match the one recorded when it was written")
        array = np.load(npy, allow_pickle=False)
        if list(array.shape) != record["shape"] or str(array.dtype) != record["dtype"]:
            raise ValueError(f"it holds {array.dtype} {tuple(array.shape)}, not what was recorded")
    except (OSError, ValueError, KeyError, TypeError) as e:
        _warn(f"the dataset cache {npy} is damaged ({e}); decoding the images again and rebuilding it.")
        for p in where:
            p.unlink(missing_ok=True)
        return None
    return array, record.get("extra", {})


def store(kind: str, key: str, array: np.ndarray, extra: dict | None = None) -> None:
    """Write an entry atomically; any failure leaves no entry and only a warning."""
    where = _paths(kind, key)
    if where is None:
        return
    npy, meta = where
    tmp = npy.with_name(npy.name + f".{os.getpid()}.tmp")
    try:
        npy.parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(npy.parent).free < 2 * array.nbytes + (64 << 20):
            _warn(f"not caching the decoded images ({array.nbytes / 2**20:.0f} MiB): too little free space in "
                  f"{npy.parent}. Set GANKIT_CACHE to another folder, or GANKIT_CACHE=off.")
            return
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        record = {"sha256": sha256_file(tmp), "shape": list(array.shape), "dtype": str(array.dtype),
                  "extra": extra or {}}
        meta_tmp = meta.with_name(meta.name + f".{os.getpid()}.tmp")
        meta_tmp.write_text(json.dumps(record))
        os.replace(tmp, npy)          # the array first: a record without its array is never left behind
        os.replace(meta_tmp, meta)
    except OSError as e:
        for p in (tmp, meta.with_name(meta.name + f".{os.getpid()}.tmp")):
            p.unlink(missing_ok=True)
        _warn(f"cannot write the dataset cache in {npy.parent} ({e.strerror or e}); going on without it. "
              "Set GANKIT_CACHE to a writable folder, or GANKIT_CACHE=off.")
