"""Loss curves of a run as a PNG."""
from __future__ import annotations

from pathlib import Path


def plot_losses(rows: list[dict], out: str | Path) -> Path | None:
    """One panel per logged quantity against the step; `rows` as in losses.jsonl."""
    # prior_i (DMWGAN's prior masses) get their own picture (viz.generators.plot_prior).
    keys = [k for k in dict.fromkeys(k for r in rows for k in r)
            if k not in ("step", "time") and not k.startswith("prior_")]
    if not rows or not keys:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(keys))
    nrows = -(-len(keys) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4 * cols, 2.6 * nrows), squeeze=False)
    for ax, k in zip(axes.flat, keys):
        pts = [(r["step"], r[k]) for r in rows if isinstance(r.get(k), (int, float))]
        if pts:
            ax.plot(*zip(*pts), lw=1)
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return Path(out)
