"""Quick score of a class-conditional run (cgan, cvae, cvaegan) for tuning trials: FID of 2,000 class-balanced
samples against 2,000 MNIST test images on the bundled classifier's features, and discriminability, with G in
eval mode (running batch-norm statistics, as `gankit sample` and `gankit eval` draw) and in training mode (the
batch's own statistics), which shows how much the running statistics cost.

    python benchmarks/conditional_quick.py RUN_DIR [RUN_DIR ...]

`gankit eval RUN` gives the full, comparable scores (10,000 samples); this is for a few seconds' look.
"""
from __future__ import annotations

import sys

import torch

from gankit.metrics.classifier import ClassifierFeatures
from gankit.metrics.conditional import class_samples, discriminability
from gankit.metrics.fid import fid
from gankit.run import load_run


def score(run_dir: str) -> None:
    run = load_run(run_dir, "cpu")
    ext = ClassifierFeatures(run.config.data.name)
    real = ext.features(run.data.test[:2000])
    model, G = run.model, run.model.nets["G"]
    for mode in ("eval", "train"):
        if mode == "train":   # keep the batch's statistics: sample() would put G in eval mode
            G.eval = lambda: G
            G.train(True)
        x, y = class_samples(model, 200)
        f, p = ext.features_and_probs(x)
        print(f"{run_dir}: step {run.step}, G in {mode} mode: FID {fid(real, f):.1f}, "
              f"discriminability {discriminability(p, y):.4f}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for d in sys.argv[1:]:
        score(d)
