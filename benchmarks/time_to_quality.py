"""Time to quality: wall-clock for gankit's DCGAN recipe to reach the FID that the canonical PyTorch loop
(../shared/bench/reference_dcgan.py, run unchanged) reaches after 5 epochs, both in this one session.

    python benchmarks/time_to_quality.py --epochs 5 --eval-every 250 --out benchmarks/results/ttq.json

1. The reference loop trains 5 epochs of MNIST (70,000 images, batch 64: 5,465 steps); its G then draws
   10,000 samples, scored by the same Scorer `gankit eval` uses (bundled classifier FID against the test
   split). Its wall-clock is measured around the whole run (DataLoader start-up included).
2. gankit trains its `dcgan-mnist` recipe (batch 128, 5 epochs of the 60,000 training images) with an FID
   evaluation of 10,000 samples every --eval-every steps; the time to quality is the trainer's clock at the
   first evaluation at or below the reference's FID (evaluation time excluded, as it is not training).
"""
from __future__ import annotations

import argparse
import json
import runpy
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "bench" / "reference_dcgan.py"


def main() -> None:
    import gankit
    from gankit.data import load_dataset
    from gankit.metrics.scorer import Scorer
    from gankit.config import load_config

    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=float, default=5)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--out", default=None)
    p.add_argument("--run-dir", default=None, help="gankit's run folder (default: a temporary one)")
    a = p.parse_args()

    data = load_dataset(load_config("dcgan-mnist").data)   # the scorer's reference, before the long run
    scorer = Scorer(data, "mnist", ["fid"], a.n)
    steps = int(a.epochs * 70_000 // 64)
    argv, sys.argv = sys.argv, [str(REFERENCE), str(steps)]
    t0 = time.perf_counter()
    ref = runpy.run_path(str(REFERENCE), run_name="__reference__")
    ref_seconds = time.perf_counter() - t0
    sys.argv = argv
    G = ref["G"].eval()
    with torch.no_grad():
        x = torch.cat([G(torch.randn(1000, ref["nz"])) for _ in range(a.n // 1000)])
    ref_fid = scorer(x)["fid"]
    print(json.dumps({"reference_steps": steps, "reference_seconds": round(ref_seconds, 1),
                      "reference_fid": round(ref_fid, 2)}), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(a.run_dir or Path(tmp) / "ttq")
        res = gankit.train("dcgan-mnist", [f"train.epochs={a.epochs}", f"train.eval_every={a.eval_every}",
                                           f"train.eval_n={a.n}", "train.eval_metrics=[fid]",
                                           "train.progress=false"], run_dir=run)
        rows = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
        # The trainer's clock includes its evaluations (sample + score n): time one, subtract them.
        model = gankit.load_run(run).model
        t0 = time.perf_counter()
        scorer(model.sample(a.n, generator=torch.Generator().manual_seed(2)))
        eval_cost = time.perf_counter() - t0
    evals = [(r["step"], round(r["time"] - (i + 1) * eval_cost, 1), r["eval_fid"])
             for i, r in enumerate(r for r in rows if "eval_fid" in r)]
    reached = next(((s, t, f) for s, t, f in evals if f <= ref_fid), None)
    out = {"reference": {"steps": steps, "seconds": round(ref_seconds, 1), "fid": round(ref_fid, 2)},
           "gankit": {"steps": res.step, "seconds_with_evals": round(res.elapsed, 1),
                      "eval_cost_s": round(eval_cost, 2), "final_fid": evals[-1][2],
                      "evaluations": evals},
           "gankit_reached": None if reached is None else {"step": reached[0], "training_s": reached[1],
                                                            "fid": reached[2]}}
    print(json.dumps(out, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
