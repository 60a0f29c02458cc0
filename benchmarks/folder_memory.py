"""Peak memory of loading an image folder (data.name=folder), against the size of the float32 set.

    python benchmarks/folder_memory.py [--n 3000] [--size 64]

Writes N random RGB bitmaps to a temporary folder, then loads them in a fresh process and reports the rise
of the process's peak resident memory (ru_maxrss) over its level after `import gankit`.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

LOAD = """
import resource
from gankit.data import load_dataset
from gankit.data.folder import FolderOptions
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
x = load_dataset(FolderOptions(name="folder", root={root!r}, image_size={size}))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
mib = (x.train.numel() + (x.test.numel() if x.test is not None else 0)) * 4 / 2**20
print(f"images {n}, {size}x{size} RGB: float32 set {{mib:.0f}} MiB, peak rise {{(peak - base) / 1024:.0f}} MiB "
      f"({{(peak - base) / 1024 / mib:.2f}}x the set)")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as root:
        rng = np.random.default_rng(0)
        for i in range(a.n):
            Image.fromarray(rng.integers(0, 256, (a.size, a.size, 3), dtype=np.uint8)).save(Path(root) / f"{i}.bmp")
        code = LOAD.format(root=root, size=a.size, n=a.n)
        print(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout, end="")


if __name__ == "__main__":
    main()
