"""InfoGAN on MNIST (Chen et al. 2016, sec. 7.1): Q's categorical code as a digit classifier, per seed.

    python benchmarks/infogan.py train infogan-mnist --seeds 0 1 2 3 4 [--threads 1] [--out runs/bench-infogan]
    python benchmarks/infogan.py summarize runs/bench-infogan/infogan-mnist-seed0 ... [--name infogan-mnist]

`train` runs the recipe once per seed, then summarizes. `summarize` reads each run's log (eval_q_accuracy:
Hungarian-mapped accuracy of Q on the 10,000 test images; eval_code_purity: bundled-classifier purity of the
samples of each code value), loads the final checkpoint to say which digit each code value makes (the
classifier's top class and its share over 500 samples) and which code value Q gives each test digit, and
prints a markdown table with mean and spread. It writes benchmarks/results/infogan-<name>.json and, per
seed, the traversal pictures to docs/infogan/<name>-seedN-*.png.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

import torch
import yaml

from gankit.engine.logging import read_rows

ROOT = Path(__file__).resolve().parent.parent


@torch.no_grad()
def code_table(run_dir: Path, n: int = 500) -> dict:
    """Per code value: the bundled classifier's top class and its share; Q's mapping of test digits."""
    from gankit.metrics.classifier import ClassifierFeatures
    from gankit.metrics.infogan import hungarian_accuracy
    from gankit.run import load_run

    run = load_run(run_dir, "cpu")
    m, k = run.model, run.model.opts.categories[0]
    clf = ClassifierFeatures(run.config.data.name, device="cpu")
    g = torch.Generator().manual_seed(0)
    tops = []
    for value in range(k):
        cat = torch.zeros(n, len(m.opts.categories), dtype=torch.long)
        cat[:, 0] = value
        probs = clf.probs(m.sample(**m.codes_latent(n, cat=cat, generator=g)).cpu())
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1])
        tops.append((int(counts.argmax()), float(counts.max()) / n))
    pred = torch.cat([m.q_outputs(run.data.test[i:i + 1000])[0][0].argmax(1) for i in range(0, len(run.data.test), 1000)])
    acc, mapping = hungarian_accuracy(pred, run.data.test_labels, k, int(run.data.test_labels.max()) + 1)
    return {"code_top_class": tops, "q_mapping": mapping, "q_accuracy_final": acc}


def read_run(run_dir: Path) -> dict:
    rows = read_rows(run_dir)
    evals = [r for r in rows if "eval_q_accuracy" in r]
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    status = json.loads((run_dir / "status.json").read_text())
    return {"run": str(run_dir), "seed": cfg["train"]["seed"], "steps": evals[-1]["step"],
            "batch_size": cfg["train"]["batch_size"], "train_seconds": round(status["elapsed"], 1),
            "threads": cfg["train"].get("threads"), "q_accuracy": evals[-1]["eval_q_accuracy"],
            "code_purity": evals[-1].get("eval_code_purity"),
            "classifier_score": evals[-1].get("eval_classifier_score"),
            "curve": [(r["step"], r["eval_q_accuracy"], r.get("eval_code_purity")) for r in evals],
            **code_table(run_dir)}


def summarize(run_dirs: list[Path], name: str, target: float = 0.95) -> None:
    from gankit.run import traverse

    runs = [read_run(d) for d in run_dirs]
    # Q accuracy moves by a few points between evaluations, so the table also shows the last three at
    # multiples of 1000 steps (runs evaluated every 500 or every 1000 share that grid).
    print("| seed | steps | train s | Q accuracy | last three at k*1000 steps | code purity | classifier score | "
          "digit made by each code value (share) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        tops = " ".join(f"{c}({s:.2f})" for c, s in r["code_top_class"])
        cs = f"{r['classifier_score']:.2f}" if r["classifier_score"] is not None else "-"
        pur = f"{r['code_purity']:.3f}" if r["code_purity"] is not None else "-"
        last = " / ".join([f"{a:.3f}" for step, a, _ in r["curve"] if step % 1000 == 0][-3:])
        print(f"| {r['seed']} | {r['steps']} | {r['train_seconds']:.0f} | {r['q_accuracy']:.4f} | {last} | {pur} | {cs} "
              f"| {tops} |")
    accs = [r["q_accuracy"] for r in runs]
    spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
    hits = sum(a >= target for a in accs)
    print(f"Q accuracy: mean {statistics.mean(accs):.4f} +- {spread:.4f} (std over {len(accs)} seeds); "
          f"{hits} of {len(accs)} seeds >= {target}; longest run {max(r['train_seconds'] for r in runs):.0f} s")
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / f"infogan-{name}.json").write_text(json.dumps(runs, indent=1))
    docs = ROOT / "docs" / "infogan"
    docs.mkdir(parents=True, exist_ok=True)
    for d, r in zip(run_dirs, runs):
        for kind, path in traverse(d, docs / "tmp", steps=9, device="cpu").items():
            shutil.move(path, docs / f"{name}-seed{r['seed']}-{kind}.png")
        shutil.copy(d / "samples.png", docs / f"{name}-seed{r['seed']}-samples.png")
    shutil.rmtree(docs / "tmp", ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("recipe")
    t.add_argument("--seeds", nargs="*", type=int, default=[0])
    t.add_argument("--threads", type=int, default=None)
    t.add_argument("--out", default="runs/bench-infogan")
    t.add_argument("overrides", nargs="*", help="extra dotted overrides for every seed")
    s = sub.add_parser("summarize")
    s.add_argument("runs", nargs="+")
    s.add_argument("--name", default=None, help="name of the result files (default: the first run's folder)")
    a = ap.parse_args()
    if a.cmd == "summarize":
        dirs = [Path(d) for d in a.runs]
        summarize(dirs, a.name or dirs[0].name)
        return
    from common import train_seeds

    dirs = train_seeds(a.recipe, a.seeds, a.out, a.threads, overrides=a.overrides)
    summarize(dirs, a.recipe)


if __name__ == "__main__":
    main()
