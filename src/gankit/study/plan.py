"""What a study still has to do: for each entry x seed, train, resume, only evaluate, or nothing.

A study directory holds `study.json` (its name and spec) and `runs/LABEL/seedN/`, each an ordinary run
directory (`gankit train --resume`, `gankit eval` work on it alone) with `study-run.json` beside the run's
own files: the fingerprint of the config it was made with and the outcome of its last job.

Re-invoking a study skips finished runs, resumes interrupted ones from their checkpoints, re-uses final
evaluations already computed (`metrics.json` of the same step, samples and metrics), and re-runs only what a
changed spec changed: a run whose config changed in anything but its budget is moved to `superseded/` and
trained anew; one whose budget grew is resumed to the new budget. An option added to gankit after a run was
made does not change the run: its saved config, read by today's code (which gives the new option its
default), is compared with the spec's, so a study stays valid across upgrades that only add options.

A finished, evaluated run whose checkpoint files are gone (a *record*: what a git checkout of a committed
study holds, since checkpoints are ignored by git) counts as done: its figures, curves and samples stay in the
report. It cannot be resumed or evaluated again, so a spec that needs either trains it anew, the record
moved to `superseded/` first.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, load_config, parse_duration
from ..engine.checkpoint import has_checkpoint, read_status
from ..errors import GankitError
from ..options import to_dict
from .spec import Spec

STUDY_JSON = "study.json"
RUN_JSON = "study-run.json"
# Train settings that change neither what a run learns nor what it logs: not part of its fingerprint.
_NEUTRAL = ("progress", "threads", "out_dir", "run_name", "tensorboard", "gif")
_BUDGET = ("steps", "epochs", "budget")


@dataclass
class PlannedRun:
    label: str
    recipe: str
    seed: int
    run_dir: Path
    config: Config
    fingerprint: str
    action: str            # train | resume | evaluate | done | failed
    reason: str = ""

    @property
    def name(self) -> str:
        return f"{self.label} seed {self.seed}"


def fingerprint(cfg: Config) -> str:
    """Hash of everything that makes a run what it is, except its budget (a longer budget resumes)."""
    raw = to_dict(cfg)
    for k in _NEUTRAL + _BUDGET:
        raw["train"].pop(k, None)
    return hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:16]


def same_config(d: Path, meta: dict, want: str) -> bool:
    """Was the run in `d` made with the config whose fingerprint is `want`? The fingerprint it recorded says
    so; failing that, its own config.yaml as today's code reads it (options added since take their defaults,
    which reproduce the behaviour from before they existed). A config that no longer loads has changed."""
    if meta.get("fingerprint") == want:
        return True
    try:
        return fingerprint(load_config(d / "config.yaml")) == want
    except (GankitError, OSError, ValueError, TypeError):
        return False


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def claim_directory(out: Path, spec: Spec, force: bool = False) -> None:
    """Refuse an output directory that holds another study (or anything else) before any training."""
    out = Path(out)
    meta = out / STUDY_JSON
    old = read_json(meta)
    if meta.exists() and not old and not force:
        raise GankitError(f"{str(meta)!r} is damaged (not readable JSON), so it cannot say which study "
                          f"{str(out)!r} holds. Give another --out, or --force to take it for {spec.name!r}.")
    if meta.exists():
        if old.get("name") != spec.name and not force:
            raise GankitError(f"{str(out)!r} holds the study {old.get('name')!r}, not {spec.name!r}. Give another "
                              "--out, or --force to add this study's runs there anyway.")
    elif out.exists() and any(out.iterdir()) and not force:
        raise GankitError(f"{str(out)!r} is not empty and holds no study ({STUDY_JSON}); give an empty or new "
                          "--out directory, or --force to use it (runs/LABEL/seedN folders already there whose "
                          "config matches the spec are kept as done).")
    out.mkdir(parents=True, exist_ok=True)
    (out / STUDY_JSON).write_text(json.dumps({"name": spec.name, "spec": spec.to_dict(),
                                              "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                              "invocations": old.get("invocations", [])}, indent=1))


def record_invocation(out: Path, record: dict) -> list[dict]:
    """Append one invocation (command, backend, what it ran, how long) to study.json; returns them all."""
    meta = read_json(Path(out) / STUDY_JSON)
    meta["invocations"] = meta.get("invocations", []) + [record]
    (Path(out) / STUDY_JSON).write_text(json.dumps(meta, indent=1))
    return meta["invocations"]


def run_dir(out: Path, label: str, seed: int) -> Path:
    return Path(out) / "runs" / label / f"seed{seed}"


def plan(spec: Spec, out: Path, retry_failed: bool = False) -> list[PlannedRun]:
    """One PlannedRun per entry x seed, in spec order, seeds interleaved (seed 0 of every entry first)."""
    runs = []
    for seed in spec.seeds:
        for e in spec.entries:
            cfg = spec.run_config(e, seed)
            pr = PlannedRun(e.label, e.recipe, seed, run_dir(out, e.label, seed), cfg, fingerprint(cfg), "train")
            _decide(pr, spec, retry_failed)
            runs.append(pr)
    return runs


def _decide(pr: PlannedRun, spec: Spec, retry_failed: bool) -> None:
    d = pr.run_dir
    meta, status = read_json(d / RUN_JSON), read_status(d)
    same = bool(meta) and same_config(d, meta, pr.fingerprint)
    outcome = meta.get("outcome", {})
    # A run whose loss diverged, or whose job raised, fails again the same way: reported, not retried. A
    # worker killed from outside (or a machine that went down) is not the run's fault: it resumes.
    if same and (status.get("status") == "failed" or (outcome.get("status") == "failed" and not outcome.get("killed"))):
        if retry_failed:
            pr.action, pr.reason = "train", "retrying a failed run"
        else:
            pr.action, pr.reason = "failed", outcome.get("error") or status.get("message", "")
        return
    checkpointed = has_checkpoint(d)
    if not checkpointed and not (same and is_record(d, status)):
        pr.action, pr.reason = "train", "new"
        return
    if not same:
        pr.action, pr.reason = "train", "the spec changed this run's config"
        return
    step, t = int(status.get("step", 0)), pr.config.train
    elapsed = float(status.get("elapsed", 0.0))
    complete = status.get("status") == "finished" and (
        step == t.steps if t.steps is not None else elapsed >= parse_duration(t.budget) - 1e-6)
    if not checkpointed:   # a record: nothing to resume from or to sample for a new evaluation
        if complete and evaluation_current(d, spec, step):
            pr.action, pr.reason = "done", "a record (finished and evaluated; its checkpoints were not kept)"
        else:
            pr.action, pr.reason = "train", ("a record without checkpoints cannot be resumed or evaluated "
                                             "again; it is kept under superseded/")
    elif t.steps is not None and step > t.steps:
        pr.action, pr.reason = "train", f"the budget shrank below the {step} steps done"
    elif not complete:
        pr.action, pr.reason = "resume", (f"at step {step} of {t.steps}" if t.steps is not None
                                          else f"after {elapsed:.0f} s of training")
    else:
        pr.action = "done" if evaluation_current(d, spec, step) else "evaluate"


def is_record(d: Path, status: dict | None = None) -> bool:
    """A finished run with its final evaluation, whether or not its checkpoints are still there (`status`: its
    status.json when the caller has read it already)."""
    return (read_status(d) if status is None else status).get("status") == "finished" and (d / "metrics.json").exists()


def evaluation_request(spec: Spec) -> dict:
    return {"metrics": spec.metrics, "n": spec.final_samples, "seed": 0}


def evaluation_current(d: Path, spec: Spec, step: int) -> bool:
    """Is metrics.json the final evaluation this spec asks for, of the run's last step?"""
    m, want = read_json(d / "metrics.json"), evaluation_request(spec)
    return (m.get("step") == step and m.get("n") == want["n"] and m.get("seed") == want["seed"]
            and m.get("requested", "unset") == want["metrics"])


def prepare(pr: PlannedRun, out: Path) -> None:
    """Before a fresh `train`: move a superseded run aside (work is never silently lost), or clear the
    leftovers of a run killed before its first checkpoint."""
    d = pr.run_dir
    if has_checkpoint(d) or is_record(d):
        old = read_json(d / RUN_JSON).get("fingerprint", "unknown")
        dest = Path(out) / "superseded" / pr.label / f"seed{pr.seed}-{old}-{time.strftime('%Y%m%d-%H%M%S')}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(d), str(dest))
    elif d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True, exist_ok=True)
    write_run_json(d, {"label": pr.label, "recipe": pr.recipe, "seed": pr.seed, "fingerprint": pr.fingerprint})


def write_run_json(d: Path, update: dict) -> None:
    meta = read_json(d / RUN_JSON)
    meta.update(update)
    tmp = d / (RUN_JSON + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    tmp.replace(d / RUN_JSON)
