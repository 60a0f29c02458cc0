"""The report's plots, drawn with matplotlib into PNG bytes (inlined into the HTML as data: URIs)."""
from __future__ import annotations

import base64
import io
import math

from .stats import direction

_STYLES = ["-", "--", "-.", ":"]


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _axes(title: str, xlabel: str, ylabel: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def _band(ax, curve: dict, label: str, i: int) -> None:
    """The mean over seeds as a line, mean ± std as a shaded band (where more than one seed logged)."""
    import matplotlib.pyplot as plt

    color = plt.get_cmap("tab10")(i % 10)
    xs = curve["x"]
    mean = [m if m is not None else float("nan") for m in curve["mean"]]
    ax.plot(xs, mean, _STYLES[(i // 10) % 4], color=color, label=label, lw=1.4)
    lo = [m - s if s is not None else m for m, s in zip(mean, curve["std"])]
    hi = [m + s if s is not None else m for m, s in zip(mean, curve["std"])]
    ax.fill_between(xs, lo, hi, color=color, alpha=0.18, lw=0)


def curve_plot(results: dict, name: str, title: str, reach: bool = False) -> bytes | None:
    """One metric (or loss) against training, a line per entry with its spread over seeds."""
    source = results["best_reachable"] if reach else results["curves"]
    series = [(lab, source.get(lab, {}).get(name)) for lab in results["labels"]]
    series = [(lab, c) for lab, c in series if c and c["x"]]
    if not series:
        return None
    fig, ax = _axes(title, results["x_axis"], name.removeprefix("eval_"))
    for i, (lab, c) in enumerate(series):
        _band(ax, c, lab, i)
    metric = name.removeprefix("eval_")
    floor = results.get("floor", {}).get(metric)
    if isinstance(floor, (int, float)) and (reach or name.startswith("eval_")):
        ax.axhline(floor, color="gray", lw=0.8, ls=":", label="real data (floor)")
    if direction(metric) == "min" and metric in ("fid", "kid"):
        ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2 if len(series) > 5 else 1)
    return _figure_bytes(fig)


def final_plot(results: dict, metric: str) -> bytes | None:
    """Per-seed final values of one metric, a column of dots per entry, with mean ± std."""
    summ = results["summary"][metric]
    labels = [lab for lab in results["labels"] if summ[lab]["n"]]
    if not labels:
        return None
    fig, ax = _axes(f"{metric}: final value per seed", "", metric)
    for i, lab in enumerate(labels):
        vals = [v for v in summ[lab]["values"] if v is not None and math.isfinite(v)]
        ax.scatter([i] * len(vals), vals, s=14, alpha=0.7)
        if summ[lab]["std"] is not None:   # None: an infinite value among the seeds (written in the table)
            ax.errorbar([i + 0.15], [summ[lab]["mean"]], yerr=[summ[lab]["std"]], fmt="o", color="black", ms=3,
                        capsize=3)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    return _figure_bytes(fig)
