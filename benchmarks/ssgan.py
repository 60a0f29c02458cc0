"""Semi-supervised GAN on MNIST (Salimans et al. 2016, sec. 5): test error per seed and its spread.

    python benchmarks/ssgan.py train ssgan-mnist-100 --seeds 0 1 2 3 4 [--budget 60m] [--threads 1]
    python benchmarks/ssgan.py summarize runs/ssgan100-seed0 runs/ssgan100-seed1 ...
    python benchmarks/ssgan.py confusion RUN [RUN ...] [--pictures DIR]

`train` runs the recipe once per seed (the labelled subset follows the seed) into runs/bench-ssgan/, then
summarizes. `summarize` reads the runs' logs (losses.jsonl: eval_test_error every epoch): final and best
test error of the averaged classifier, the raw classifier's final error, epochs, training seconds; prints a
markdown table with mean and spread, writes benchmarks/results/ssgan-<recipe>.json and the curves of test
error against epoch to docs/ssgan/<recipe>-error.png, and copies each run's last sample grid.
`confusion` loads each run's checkpoint and reads the test set with its averaged classifier: per-class error and the
most frequent (true -> predicted) confusions; with --pictures, a grid of the test images of the most frequent
confusion and one of the run's labelled images (a row per class) for each run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

import yaml

from gankit.engine.logging import read_rows

ROOT = Path(__file__).resolve().parent.parent


def read_run(run_dir: Path) -> dict:
    rows = read_rows(run_dir)
    evals = [r for r in rows if "eval_test_error" in r]
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    steps_per_epoch = 60000 // cfg["train"]["batch_size"]
    status = json.loads((run_dir / "status.json").read_text())
    return {"run": str(run_dir), "seed": cfg["train"]["seed"], "labels_per_class": cfg["model"]["labels_per_class"],
            "unlabeled_weight": cfg["model"]["unlabeled_weight"], "epochs": evals[-1]["step"] / steps_per_epoch,
            "train_seconds": round(max(status["elapsed"], evals[-1]["time"]), 1), "final_error": evals[-1]["eval_test_error"],
            "best_error": min(r["eval_test_error"] for r in evals), "final_error_raw": evals[-1]["eval_test_error_raw"],
            "curve": [(r["step"] / steps_per_epoch, r["eval_test_error"], r["eval_test_error_raw"]) for r in evals],
            "recipe": cfg.get("recipe", run_dir.name)}


def summarize(run_dirs: list[Path], name: str) -> None:
    runs = [read_run(d) for d in run_dirs]
    print("| seed | epochs | train s | final error (avg weights) | best error | final error (raw) |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['seed']} | {r['epochs']:.0f} | {r['train_seconds']:.0f} | {100 * r['final_error']:.2f}% | "
              f"{100 * r['best_error']:.2f}% | {100 * r['final_error_raw']:.2f}% |")
    finals = [100 * r["final_error"] for r in runs]
    spread = statistics.stdev(finals) if len(finals) > 1 else 0.0
    print(f"final error: mean {statistics.mean(finals):.2f}% +- {spread:.2f}% (std over {len(finals)} seeds)")
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / f"ssgan-{name}.json").write_text(json.dumps(runs, indent=1))
    docs = ROOT / "docs" / "ssgan"
    docs.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in runs:
        e, avg, raw = zip(*r["curve"])
        ax.plot(e, [100 * v for v in avg], lw=1.3, label=f"seed {r['seed']} (averaged D)")
        ax.plot(e, [100 * v for v in raw], lw=0.7, alpha=0.6, label=f"seed {r['seed']} (raw D)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(docs / f"{name}-error.png", dpi=110)
    for d, r in zip(run_dirs, runs):
        shutil.copy(d / "samples.png", docs / f"{name}-seed{r['seed']}-samples.png")


def confusion(run_dirs: list[Path], pictures: Path | None) -> None:
    import torch

    from gankit.errors import GankitError
    from gankit.metrics.counts import count_table
    from gankit.run import load_run
    from gankit.viz.grid import save_grid

    for rd in run_dirs:
        try:
            run = load_run(rd, "cpu")
        except GankitError as e:
            raise SystemExit(f"confusion: {e}")
        if run.config.model.name != "ssgan":
            raise SystemExit(f"confusion: {rd} is a {run.config.model.name!r} run; this reads ssgan classifiers.")
        m = run.model
        x, y = m._test
        pred = m.classify(x)
        wrong = pred != y
        k = int(y.max()) + 1
        conf = count_table(y[wrong], pred[wrong], k, k)
        pairs = sorted(((int(conf[a, b]), a, b) for a in range(k) for b in range(k) if conf[a, b]), reverse=True)
        per_class = [100 * wrong[y == c].float().mean().item() for c in range(k)]
        print(f"{rd}: step {run.step}, test error {100 * wrong.float().mean().item():.2f} %")
        print("  error per class (%):", " ".join(f"{c}:{e:.1f}" for c, e in enumerate(per_class)))
        print("  most frequent confusions (true -> predicted: images):",
              ", ".join(f"{a}->{b}: {n}" for n, a, b in pairs[:6]))
        if pictures is not None and pairs:
            pictures.mkdir(parents=True, exist_ok=True)
            n, a, b = pairs[0]
            tag = f"{rd.parent.name}-{rd.name}" if rd.name.startswith("seed") else rd.name
            save_grid(x[(y == a) & (pred == b)][:64], pictures / f"{tag}-{a}-as-{b}.png", nrow=8)
            lab_x, lab_y = run.data.train[m.labelled], run.data.train_labels[m.labelled]
            order = torch.argsort(lab_y, stable=True)
            save_grid(lab_x[order], pictures / f"{tag}-labelled.png", nrow=len(lab_y) // k)
            print(f"  pictures: {pictures}/{tag}-{a}-as-{b}.png, {tag}-labelled.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("recipe")
    t.add_argument("--seeds", nargs="*", type=int, default=[0])
    t.add_argument("--budget", default=None, help="wall-time budget per seed, e.g. 60m")
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--out", default="runs/bench-ssgan")
    s = sub.add_parser("summarize")
    s.add_argument("runs", nargs="+")
    s.add_argument("--name", default=None, help="name of the result files (default: the first run's folder)")
    c = sub.add_parser("confusion")
    c.add_argument("runs", nargs="+")
    c.add_argument("--pictures", type=Path, default=None, help="folder for the confusion and labelled-set grids")
    a = ap.parse_args()
    if a.cmd == "confusion":
        confusion([Path(d) for d in a.runs], a.pictures)
        return
    if a.cmd == "summarize":
        dirs = [Path(d) for d in a.runs]
        summarize(dirs, a.name or dirs[0].name)
        return
    from common import train_seeds

    dirs = train_seeds(a.recipe, a.seeds, a.out, a.threads, a.budget)
    summarize(dirs, a.recipe)


if __name__ == "__main__":
    main()
