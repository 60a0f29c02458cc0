"""Sizes a config or a command asks for, checked against the memory there is before anything is allocated:
a typo such as z_dim=1000000000 or --n 10**12 gets a sentence naming it, not a stalled machine, an
OOM-killed process or a C++ traceback from torch's allocator."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .errors import ConfigError

SEED_RANGE = (0, 2 ** 62)   # torch takes 64-bit seeds; some streams use 2 * seed + 1


def available_memory() -> Optional[int]:
    """Bytes the kernel says can be allocated without swapping (Linux MemAvailable); None elsewhere."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(nbytes: float, what: str, fix: str, share: float = 0.6) -> None:
    """ConfigError when `what` (needing about `nbytes`) would take more than `share` of available memory."""
    free = available_memory()
    if free is None or nbytes <= share * free:
        return
    raise ConfigError(f"{what} would need about {nbytes / 2**30:,.1f} GiB of memory; {free / 2**30:.1f} GiB "
                      f"is available. {fix}")


def check_seed(seed: int, what: str) -> None:
    lo, hi = SEED_RANGE
    if not lo <= seed < hi:
        raise ConfigError(f"{what} must be an integer in [0, 2^62), got {seed}.")
