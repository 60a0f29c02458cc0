"""`gankit compare`: plan a study, run what is left on a backend, and write report.html, results.csv and
results.json. Every run is an ordinary run directory; invoking the same study again continues it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import GankitError
from ..options import to_dict
from . import backends, plan as planning
from .report import machine, write_report
from .results import Table, collect, write_tables
from .spec import Spec, parse_spec, read_spec

BACKENDS = ("local", "ray")


@dataclass
class StudyResult:
    out_dir: Path
    report: Path
    csv: Path
    json: Path
    results: dict
    complete: bool            # False when interrupted: the same call continues it

    @property
    def table(self) -> Table:
        return Table(self.results)

    def _repr_html_(self) -> str:
        return self.table._repr_html_()


def compare(spec: str | Path | dict | Spec, out: str | Path | None = None, *, workers: int = 1,
            backend: str = "local", address: str | None = None, threads: int | None = None,
            retry_failed: bool = False, force: bool = False, report_only: bool = False,
            log=print, command: str | None = None) -> StudyResult:
    """Run (or continue) a study and write its report. `spec`: a YAML path, a bundled spec name, a mapping
    or a Spec. Returns the results with `.table` (mean ± std per entry and metric)."""
    t_start = time.perf_counter()
    if backend not in BACKENDS:
        raise GankitError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise GankitError(f"--workers must be a positive number of processes, got {workers!r}.")
    if threads is not None and threads < 1:
        raise GankitError(f"--threads must be positive, got {threads}.")
    if backend == "ray":
        backends.check_ray_address(address)
    spec = spec if isinstance(spec, Spec) else parse_spec(spec) if isinstance(spec, dict) else read_spec(spec)
    out = Path(out) if out is not None else Path("runs") / f"study-{spec.name}"
    planning.claim_directory(out, spec, force=force)
    runs = planning.plan(spec, out, retry_failed=retry_failed)
    todo = [pr for pr in runs if pr.action in ("train", "resume", "evaluate")] if not report_only else []
    t_plan = time.perf_counter() - t_start
    counts = {a: sum(pr.action == a for pr in runs) for a in ("train", "resume", "evaluate", "done", "failed")}
    log(f"study {spec.name}: {len(runs)} runs ({len(spec.entries)} entries x {len(spec.seeds)} seeds), "
        f"{spec.budget.describe()}; " + ", ".join(f"{v} to {k}" if k in ("train", "resume", "evaluate") else
                                                   f"{v} {k}" for k, v in counts.items() if v) + f" -> {out}")
    n_threads = backends.threads_per_worker(workers, threads)
    jobs = [_job(pr, spec, n_threads) for pr in todo]
    by_dir = {str(pr.run_dir): pr for pr in todo}
    done = [0]

    def on_start(job: dict) -> None:
        pr = by_dir[job["run_dir"]]
        if pr.action == "train":
            planning.prepare(pr, out)

    def on_done(job: dict, outcome: dict) -> None:
        done[0] += 1
        pr = by_dir[job["run_dir"]]
        what = outcome.get("status")
        extra = f": {outcome.get('error')}" if outcome.get("error") else ""
        log(f"[{done[0]}/{len(jobs)}] {pr.name} {what} ({outcome.get('train_s', 0):.0f} s training, "
            f"{outcome.get('eval_s', 0):.0f} s evaluation){extra}")

    t_jobs = time.perf_counter()
    complete = True
    if jobs:
        log(f"running {len(jobs)} jobs on {backend} with {workers} worker(s) x {n_threads} thread(s)")
        if backend == "local":
            complete = backends.run_local(jobs, workers, on_done, on_start)
        else:
            complete = backends.run_ray(jobs, workers, on_done, address, on_start)
    t_jobs = time.perf_counter() - t_jobs
    t_report = time.perf_counter()
    results = collect(spec, runs, out)
    api = f"gankit.compare({spec.name!r}, out={str(out)!r}, workers={workers}, backend={backend!r})"
    made = {**machine(), "command": command or api, "backend": f"{backend}, {workers} worker(s) x "
            f"{n_threads} thread(s)", "planning_s": round(t_plan, 2), "jobs_s": round(t_jobs, 1)}
    made["invocations"] = planning.record_invocation(out, {
        "command": made["command"], "backend": made["backend"], "started": time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - (time.perf_counter() - t_start))),
        "jobs": len(jobs), "by_action": {a: n for a, n in counts.items() if n}, "jobs_s": made["jobs_s"],
        "complete": complete})
    results["made"] = made
    rpath = write_report(results, out, made)
    made["report_s"] = round(time.perf_counter() - t_report, 2)   # the tables below take milliseconds
    made["total_s"] = round(time.perf_counter() - t_start, 1)
    jpath, cpath = write_tables(results, out)
    if not complete:
        log(f"interrupted: every run keeps its last checkpoint; run the same command again to continue ({out})")
    log(f"report: {rpath}\ntables: {cpath}, {jpath}")
    return StudyResult(out, rpath, cpath, jpath, results, complete)


def _job(pr: planning.PlannedRun, spec: Spec, threads: int) -> dict:
    cfg = to_dict(pr.config)
    cfg["train"]["threads"] = threads
    job = {"run_dir": str(pr.run_dir), "action": pr.action, "config": cfg, "threads": threads,
           "device": pr.config.train.device, "eval": planning.evaluation_request(spec), "label": pr.label,
           "seed": pr.seed}
    if pr.action == "resume":   # the budget may have grown since; threads as this invocation divides them
        t = pr.config.train
        job["resume_overrides"] = ([f"train.steps={t.steps}"] if t.steps is not None else
                                   [f"train.budget={t.budget}"]) + [f"train.threads={threads}"]
    return job
