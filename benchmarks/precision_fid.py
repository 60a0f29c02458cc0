"""FID of bf16 against fp32 training at equal steps, over seeds (issue: bf16 must not cost quality).

    python benchmarks/precision_fid.py --steps 1500 --seeds 0,1,2 --out runs/precision

Trains the dcgan-mnist recipe at batch 64 for --steps steps in each precision and seed, then scores
10,000 samples of each run with the bundled classifier's FID (`gankit eval`), and prints per-precision
mean +- std and the wall-clock of training.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from common import train_or_stop


def main() -> None:
    import gankit

    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--precisions", default="fp32,bf16")
    p.add_argument("--out", default="runs/precision")
    a = p.parse_args()
    rows = []
    for seed in [int(s) for s in a.seeds.split(",")]:
        for prec in a.precisions.split(","):
            run = Path(a.out) / f"dcgan-mnist-{prec}-seed{seed}"
            res = train_or_stop("dcgan-mnist", [f"train.seed={seed}", f"train.precision={prec}",
                                                "train.batch_size=64", f"train.steps={a.steps}",
                                                "train.progress=false"], run)
            fid = gankit.evaluate(run, n=10_000, metrics=["fid"])["metrics"]["fid"]
            rows.append({"precision": prec, "seed": seed, "fid": round(fid, 2), "seconds": round(res.elapsed, 1)})
            print(json.dumps(rows[-1]), flush=True)
    for prec in a.precisions.split(","):
        f = [r["fid"] for r in rows if r["precision"] == prec]
        t = [r["seconds"] for r in rows if r["precision"] == prec]
        print(f"{prec}: FID {statistics.mean(f):.2f} +- {statistics.stdev(f) if len(f) > 1 else 0:.2f} "
              f"over {len(f)} seeds; training {statistics.mean(t):.1f} s per run")


if __name__ == "__main__":
    main()
