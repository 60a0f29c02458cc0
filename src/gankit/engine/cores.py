"""Other processes on the CPU cores a run is about to use: a note for the user, never an error.

torch's OpenMP threads meet at a barrier after every parallel operation. When one of them shares its core with
another busy process it reaches the barrier a scheduler slice late, and the others spin-wait for it: a 2-thread
run beside one busy process was measured ~25x slower per step (benchmarks/RESULTS.md). Fewer threads avoid it.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Optional

Times = Optional[tuple[float, float]]   # (busy, total) jiffies over all cores since boot


def cpu_times(path: str = "/proc/stat") -> Times:
    """Linux's aggregate CPU line; None where there is none (another OS)."""
    try:
        with open(path) as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    if len(fields) < 5:
        return None
    idle = fields[3] + fields[4]   # idle + iowait
    total = sum(fields[:8])        # guest time is already inside user time
    return total - idle, total


def busy_cores(cores: int, interval: float = 0.25, read: Callable[[], Times] = cpu_times,
               sleep: Callable[[float], None] = time.sleep) -> Optional[float]:
    """Cores kept busy by others over `interval` seconds (this process sleeps meanwhile)."""
    a = read()
    sleep(interval)
    b = read()
    if a is None or b is None or b[1] <= a[1]:
        return None
    return cores * (b[0] - a[0]) / (b[1] - a[1])


def contention_note(threads: int, cores: int, busy: Optional[float]) -> Optional[str]:
    """A note when the run's threads outnumber the cores others leave free; None otherwise."""
    if busy is None or threads <= 1 or busy < 0.5:
        return None
    free = cores - busy
    if threads <= free + 0.25:
        return None
    fit = max(1, int(free + 0.5))
    return (f"note: other processes keep ~{busy:.1f} of this machine's {cores} CPU cores busy. torch's {threads} "
            f"threads wait on each other when they share a core, which can make every step many times slower. "
            f"Stop the other work, or run with train.threads={fit}.")


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask on Linux), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not Linux
        return os.cpu_count() or 1
