"""report.html: one self-contained page (every image inlined, no script, nothing fetched) with the tables
(mean ± std over seeds, best marked, ties within noise noted), the curves, the samples side by side and how
the study was made."""
from __future__ import annotations

import html
import platform
from pathlib import Path

import yaml

from . import stats
from .figures import curve_plot, final_plot, png_uri

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 12px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}
table{border-collapse:collapse;margin:8px 0 4px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.best td{background:#e8f5e9;font-weight:600}
.note{color:#555;font-size:12px}.fail{color:#b00020}.grid{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0}figcaption{font-size:12px;color:#444;max-width:300px}img.s{width:260px;image-rendering:pixelated}
img.p{max-width:100%}pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _img(data: bytes | None, alt: str, cls: str = "p") -> str:
    return f'<img class="{cls}" alt="{_e(alt)}" src="{png_uri(data)}">' if data else ""


def _fmt(v, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}g}" if isinstance(v, float) else _e(v)


def _mean_std(s: dict) -> str:
    if s["mean"] is None:
        return "-"
    return f"{s['mean']:.4g}" + ("" if s["std"] is None else f" ± {s['std']:.2g}")


def metric_table(results: dict, metric: str) -> str:
    summ, best, tests = results["summary"][metric], results["best"].get(metric), results["tests"].get(metric, {})
    how = stats.direction(metric)
    floor = results.get("floor", {}).get(metric)
    rows = []
    for lab in results["labels"]:
        s = summ[lab]
        note = ""
        if lab == best:
            note = "best"
        elif lab in tests:
            t = tests[lab]
            note = ("too few seeds to test" if t["p"] is None else
                    f"within noise of the best (p = {t['p']:.2g})" if t["within_noise"] else f"worse (p = {t['p']:.2g})")
        seeds = ", ".join(_fmt(v) for v in s["values"])
        cell = _mean_std(s)
        rows.append(f'<tr class="{"best" if lab == best else ""}"><td class="l">{_e(lab)}</td><td>{cell}</td>'
                    f'<td>{s["n"]}</td><td class="l">{seeds}</td><td class="l">{_e(note)}</td></tr>')
    arrow = {"min": " (lower is better)", "max": " (higher is better)"}.get(how, " (not ranked)")
    fl = f'; real data: {_fmt(floor)}' if isinstance(floor, (int, float)) else ""
    return (f'<h3 id="m-{_e(metric)}">{_e(metric)}{arrow}</h3><table class="metric" data-metric="{_e(metric)}">'
            '<tr><th class="l">entry</th><th>mean ± std</th><th>seeds</th><th class="l">per seed</th>'
            f'<th class="l">vs the best</th></tr>{"".join(rows)}</table><p class="note">{_e(results["budget"])}{fl}</p>')


def summary_table(results: dict) -> str:
    """One table: an entry per row, a ranked metric per column (also a notebook's view of a study)."""
    ranked = [m for m in results["metrics"] if stats.direction(m)]
    head = "".join(f"<th>{_e(m)}</th>" for m in ranked)
    body = []
    for lab in results["labels"]:
        cells = []
        for m in ranked:
            s = results["summary"][m][lab]
            txt = _mean_std(s)
            is_best = results["best"].get(m) == lab
            tie = results["tests"].get(m, {}).get(lab, {}).get("within_noise")
            cells.append(f"<td>{'<b>' + txt + '</b>' if is_best else txt}{' ≈' if tie else ''}</td>")
        body.append(f'<tr><td class="l">{_e(lab)}</td>{"".join(cells)}</tr>')
    return (f'<table class="summary"><tr><th class="l">entry</th>{head}</tr>{"".join(body)}</table>'
            f'<p class="note">bold: best mean; ≈: within noise of the best ({_e(results["significance"])})</p>')


def _samples(results: dict, out: Path) -> str:
    """The first seed's pictures of every entry side by side (same step for a step budget), then the
    other seeds' per entry."""
    by: dict[str, list] = {}
    for r in results["runs"]:
        by.setdefault(r["label"], []).append(r)
    side, rest = [], []
    for lab in results["labels"]:
        runs = by.get(lab, [])
        figs = []
        for r in runs:
            for name, what in (("samples.png", "samples"), ("generators.png", "per generator"), ("prior.png", "prior")):
                p = out / r["run_dir"] / name
                if p.exists():
                    figs.append((r, what, p.read_bytes()))
        if not figs:
            side.append(f"<figure><figcaption>{_e(lab)}: no pictures (not run yet, or failed before "
                        "its first)</figcaption></figure>")
            continue
        first = figs[0][0]
        side += [_figure(lab, r, w, b, True) for r, w, b in figs if r is first]
        others = [_figure(lab, r, w, b, False) for r, w, b in figs if r is not first]
        if others:
            rest.append(f"<h3>{_e(lab)}</h3><div class='grid'>{''.join(others)}</div>")
    more = f"<details><summary>the other seeds</summary>{''.join(rest)}</details>" if rest else ""
    return f"<div class='grid'>{''.join(side)}</div>{more}"


def _figure(lab: str, r: dict, what: str, data: bytes, named: bool) -> str:
    alt = f"{lab} seed {r['seed']} {what}"
    who = f"{_e(lab)}, seed {r['seed']}" if named else f"seed {r['seed']}"
    return f"<figure>{_img(data, alt, 's')}<figcaption>{who}, {what} at step {_e(r['steps'])}</figcaption></figure>"


def _made(results: dict, made: dict) -> str:
    rows = "".join(f'<tr><td class="l">{_e(r["label"])}</td><td>{r["seed"]}</td><td class="l">{_e(r["status"])}</td>'
                   f'<td>{_fmt(r["steps"])}</td><td>{_fmt(r["train_s"])}</td><td>{_fmt(r["eval_s"])}</td>'
                   f'<td>{_fmt(r.get("job_s"))}</td>'
                   f'<td class="l">{_e(r["run_dir"])}</td></tr>' for r in results["runs"])
    facts = "".join(f'<tr><td class="l">{_e(k)}</td><td class="l">{_e(v)}</td></tr>' for k, v in made.items()
                    if k != "invocations")
    calls = "".join(f'<tr><td class="l">{_e(i.get("started"))}</td><td class="l">{_e(i.get("command"))}</td>'
                    f'<td class="l">{_e(i.get("backend"))}</td><td class="l">{_e(i.get("by_action"))}</td>'
                    f'<td>{_fmt(i.get("jobs_s"))}</td><td class="l">{"yes" if i.get("complete") else "interrupted"}'
                    '</td></tr>' for i in made.get("invocations", []))
    spec = yaml.safe_dump(results["spec"], sort_keys=False)
    return (f'<table>{facts}</table><h3>Invocations</h3><table class="calls"><tr><th class="l">started</th>'
            '<th class="l">command</th><th class="l">backend</th><th class="l">runs by action</th><th>jobs s</th>'
            f'<th class="l">complete</th></tr>{calls}</table><h3>Runs (wall-clock seconds)</h3><table class="runs"><tr><th class="l">entry'
            '</th><th>seed</th><th class="l">status</th><th>steps</th><th>training loop s</th><th>final eval s</th>'
            '<th>job s (last invocation)</th>'
            f'<th class="l">run directory</th></tr>{rows}</table><h3>Spec</h3><pre>{_e(spec)}</pre>')


def machine() -> dict:
    import os

    from importlib.metadata import version

    import numpy
    import torch

    return {"gankit": version("gankit"), "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version(), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, "
            f"{'CUDA ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}",
            "host": platform.node(), "platform": platform.platform(), "gankit commit": _commit()}


def _commit() -> str:
    """The git commit of the gankit source, where it is a checkout (with '+changes' for a dirty tree)."""
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", str(here.parent)], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("+changes" if dirty else "")) if sha else "not a git checkout"


def write_report(results: dict, out: Path, made: dict) -> Path:
    out = Path(out)
    ranked = [m for m in results["metrics"] if stats.direction(m)]
    other = [m for m in results["metrics"] if not stats.direction(m)]
    parts = [f"<h1>Study {_e(results['study'])}</h1>"]
    if results.get("description"):
        parts.append(f"<p>{_e(results['description'])}</p>")
    parts.append(f"<p>{len(results['labels'])} entries × {len(results['spec']['seeds'])} seeds on "
                 f"<b>{_e(results['data'])}</b>, {_e(results['budget'])}. Differences from the best entry are "
                 f"tested with {_e(results['significance'])}.</p>")
    failed = [r for r in results["runs"] if r["status"] != "finished"]
    if failed:
        items = "".join(f'<li class="fail"><b>{_e(r["label"])} seed {r["seed"]}</b>: {_e(r["status"])}'
                        f'{": " + _e(r["error"]) if r["error"] else ""}</li>' for r in failed)
        parts.append(f'<h2 id="failures">Runs not finished ({len(failed)})</h2><ul class="failures">{items}</ul>')
    parts.append("<h2>Summary</h2>" + summary_table(results))
    parts.append("<h2>Tables per metric</h2>" + "".join(metric_table(results, m) for m in ranked + other))
    plots = []
    for m in ranked:
        plots.append(_img(final_plot(results, m), f"final {m} per seed"))
    evals = sorted({k for lab in results["labels"] for k in results["curves"].get(lab, {})
                    if k.startswith("eval_") and stats.direction(k[5:])})
    for k in evals:
        plots.append(_img(curve_plot(results, k, f"{k[5:]} during training (mean ± std over seeds)"), f"{k} curve"))
    for m in sorted({k for lab in results["labels"] for k in results["best_reachable"].get(lab, {})}):
        plots.append(_img(curve_plot(results, m, f"best {m} reachable within the budget", reach=True),
                          f"best {m} vs budget"))
    losses = sorted({k for lab in results["labels"] for k in results["curves"].get(lab, {})
                     if not k.startswith("eval_")})
    loss_plots = [_img(curve_plot(results, k, f"{k} (mean ± std over seeds)"), f"{k} curve") for k in losses]
    parts.append("<h2>Curves</h2><div class='grid'>" + "".join(p for p in plots if p) + "</div>")
    if loss_plots:
        parts.append("<details><summary>losses</summary><div class='grid'>" + "".join(p for p in loss_plots if p)
                     + "</div></details>")
    parts.append("<h2>Samples</h2><p class='note'>The last sample grid of each run (fixed noise; for 2-D data the "
                 "samples over the true modes), and a multi-generator model's own figures.</p>" + _samples(results, out))
    parts.append("<h2>How it was made</h2>" + _made(results, made))
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>gankit study {_e(results['study'])}"
            f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
