"""What the per-seed benchmark scripts share: train a recipe once per seed into OUT/RECIPE-seedN."""
from __future__ import annotations

import shutil
from pathlib import Path


def train_seeds(recipe: str, seeds: list[int], out: str | Path, threads: int | None = None,
                budget: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """One fresh run per seed (an existing run folder of that name is replaced); returns the run folders."""
    import gankit

    dirs = []
    for seed in seeds:
        run_dir = Path(out) / f"{recipe}-seed{seed}"
        if run_dir.exists():
            shutil.rmtree(run_dir)
        extra = [f"train.seed={seed}", "train.progress=false", *overrides]
        extra += [f"train.threads={threads}"] if threads else []
        gankit.train(recipe, extra, budget=budget, run_dir=run_dir)
        dirs.append(run_dir)
    return dirs
