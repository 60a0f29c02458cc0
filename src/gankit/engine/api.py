"""The Python API of training: train, resume and branch a run (the `gankit train` verbs)."""
from __future__ import annotations

import json
from pathlib import Path

from ..config import Config
from ..errors import ConfigError, RunError
from .checkpoint import StateMismatch, checkpoint_config, load_checkpoint
from .check import resolve_config
from .trainer import RunResult, Trainer


def train(config: str | Path | dict | Config, overrides: list[str] | tuple = (), *, budget: str | None = None,
          device: str | None = None, run_dir: str | Path | None = None, progress: bool | None = None) -> RunResult:
    """Train a model from a recipe name, YAML path, mapping or Config. Returns where the run went."""
    cfg = resolve_config(config, overrides, budget, device)
    recipe = Path(str(config)).stem if isinstance(config, (str, Path)) else "run"
    return Trainer(cfg, run_dir=run_dir, recipe=recipe).fit(progress)


def resume(run_dir: str | Path, overrides: list[str] | tuple = (), *, budget: str | None = None,
           progress: bool | None = None) -> RunResult:
    """Continue a run from its checkpoint. Only train.* settings may change (e.g. a longer budget)."""
    state = load_checkpoint(run_dir)
    extra = _continuation_overrides(overrides, budget, ("train.",), "when resuming: the checkpoint was made "
                                    "with the saved model and data settings. Only train.* options may change.")
    cfg = checkpoint_config(state, run_dir, extra)
    return Trainer(cfg, run_dir=run_dir, state=state).fit(progress)


def _continuation_overrides(overrides, budget: str | None, allowed: tuple[str, ...], why: str) -> list[str]:
    """The overrides of a run that continues a checkpoint (budget as train.budget), refusing any option
    outside `allowed` with "Cannot change KEY " + why."""
    extra = list(overrides) + ([f"train.budget={budget}"] if budget is not None else [])
    for item in extra:
        if not item.startswith(allowed):
            raise ConfigError(f"Cannot change {item.split('=')[0]!r} {why}")
    return extra


def branch(run_dir: str | Path, new_dir: str | Path, overrides: list[str] | tuple = (), *,
           budget: str | None = None, progress: bool | None = None) -> RunResult:
    """Continue a copy of RUN_DIR's checkpoint in NEW_DIR with changed model.* or train.* settings (e.g. a
    schedule that only matters later in training), leaving RUN_DIR as it is. The new run's branch.json
    lists where it came from and what changed (after the source's own list, for a branch of a branch),
    since its config alone no longer says how it was made."""
    import shutil

    from .distributed import world_from_env

    if world_from_env().active:   # every rank would copy the run: branch once, then resume distributed
        raise ConfigError("A branch is made by one process: run `gankit train --branch RUN --out NEW` without "
                          "torchrun/--nproc (e.g. with train.steps equal to the source's step), then "
                          "`gankit train --resume NEW --nproc N`.")
    run_dir, new_dir = Path(run_dir), Path(new_dir)
    state = load_checkpoint(run_dir)
    if new_dir.exists() and any(new_dir.iterdir()):
        raise RunError(f"{str(new_dir)!r} is not empty; a branch needs a new run directory.")
    extra = _continuation_overrides(overrides, budget, ("train.", "model."), "in a branch: the checkpoint's "
                                    "batch stream belongs to its dataset. Only model.* and train.* options may change.")
    for item in extra:
        if item.startswith("model.optim_"):   # torch restores lr, betas etc. from the saved optimizer state
            raise ConfigError(f"Cannot change {item.split('=')[0]!r} in a branch: the saved optimizer state "
                              "would override it. Start a new run to change an optimizer's settings.")
    cfg = checkpoint_config(state, run_dir, extra)
    history = json.loads((run_dir / "branch.json").read_text()) if (run_dir / "branch.json").exists() else []
    history = [history] if isinstance(history, dict) else history   # the first format: one record
    shutil.copytree(run_dir, new_dir, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("checkpoint*", "run.lock"))
    (new_dir / "branch.json").write_text(json.dumps(
        history + [{"from": str(run_dir), "step": int(state["step"]), "changes": extra}], indent=1))
    try:
        trainer = Trainer(cfg, run_dir=new_dir, state=state)
    except StateMismatch as e:   # load_state_dict: a change of network shape
        shutil.rmtree(new_dir)
        first = e.detail
        raise ConfigError(f"Cannot branch {str(run_dir)!r} with {' '.join(extra)}: the saved weights no "
                          f"longer fit the networks ({first}). Only changes that keep every network's "
                          "shape can continue from a checkpoint.") from None
    except BaseException:       # any other refusal (a build-time check): no half-made run is left
        shutil.rmtree(new_dir)
        raise
    trainer.save()   # the branch's own checkpoint: a branch killed before its first save can be resumed
    return trainer.fit(progress)
