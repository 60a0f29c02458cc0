"""What the per-seed benchmark scripts share: train a recipe once per seed into OUT/RECIPE-seedN."""
from __future__ import annotations

import shutil
from pathlib import Path


def train_or_stop(recipe: str, overrides: list[str], run_dir: Path, budget: str | None = None):
    """gankit.train into a fresh `run_dir` (an existing folder is replaced), except that an interrupted run
    (Ctrl-C, SIGTERM) ends the whole benchmark: the trainer saves the run and returns normally, and the
    loop must not go on to the next seed or model."""
    import gankit

    if run_dir.exists():
        shutil.rmtree(run_dir)
    res = gankit.train(recipe, overrides, budget=budget, run_dir=run_dir)
    if res.status == "interrupted":
        raise SystemExit(f"{recipe}: interrupted at step {res.step}, saved in {run_dir} (continue with "
                         f"gankit train --resume {run_dir}); the benchmark stops here.")
    return res


def train_seeds(recipe: str, seeds: list[int], out: str | Path, threads: int | None = None,
                budget: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """One fresh run per seed (an existing run folder of that name is replaced); returns the run folders."""
    dirs = []
    for seed in seeds:
        run_dir = Path(out) / f"{recipe}-seed{seed}"
        extra = [f"train.seed={seed}", "train.progress=false", *overrides]
        extra += [f"train.threads={threads}"] if threads else []
        train_or_stop(recipe, extra, run_dir, budget)
        dirs.append(run_dir)
    return dirs
