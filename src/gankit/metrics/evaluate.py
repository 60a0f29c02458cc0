"""Score a run with the metrics that fit its data, next to the floor each metric has on real data.

Image data with a bundled classifier (mnist, fashion-mnist): FID, KID, the classifier score and improved
precision/recall + density/coverage on the classifier's penultimate features. Other image data: precision,
recall, density and coverage on raw pixels. ring / grid: the PacGAN-protocol mode metrics.
The floor of each metric is the same metric for real held-out data against the training data.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from ..errors import GankitError
from .classifier import BUNDLED, ClassifierFeatures
from .fid import classifier_score, fid, kid
from .modes import toy_mode_metrics
from .prdc import prdc

IMAGE_METRICS = ("fid", "kid", "cs", "prdc")
TOY_METRICS = ("modes",)
ALL = IMAGE_METRICS + TOY_METRICS
METRICS_JSON = "metrics.json"


def applicable(data_name: str, kind: str) -> tuple[str, ...]:
    """The metrics that can score runs on this dataset."""
    if kind == "points":
        return TOY_METRICS if data_name in ("ring", "grid") else ()
    return IMAGE_METRICS if data_name in BUNDLED else ("prdc",)


def choose(data_name: str, kind: str, wanted: list[str] | None) -> tuple[str, ...]:
    ok = applicable(data_name, kind)
    if not wanted:
        if not ok:
            raise GankitError(f"No metric applies to {data_name!r} runs yet (the `lines` off-manifold metrics "
                              "are still to come). Available metrics: " + ", ".join(ALL) + ".")
        return ok
    for m in wanted:
        if m not in ALL:
            raise GankitError(f"Unknown metric {m!r}. Metrics: fid, kid, cs (classifier score), prdc "
                              "(precision, recall, density, coverage), modes (ring/grid toys).")
        if m not in ok:
            why = ("it needs a bundled classifier, which exists for " + ", ".join(BUNDLED)
                   if m in ("fid", "kid", "cs") else f"it is for {'image' if m == 'prdc' else 'ring/grid'} data")
            raise GankitError(f"Metric {m!r} does not apply to {data_name!r}: {why}. "
                              f"Metrics that apply: {', '.join(ok) or 'none yet'}.")
    return tuple(wanted)


def _image_scores(metrics, fake_x, real_x, extractor) -> dict[str, float]:
    """Every chosen image metric of `fake_x` against `real_x` (both (N, C, H, W) in [-1, 1])."""
    out: dict[str, float] = {}
    if extractor is None:
        if "prdc" in metrics:
            out.update(prdc(real_x.flatten(1), fake_x.flatten(1)))
        return out
    real_f = extractor.features(real_x)
    fake_f, fake_p = extractor.features_and_probs(fake_x)
    if "fid" in metrics:
        out["fid"] = fid(real_f, fake_f)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = kid(real_f, fake_f)
    if "cs" in metrics:
        out["classifier_score"] = classifier_score(fake_p)[0]
    if "prdc" in metrics:
        out.update(prdc(real_f, fake_f))
    return out


def evaluate(run_dir: str | Path, metrics: list[str] | None = None, n: int = 10_000, seed: int = 0,
             device: str = "auto", write: bool = True) -> dict:
    """Sample n points from a run, score them, and (with `write`) save RUN_DIR/metrics.json."""
    from ..run import load_run

    if n <= 1:
        raise GankitError(f"--n must be at least 2 samples (10,000 for comparable FID), got {n}.")
    run = load_run(run_dir, device)
    data, name = run.data, run.config.data.name
    chosen = choose(name, data.kind, metrics)
    t0 = time.perf_counter()
    fake = run.model.sample(n, generator=torch.Generator().manual_seed(seed)).cpu()
    if data.kind == "points":
        info = data.info
        scores = toy_mode_metrics(fake[:2500], info["centers"], float(info["std"]), weights=info.get("weights"))
        # The floor needs as many real points as the protocol's 2,500 samples to be meaningful.
        held_out = data.test if data.test is not None and len(data.test) >= 2500 else data.train
        floor = toy_mode_metrics(held_out[:2500], info["centers"], float(info["std"]), weights=info.get("weights"))
    else:
        extractor = ClassifierFeatures(name, device="cpu") if name in BUNDLED else None
        reference = data.train[:n]
        scores = _image_scores(chosen, fake, reference, extractor)
        floor = (_image_scores(chosen, data.test[:n], reference, extractor) if data.test is not None else {})
    result = {"run_dir": str(run_dir), "step": run.step, "dataset": name, "n": len(fake), "seed": seed,
              "metrics": scores, "floor": floor, "seconds": round(time.perf_counter() - t0, 2),
              "features": ("bundled classifier" if data.kind == "image" and name in BUNDLED else
                           "raw pixels" if data.kind == "image" else "points")}
    if write:
        (Path(run_dir) / METRICS_JSON).write_text(json.dumps(result, indent=1))
    return result


def format_table(result: dict) -> str:
    rows = [f"{'metric':<18}{'run':>12}{'floor (test vs train)':>24}"]
    for k, v in result["metrics"].items():
        f = result["floor"].get(k)
        fs = f"{f:.4g}" if isinstance(f, (int, float)) else "-"
        rows.append(f"{k:<18}{v:>12.4g}{fs:>24}")
    rows.append(f"({result['n']} samples at step {result['step']}, features: {result['features']}, "
                f"{result['seconds']} s)")
    return "\n".join(rows)
