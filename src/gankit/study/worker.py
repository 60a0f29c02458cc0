"""One job of a study, the same on every backend: train (or resume) one run, then score it.

    python -m gankit.study.worker JOB.json      # what the local backend starts, one process per job

A job never raises: its outcome (finished | interrupted | failed, with the error) is returned and written
into the run's study-run.json, so a failed run is reported and does not stop the others.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from ..errors import GankitError
from .plan import RUN_JSON, read_json, write_run_json


def execute(job: dict) -> dict:
    """job: run_dir, action (train | resume | evaluate), config (a mapping), resume_overrides, eval
    ({metrics, n, seed}), threads. Returns the outcome."""
    import torch

    from ..engine.api import resume, train
    from ..run import evaluate

    d = Path(job["run_dir"])
    if job.get("threads"):
        torch.set_num_threads(int(job["threads"]))
    outcome: dict = {"status": "failed", "error": None, "train_s": 0.0, "eval_s": 0.0, "pid": os.getpid()}
    t0 = time.perf_counter()
    try:
        if job["action"] == "train":
            result = train(job["config"], run_dir=d, progress=False)
        elif job["action"] == "resume":
            result = resume(d, job.get("resume_overrides", []), progress=False)
        else:
            result = None
        outcome["train_s"] = round(time.perf_counter() - t0, 2)
        if result is not None and result.status != "finished":
            outcome.update(status="interrupted", error=f"stopped at step {result.step}; the same compare "
                                                       "command resumes it")
        else:
            t1 = time.perf_counter()
            ev = job["eval"]
            evaluate(d, ev["metrics"], n=ev["n"], seed=ev["seed"], device=job.get("device", "auto"))
            outcome.update(status="finished", eval_s=round(time.perf_counter() - t1, 2))
    except KeyboardInterrupt:
        outcome.update(status="interrupted", error="interrupted; the same compare command resumes it from its "
                                                   "last checkpoint")
    except GankitError as e:
        outcome["error"] = str(e)
    except Exception as e:   # a bug or a crash inside torch: reported with the run, the study goes on
        outcome["error"] = f"{type(e).__name__}: {e}"
        print(traceback.format_exc(), file=sys.stderr, flush=True)
    if not outcome["train_s"] and job["action"] != "evaluate":   # a failure during training: its time too
        outcome["train_s"] = round(time.perf_counter() - t0, 2)
    outcome["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    if d.exists():
        write_run_json(d, {"outcome": outcome})
    return outcome


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    outcome = execute(job)
    return {"finished": 0, "interrupted": 130}.get(outcome["status"], 1)


def outcome_of(run_dir: Path) -> dict:
    return read_json(Path(run_dir) / RUN_JSON).get("outcome", {})


if __name__ == "__main__":
    sys.exit(main())
