"""DMWGAN / DMWGAN-PL against a single-generator WGAN-GP of similar size and equal budget.

    python benchmarks/dmwgan.py lines [--balanced] [--seeds 0] [--steps N]
    python benchmarks/dmwgan.py mnist [--seeds 0 1 2] [--steps N]
    python benchmarks/dmwgan.py digits-fashion [--seeds 0] [--steps N]
    python benchmarks/dmwgan.py mnist --seeds 0 1 2 --out DIR --score-only   (score runs made elsewhere)

lines: recipes <model>-lines-unbalanced (first segment 70% of the mass; --balanced: <model>-lines); scores
10,000 samples: off-manifold share, total variation of the per-segment mass, and for the multi-generator
models the prior mass of the generators serving the heavy segment and the number of generators above 1%.
mnist: <model>-mnist (wgan-gp-dmwgan-mnist for the baseline): FID, inter-mode JSD, sample quality on 10,000
samples (gankit eval). digits-fashion: share of digits / garments / in-between samples, and per generator
its prior mass and split. Pictures go to docs/dmwgan/, results to benchmarks/results/dmwgan-<task>.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

import torch

import gankit
from common import train_or_stop
from gankit.run import evaluate

ROOT = Path(__file__).resolve().parent.parent
RECIPES = {
    "lines": {"dmwgan-pl": "dmwgan-pl-lines-unbalanced", "wgan-gp": "wgan-gp-lines-unbalanced",
              "dmwgan": "dmwgan-lines-unbalanced"},
    "lines-balanced": {"dmwgan-pl": "dmwgan-pl-lines", "wgan-gp": "wgan-gp-lines", "dmwgan": "dmwgan-lines"},
    "mnist": {"wgan-gp": "wgan-gp-dmwgan-mnist", "dmwgan-pl": "dmwgan-pl-mnist"},
    "digits-fashion": {"wgan-gp": "wgan-gp-digits-fashion", "dmwgan-pl": "dmwgan-pl-digits-fashion"},
}
KEEP = {"lines": ("off_manifold", "mass_tv", "heavy_segment_mass", "generators_above_1pct", "prior_entropy"),
        "mnist": ("fid", "inter_mode_jsd", "sample_quality", "precision", "recall", "generators_above_1pct"),
        "digits-fashion": ("digits", "fashion", "in_between", "gens_digits_mass", "gens_fashion_mass",
                           "gens_in_between_mass", "generators_above_1pct")}


def per_generator_table(run_dir: Path) -> list[dict]:
    """digits+fashion: each generator's prior mass and the split of 500 of its samples."""
    from gankit.metrics.domains import DomainClassifier

    run = gankit.load_run(run_dir, device="cpu")
    dc = DomainClassifier()
    probs = run.model.prior_probs().cpu().tolist()
    rows = []
    for i, x in enumerate(run.model.per_generator(500, torch.Generator().manual_seed(0))):
        rows.append({"generator": i, "prior": round(probs[i], 4), **{k: round(v, 3) for k, v in dc.shares(x).items()}})
    return rows


def mnist_generator_table(run_dir: Path) -> dict:
    """MNIST: each generator's prior mass, its two most frequent classes and confident share (500 samples,
    the bundled classifier), and the prior-weighted class mixture against the training labels.

    It also splits DMWGAN-PL's inter-mode JSD into its two sources: the JSD of the class mixture under the
    learned prior, under a uniform prior, and under the best prior for these generators (fitted here to the
    real class histogram), and how closely the learned prior follows its target, the mean of Q(c | x) on
    real images (sec. 3.3). A learned prior close to Q's mean with a best-prior JSD near 0 means the prior
    does its job and the gap lies in generators that still make several classes each. `q_credit_by_class`
    checks Q itself: for each real class, the generator Q credits most on real images of that class, with
    that generator's share of the generated images of that class."""
    from gankit.metrics.classifier import load_classifier
    from gankit.metrics.manifold import js_divergence

    run = gankit.load_run(run_dir, device="cpu")
    clf = load_classifier("mnist").eval()
    probs = run.model.prior_probs().cpu()
    hists, rows = [], []
    with torch.no_grad():
        for i, x in enumerate(run.model.per_generator(500, torch.Generator().manual_seed(0))):
            p = torch.softmax(clf(x), 1)
            hist = torch.bincount(p.argmax(1), minlength=10).float() / len(x)
            hists.append(hist)
            top = hist.argsort(descending=True)[:2].tolist()
            rows.append({"generator": i, "prior": round(float(probs[i]), 4),
                         "top": [[c, round(float(hist[c]), 2)] for c in top],
                         "confident": round(float((p.max(1).values >= 0.9).float().mean()), 3)})
    H = torch.stack(hists)
    real = torch.bincount(run.data.train_labels, minlength=10).float()
    real /= real.sum()
    mixture = probs @ H
    q, labels = q_on_real(run)
    made = probs[:, None] * H                       # generator x class: share of all samples
    made = made / made.sum(0, keepdim=True).clamp_min(1e-12)
    credit = []                                     # per real class: the generator Q credits most, and
    for c in range(10):                             # that generator's share of the generated class c
        q_c = q[labels == c].mean(0)
        g = int(q_c.argmax())
        credit.append({"class": c, "q_top": g, "q_credit": round(float(q_c[g]), 3),
                       "made_share": round(float(made[g, c]), 3)})
    return {"per_generator": rows, "class_mixture": [round(v, 4) for v in mixture.tolist()],
            "class_real": [round(v, 4) for v in real.tolist()],
            "jsd_learned_prior": round(js_divergence(mixture, real), 5),
            "jsd_uniform_prior": round(js_divergence(H.mean(0), real), 5),
            "jsd_best_prior": round(js_divergence(best_prior(H, real) @ H, real), 5),
            "prior_vs_q_real_max_gap": round(float((probs - q.mean(0)).abs().max()), 4),
            "q_credit_by_class": credit}


def q_on_real(run, n: int = 12_800, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Q(c | x) for n training images (n x k) and their labels, with Q's batch norm on batches of `batch` real
    images as in the prior's update during training (a copy of Q, so the run's running statistics stay)."""
    import copy
    import torch.nn.functional as F

    D, Q = run.model.nets["D"], copy.deepcopy(run.model.nets["Q"]).train()   # load_run: D in eval mode
    x = run.data.train[:n]
    with torch.no_grad():
        q = torch.cat([F.softmax(Q(D.features(x[j:j + batch])), 1) for j in range(0, len(x), batch)])
    return q, run.data.train_labels[:n]


def best_prior(H: torch.Tensor, target: torch.Tensor, steps: int = 3000) -> torch.Tensor:
    """The prior w on the simplex (softmax of logits, Adam) that brings the mixture w @ H (H: generators x
    classes) closest to `target` in JSD: the lowest JSD these generators can reach by reweighting alone."""
    zeta = torch.zeros(H.shape[0], requires_grad=True)
    opt = torch.optim.Adam([zeta], lr=0.05)
    for _ in range(steps):
        mix = torch.softmax(zeta, 0) @ H
        m = (mix + target) / 2
        loss = (torch.xlogy(mix, mix) - torch.xlogy(mix, m)).sum() + (torch.xlogy(target, target) - torch.xlogy(target, m)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.softmax(zeta.detach(), 0)


def run_one(task: str, name: str, recipe: str, seed: int, out: Path, overrides: list[str]) -> dict:
    run_dir = out / f"{recipe}-s{seed}"
    t0 = time.perf_counter()
    train_or_stop(recipe, ["train.progress=false", f"train.seed={seed}", *overrides], run_dir)
    return score(task, name, recipe, seed, run_dir, wall=time.perf_counter() - t0)


def score(task: str, name: str, recipe: str, seed: int, run_dir: Path, wall: float | None = None,
          tag: str = "") -> dict:
    """Scores a finished run on 10,000 samples and copies its pictures to docs/dmwgan/. `wall` is this
    session's wall time; train_seconds is the run's training time over all its sessions (status.json)."""
    status = json.loads((run_dir / "status.json").read_text())
    if status["status"] != "finished":
        raise SystemExit(f"{run_dir}: status {status['status']!r} at step {status['step']}; finish it first.")
    metrics = None if task.startswith("lines") else (["fid", "prdc", "dmwgan"] if task == "mnist" else ["domains"])
    m = evaluate(run_dir, metrics, n=10_000, device="cpu")["metrics"]
    keep = KEEP["lines" if task.startswith("lines") else task]
    row = {"model": name, "recipe": recipe, "seed": seed, "steps": status["step"],
           "train_seconds": round(status["elapsed"], 1), "wall_seconds": None if wall is None else round(wall, 1),
           **{k: round(m[k], 4) for k in keep if k in m}}
    if tag:   # a variant of the recipe (e.g. other settings on --branch): kept apart from the recipe's rows
        row["variant"] = tag
    branch = run_dir / "branch.json"
    if branch.exists():   # continued from another run's checkpoint, maybe with changed settings
        row["branched"] = json.loads(branch.read_text())
    if "segment0_mass" in m:
        row["segment_mass"] = [round(m[f"segment{j}_mass"], 3) for j in range(4)]
    if task == "digits-fashion" and name != "wgan-gp":
        row["per_generator"] = per_generator_table(run_dir)
    if task == "mnist" and name != "wgan-gp":
        row.update(mnist_generator_table(run_dir))
    docs = ROOT / "docs" / "dmwgan"
    docs.mkdir(parents=True, exist_ok=True)
    stem = f"{recipe}-s{seed}" + (f"-{status['step'] // 1000}k" if branch.exists() else "")
    stem += f"-{tag}" if tag else ""
    shutil.copy(run_dir / "samples.png", docs / f"{stem}-samples.png")
    for pic in ("generators.png", "prior.png"):
        if (run_dir / pic).exists():
            shutil.copy(run_dir / pic, docs / f"{stem}-{pic}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=["lines", "mnist", "digits-fashion"])
    ap.add_argument("--balanced", action="store_true", help="lines: the balanced toy")
    ap.add_argument("--models", nargs="*", default=None, help="subset of: wgan-gp dmwgan dmwgan-pl")
    ap.add_argument("--seeds", nargs="*", type=int, default=[0])
    ap.add_argument("--steps", type=int, default=None, help="override train.steps (default: the recipes')")
    ap.add_argument("--threads", type=int, default=None, help="train.threads (1 when another job shares the CPU)")
    ap.add_argument("--out", default="runs/bench-dmwgan")
    ap.add_argument("--tag", default="", help="--score-only: name of a variant of the recipes; its rows, results "
                    "file and pictures are kept apart from the recipes' own")
    ap.add_argument("--score-only", action="store_true",
                    help="train nothing: score the finished runs OUT/<recipe>-s<seed> (e.g. made by gankit train --branch)")
    a = ap.parse_args()
    if a.tag and not a.score_only:
        ap.error("--tag names a variant of runs made elsewhere: use it with --score-only")
    task = "lines-balanced" if a.task == "lines" and a.balanced else a.task
    overrides = [f"train.steps={a.steps}"] if a.steps else []
    overrides += [f"train.threads={a.threads}"] if a.threads else []
    rows = []
    for seed in a.seeds:
        for name, recipe in RECIPES[task].items():
            if a.models and name not in a.models:
                continue
            if a.score_only:
                row = score(task, name, recipe, seed, Path(a.out) / f"{recipe}-s{seed}", tag=a.tag)
            else:
                row = run_one(task, name, recipe, seed, Path(a.out), overrides)
            print(json.dumps(row), flush=True)
            rows.append(row)
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    suffix = ("-".join(a.models) if a.models else "all") + (f"-{a.tag}" if a.tag else "")
    path = res_dir / f"dmwgan-{task}-{suffix}.json"
    rows = merge_rows(json.loads(path.read_text()) if path.exists() else [], rows)
    path.write_text(json.dumps(rows, indent=1))
    print_table(rows)


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Earlier seeds' rows stay in the results file; a rerun of the same (model, seed, steps) replaces its row."""
    key = lambda r: (r["model"], r.get("variant", ""), r["seed"], r["steps"])   # noqa: E731
    fresh = {key(r) for r in new}
    return [r for r in old if key(r) not in fresh] + new


def print_table(rows: list[dict]) -> None:
    """Markdown table of every row, then each (model, steps)'s mean over its seeds."""
    nested = {k for r in rows for k, v in r.items() if isinstance(v, (list, dict))}   # tables of their own
    keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k != "recipe" and k not in nested]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "-")) for k in keys) + " |")
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["steps"]), []).append(r)
    for (model, steps), rs in groups.items():
        labels = {"model": f"**{model}, {len(rs)} seeds**", "seed": "mean", "steps": str(steps)}
        cells = []
        for k in keys:
            vals = [r[k] for r in rs if isinstance(r.get(k), (int, float))]
            cells.append(labels[k] if k in labels else f"{statistics.mean(vals):.4g}" if vals else "-")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
