"""Objective comparison: every model of the objective family on the shared ring / MNIST recipes.

    python benchmarks/objectives.py ring  [--models gan wgan ...] [--out runs/bench]
    python benchmarks/objectives.py mnist

Each model trains with its `<model>-<dataset>` recipe (same networks, data and step budget; see
configs/base-*.yaml). Writes docs/objectives/<model>-<dataset>.png (the final sample picture) and
benchmarks/results/objectives-<dataset>.json, and prints a markdown table. On ring it also scores 2,500
samples with the PacGAN-protocol mode metrics.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

import gankit
from common import train_or_stop
from gankit.metrics.modes import toy_mode_metrics

MODELS = ["gan", "wgan", "wgan-gp", "lsgan", "fgan", "dragan", "ebgan"]
ROOT = Path(__file__).resolve().parent.parent


def run_one(model: str, dataset: str, out: Path, overrides: list[str]) -> dict:
    run_dir = out / f"{model}-{dataset}"
    t0 = time.perf_counter()
    try:
        res = train_or_stop(f"{model}-{dataset}", ["train.progress=false", *overrides], run_dir)
    except gankit.GankitError as e:       # e.g. a non-finite loss: a result too
        return {"model": model, "dataset": dataset, "status": "failed", "error": str(e).split(".")[0]}
    row = {"model": model, "dataset": dataset, "status": res.status, "steps": res.step,
           "seconds": round(time.perf_counter() - t0, 1), "losses": {k: round(v, 4) for k, v in res.losses.items()}}
    docs = ROOT / "docs" / "objectives"
    docs.mkdir(parents=True, exist_ok=True)
    if dataset == "ring":
        run = gankit.load_run(run_dir, device="cpu")
        x = run.model.sample(2500, generator=torch.Generator().manual_seed(0))
        row.update(toy_mode_metrics(x, run.data.info["centers"], float(run.data.info["std"])))
        gankit.sample(run_dir, 2500, docs / f"{model}-{dataset}.png", seed=0, device="cpu")
    else:
        shutil.copy(run_dir / "samples.png", docs / f"{model}-{dataset}.png")
        row.update(image_metrics(run_dir))
    return row


def image_metrics(run_dir: Path) -> dict:
    """FID, classifier score, precision/recall and the DMWGAN metrics of 10,000 samples (gankit eval)."""
    from gankit.run import evaluate

    m = evaluate(run_dir, ["fid", "cs", "prdc", "dmwgan"], n=10_000, device="cpu")["metrics"]
    keep = ("fid", "classifier_score", "precision", "recall", "inter_mode_jsd", "sample_quality")
    return {k: round(m[k], 4) for k in keep}


def table(rows: list[dict]) -> str:
    keys = ["model", "status", "steps", "seconds", "modes", "high_quality", "reverse_kl", "fid",
            "classifier_score", "precision", "recall", "inter_mode_jsd", "sample_quality"]
    keys = [k for k in keys if any(k in r for r in rows)] + ["losses"]
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k, r.get("error", "") if k == "losses" else "")
            if k == "losses" and isinstance(v, dict):
                v = ", ".join(f"{a} {b:.3g}" for a, b in v.items())
            cells.append(f"{v:.3f}" if isinstance(v, float) and k != "seconds" else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dataset", choices=["ring", "mnist"])
    p.add_argument("--models", nargs="*", default=MODELS)
    p.add_argument("--out", default="runs/bench")
    p.add_argument("--eval-only", action="store_true", help="MNIST: only (re)compute the metrics of finished runs")
    p.add_argument("overrides", nargs="*", default=[])
    a = p.parse_args()
    rows = []
    if a.eval_only:
        path = ROOT / "benchmarks" / "results" / f"objectives-{a.dataset}.json"
        rows = [r for r in json.loads(path.read_text()) if r["model"] in a.models]
        for r in rows:
            r.update(image_metrics(Path(a.out) / f"{r['model']}-{a.dataset}"))
            print(json.dumps(r), flush=True)
    for m in ([] if a.eval_only else a.models):
        rows.append(run_one(m, a.dataset, Path(a.out), a.overrides))
        print(json.dumps(rows[-1]), flush=True)
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(exist_ok=True)
    path = res_dir / f"objectives-{a.dataset}.json"
    # A rerun of some models replaces their rows and keeps the others.
    old = json.loads(path.read_text()) if path.exists() else []
    done = {r["model"] for r in rows}
    merged = [r for r in old if r["model"] not in done] + rows
    merged.sort(key=lambda r: MODELS.index(r["model"]) if r["model"] in MODELS else len(MODELS))
    path.write_text(json.dumps(merged, indent=1))
    print(table(merged))


if __name__ == "__main__":
    main()
