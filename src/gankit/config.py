"""A whole run's configuration, assembled from YAML recipes and `key=value` overrides.

A config has three sections: `model`, `data` and `train`. `model` and `data` (and the
`generator`/`discriminator` sections inside a model) are components whose `name` picks a registry entry
(options.py validates them). Recipes in `configs/` override only what differs and may `extends:` another;
command-line overrides are applied last. Unknown keys, wrong types and impossible values are rejected
before anything is built, with a did-you-mean suggestion.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import yaml

from .errors import ConfigError, did_you_mean
from .memory import check_seed
from .options import Options, build, check_positive, component, deep_copy, opt, to_dict

RECIPE_DIR = Path(__file__).parent / "configs"


@dataclass
class TrainConfig:
    """How long and how a run trains, and what it writes."""

    batch_size: int = opt(64, "samples per batch")
    steps: Optional[int] = opt(None, "stop after this many steps (one step = one discriminator update)")
    epochs: Optional[float] = opt(None, "stop after this many passes over the training set")
    budget: Optional[str] = opt(None, "stop after this much wall time, e.g. '90s', '10m', '1h30m'")
    seed: int = opt(0, "seed of the network initialisation, noise and batch order")
    device: Literal["auto", "cpu", "cuda"] = opt("auto", "where to train: auto picks cuda when present")
    threads: Optional[int] = opt(None, "CPU threads for torch; None = torch's default (all cores)")
    out_dir: str = opt("runs", "parent folder of run directories")
    run_name: Optional[str] = opt(None, "run directory name; None = recipe name + timestamp")
    log_every: int = opt(50, "steps between loss logs (one host sync each)")
    sample_every: int = opt(500, "steps between sample grids (also the frames of the training GIF)")
    checkpoint_every: int = opt(1000, "steps between checkpoints (one is always written at the end)")
    eval_every: Optional[int] = opt(None, "steps between metric evaluations (curves in losses.png); None = off")
    eval_metrics: Optional[list[str]] = opt(None, "metrics for eval_every (fid, kid, cs, prdc, modes); None = all that apply; [] = only the model's own")
    eval_n: int = opt(2000, "generated samples per evaluation during training")
    n_grid: int = opt(64, "samples in each grid, drawn from fixed noise (2-D data: at least 1000 points)")
    gif: bool = opt(True, "write training.gif from the sample grids at the end")
    tensorboard: bool = opt(True, "write TensorBoard event files under tb/")
    progress: bool = opt(True, "show a progress bar with ETA and current losses")
    compile: bool = opt(False, "torch.compile the networks (falls back to eager with a warning where the "
                               "backend cannot build)")
    precision: Literal["fp32", "bf16", "fp16"] = opt(
        "fp32", "autocast precision of the training step: bf16 (CPU with avx512_bf16/AMX, or GPU) or fp16 "
        "(GPU only; a gradient scaler per optimizer)")
    channels_last: bool = opt(False, "channels-last memory format for convolutional nets and image batches")
    sync_batch_norm: bool = opt(False, "distributed runs: batch statistics over all ranks (SyncBatchNorm, "
                                       "GPU only); off = each rank normalises its own shard")
    dist_backend: Literal["auto", "gloo", "nccl"] = opt(
        "auto", "distributed runs: torch.distributed backend; auto = nccl on GPU, gloo on CPU")
    amp: bool = opt(False, "deprecated: the same as precision: bf16 on CUDA (kept so old runs resume)")

    def check(self, path: str) -> None:
        for key in ("batch_size", "log_every", "sample_every", "checkpoint_every", "n_grid", "eval_n"):
            check_positive(getattr(self, key), f"{path}.{key}")
        if self.steps is not None:
            check_positive(self.steps, f"{path}.steps")
        if self.epochs is not None:
            check_positive(self.epochs, f"{path}.epochs")
        if self.budget is not None:
            parse_duration(self.budget, f"{path}.budget")
        if self.threads is not None:
            check_positive(self.threads, f"{path}.threads")
        check_seed(self.seed, f"{path}.seed")
        if self.eval_every is not None:
            check_positive(self.eval_every, f"{path}.eval_every")
        if self.steps is None and self.epochs is None and self.budget is None:
            raise ConfigError(f"{path} sets no budget: give train.steps, train.epochs or train.budget "
                              "(e.g. `train.steps=2000` or `--budget 10m`).")


@dataclass
class Config:
    """A whole run: which model, on which data, trained how."""

    model: Options = component("model", Options(name="gan"), "the GAN to train (`gankit list`)")
    data: Options = component("dataset", Options(name="mnist"), "the dataset (`gankit list`)")
    # No default budget: a hidden default `steps` would silently cap a recipe that budgets by epochs or time.
    train: TrainConfig = opt(TrainConfig(), "training loop settings (must set steps, epochs or budget)")

    def to_dict(self) -> dict:
        return to_dict(self)


# --------------------------------------------------------------------------------------------- parsing

def parse_duration(text: str, path: str = "budget") -> float:
    """'90s', '10m', '1h30m', '2h', or a plain number of seconds -> seconds."""
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?", s)
    if not s or not m or not any(m.groups()):
        raise ConfigError(f"{path}: cannot read {text!r} as a duration; write e.g. '90s', '10m' or '1h30m'.")
    h, mi, se = (float(g) if g else 0.0 for g in m.groups())
    total = h * 3600 + mi * 60 + se
    if total <= 0:
        raise ConfigError(f"{path} must be a positive duration, got {text!r}.")
    return total


# --------------------------------------------------------------------------------- files and overrides

def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def read_yaml(source: str | Path, _depth: int = 0) -> tuple[dict, str]:
    """Read a recipe by path or by name (a file in configs/). Returns (mapping, recipe name).

    A recipe may say `extends: OTHER` (a recipe name or path) to start from another recipe.
    """
    path = Path(source)
    if not path.exists() and not str(source).endswith((".yaml", ".yml")):
        path = RECIPE_DIR / f"{source}.yaml"
    if not path.exists():
        recipes = recipe_names()
        guess = did_you_mean(source, recipes)
        raise ConfigError(f"No config file or recipe named {str(source)!r}.{guess} "
                          f"Give a path to a YAML file or one of the recipes: {', '.join(recipes)}.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping with sections model/data/train, got {type(data).__name__}.")
    parent = data.pop("extends", None)
    if parent is not None:   # a recipe may start from another one and override a few keys
        if _depth >= 8:
            raise ConfigError(f"{path}: 'extends' chain is too deep (a loop?).")
        base, _ = read_yaml(parent if "/" in str(parent) else parent, _depth + 1)
        data = deep_merge(base, data)
    return data, path.stem


def deep_merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`, recursing into mappings; a section that names another component than the
    base's starts afresh (a dcgan net's options mean nothing to an mlp)."""
    out = dict(base)
    for k, v in over.items():
        b = out.get(k)
        renamed = isinstance(v, dict) and isinstance(b, dict) and "name" in v and v["name"] != b.get("name", v["name"])
        if isinstance(v, dict) and isinstance(b, dict) and not renamed:
            out[k] = deep_merge(b, v)
        else:
            out[k] = v
    return out


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply dotted `key=value` overrides (values parsed as YAML) to a nested mapping, in place."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"Override {item!r} is not of the form key=value, e.g. train.steps=500 or "
                              "model.generator.hidden=[256,256].")
        key, text = item.split("=", 1)
        try:
            value = yaml.safe_load(text) if text != "" else None
        except yaml.YAMLError:
            value = text
        parts = key.strip().split(".")
        node = raw
        for i, p in enumerate(parts[:-1]):
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            elif isinstance(nxt, str) and p in ("model", "data", "generator", "discriminator"):
                nxt = node[p] = {"name": nxt}
            elif not isinstance(nxt, dict):
                raise ConfigError(f"Override {item!r}: {'.'.join(parts[:i + 1])} is a value, not a section.")
            node = nxt
        node[parts[-1]] = value
    return raw


def load_config(source: str | Path | dict | None = None, overrides: list[str] | tuple = ()) -> Config:
    """Recipe (name, path or mapping) + overrides -> validated Config."""
    if source is None:
        raw, _ = {}, None
    elif isinstance(source, dict):
        raw = deep_copy(source)
    else:
        raw, _ = read_yaml(source)
    raw = apply_overrides(raw, list(overrides))
    data = raw.get("data")
    if isinstance(data, dict) and "name" not in data and ("domain_a" in data or "domain_b" in data):
        data["name"] = "pair"   # `data: {domain_a: ..., domain_b: ...}` is the two-domain dataset (data/domains.py)
    for section in raw:
        if section not in ("model", "data", "train"):  # `extends` is consumed by read_yaml
            guess = did_you_mean(section, ["model", "data", "train"])
            raise ConfigError(f"Unknown section {section!r} in the config.{guess} "
                              "A config has the sections model, data and train.")
    return build(Config, raw, "config")

