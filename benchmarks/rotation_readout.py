"""What a translator on a rotation pair (mnist-rot90, fashion-rot90) actually learned: the bundled classifier's
accuracy on its translations G_A(u) of held-out images, read after each of the four rotations by k x 90 degrees
counter-clockwise. The known T is rot90, so the right translation reads back at k = 3 (T^-1; the `a2b_label_acc`
of `gankit eval`); a translator that copies its input reads at k = 0, one that rotates the wrong way at k = 2,
and one that maps digits to other digits (label flipping) reads at none.

    python benchmarks/rotation_readout.py RUN_DIR [RUN_DIR ...] [--n 2000]
"""
from __future__ import annotations

import argparse

import torch

from gankit.metrics.classifier import ClassifierFeatures
from gankit.run import load_run


def readout(run_dir: str, n: int) -> list[float]:
    run = load_run(run_dir, "cpu")
    if run.data.info.get("transform") != "rot90" or run.data.test_labels is None:
        raise SystemExit(f"{run_dir}: not a run on a labelled rotation pair (data.pair: mnist-rot90 or fashion-rot90)")
    u, labels = run.data.test[:n, 0], run.data.test_labels[:n, 0]
    y = run.model.translate(u, "a2b")
    clf = ClassifierFeatures(run.data.info["classifiers"][0])   # the source dataset's bundled classifier
    return [float((clf.probs(torch.rot90(y, k, dims=(-2, -1))).argmax(1) == labels).float().mean())
            for k in range(4)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--n", type=int, default=2000, help="held-out images (default 2000)")
    args = ap.parse_args()
    print("run | read as is (copy) | rot90 | rot180 | rot270 (= T^-1: the right translation)")
    for run_dir in args.runs:
        acc = readout(run_dir, args.n)
        print(f"{run_dir} | " + " | ".join(f"{a:.3f}" for a in acc))


if __name__ == "__main__":
    main()
