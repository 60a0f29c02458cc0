"""Statistics of a study: mean ± std over seeds, the best entry per metric, and whether another entry's
difference from the best is within noise (Welch's unequal-variance t-test, two-sided, alpha 0.05).

Welch rather than Student: recipes of one study differ in how much they vary from seed to seed.
"""
from __future__ import annotations

import math

ALPHA = 0.05
METHOD = "Welch's t-test (two-sided, unequal variances), alpha = 0.05"

# Which way is better, by metric name (as `gankit eval` writes them). Others are shown, not ranked.
LOWER = {"fid", "kid", "reverse_kl", "inter_mode_jsd", "off_manifold", "mass_tv", "test_error",
         "best_test_error", "final_test_error", "cfid_mean", "rec_fid", "rec_mse", "class_max_share", "class_tv"}
HIGHER = {"classifier_score", "precision", "recall", "density", "coverage", "sample_quality", "modes",
          "modes_any", "high_quality", "q_accuracy", "code_purity", "discriminability", "class_min_share"}
UNRANKED_SUFFIX = ("_std",)


def direction(metric: str) -> str | None:
    """'min', 'max' or None (a diagnostic, e.g. kid_std or n_modes)."""
    if metric.endswith(UNRANKED_SUFFIX):
        return None
    if metric.startswith(("a2b_", "b2a_")):   # translation runs score each direction (metrics/translation.py)
        metric = metric[4:]
        if metric in ("mse", "cycle_l1", "label_flip"):
            return "min"
        if metric in ("ssim", "label_acc", "class_nmi"):   # class_map is shown, not ranked: 1 also when all read as one class
            return "max"
    if metric in LOWER or metric.endswith("_error"):
        return "min"
    if metric in HIGHER or metric.endswith("_accuracy"):
        return "max"
    return None


def summarize(values: list[float]) -> dict:
    """mean, sample standard deviation (n - 1; 0 for one value), n, and the values themselves. An infinite
    value (a reverse KL with a mode never hit) makes the mean infinite and the std undefined (None)."""
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(vals)
    if n == 0:
        return {"mean": None, "std": None, "n": 0, "values": list(values)}
    if not all(math.isfinite(v) for v in vals):
        return {"mean": sum(vals) / n, "std": None, "n": n, "values": list(values)}
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "n": n, "values": list(values)}


def welch(a: list[float], b: list[float]) -> dict | None:
    """Welch's t statistic, its Welch-Satterthwaite degrees of freedom and the two-sided p-value.
    None when either side has fewer than two values (no variance to test against)."""
    from scipy.special import stdtr   # Student's t CDF; scipy.stats would take 2 s to import

    if len(a) < 2 or len(b) < 2:
        return None
    if not all(math.isfinite(v) for v in a + b):
        return None
    sa, sb = summarize(a), summarize(b)
    va, vb = sa["std"] ** 2 / sa["n"], sb["std"] ** 2 / sb["n"]
    diff = sa["mean"] - sb["mean"]
    if va + vb == 0.0:   # no spread at all: equal means are the same, different ones plainly differ
        return {"t": 0.0 if diff == 0 else math.copysign(math.inf, diff), "df": float(sa["n"] + sb["n"] - 2),
                "p": 1.0 if diff == 0 else 0.0}
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (sa["n"] - 1) + vb ** 2 / (sb["n"] - 1))
    return {"t": t, "df": df, "p": float(2 * stdtr(df, -abs(t)))}


def rank(summary: dict[str, dict], metric: str) -> tuple[str | None, dict[str, dict]]:
    """The best label for `metric` (by mean) and, for every other label, its test against the best:
    {label: {"p": p, "within_noise": bool}} (p None: too few seeds to say)."""
    how = direction(metric)
    scored = {k: v for k, v in summary.items() if v["mean"] is not None and not math.isnan(v["mean"])}
    if how is None or not scored:
        return None, {}
    best = (min if how == "min" else max)(scored, key=lambda k: scored[k]["mean"])
    tests = {}
    for label, s in scored.items():
        if label == best:
            continue
        w = welch(_finite(s["values"]), _finite(scored[best]["values"]))
        tests[label] = {"p": None if w is None else w["p"], "within_noise": w is not None and w["p"] >= ALPHA}
    return best, tests


def _finite(values: list) -> list[float]:
    """The values that count for a test: None and NaN dropped, infinities kept (welch refuses them)."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]
