"""What a study runs: recipes (each with optional overrides) x seeds, on one budget shared by all, scored by
the same metrics. A spec is checked whole before any training starts; every error names its entry.

    name: objectives-ring
    seeds: 5                       # or a list: [0, 1, 2]
    budget: {steps: 5000}          # or {images: 1280000} or {time: 2m}: one budget, the same for every entry
    metrics: [modes]               # null: every metric that fits the data
    eval_every: 500                # in-training evaluations, so that curves exist (null: end points only)
    eval_n: 2500                   # samples per in-training evaluation
    final_n: 2500                  # samples of the final score (default: 10,000 for images, 2,500 for points)
    overrides: [train.log_every=100]     # applied to every entry
    entries:
      - gan-ring                   # a recipe name (or a YAML path)
      - {recipe: wgan-gp-ring, label: wgan-gp-l1, overrides: {model.penalty_weight: 1}}
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import Config, load_config, parse_duration
from ..errors import ConfigError, GankitError, did_you_mean
from ..options import to_dict

SPEC_DIR = Path(__file__).resolve().parent.parent / "studies"
KEYS = ("name", "description", "seeds", "budget", "metrics", "eval_every", "eval_n", "final_n", "overrides",
        "entries")
ENTRY_KEYS = ("recipe", "label", "overrides")
BUDGET_KINDS = ("steps", "images", "time")
# What the study owns for every run: an entry that sets one of these would not run on the shared footing.
STUDY_OWNED = ("train.steps", "train.epochs", "train.budget", "train.seed", "train.run_name", "train.out_dir",
               "train.eval_every", "train.eval_n", "train.eval_metrics")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


class SpecError(GankitError):
    """A study spec is invalid; the message names the entry and the key."""


@dataclass
class Budget:
    kind: str            # steps | images | time
    amount: float

    def describe(self) -> str:
        if self.kind == "time":
            return f"{self.amount:g} s of training per run"
        return f"{int(self.amount):,} {'steps' if self.kind == 'steps' else 'images seen'} per run"

    def overrides(self, batch_size: int) -> list[str]:
        if self.kind == "steps":
            return [f"train.steps={int(self.amount)}"]
        if self.kind == "images":   # equal numbers of images seen: batch sizes may differ
            return [f"train.steps={max(1, math.ceil(self.amount / batch_size))}"]
        return [f"train.budget={self.amount:g}s"]


@dataclass
class Entry:
    label: str
    recipe: str
    overrides: list[str]
    config: Config | None = None      # resolved by Spec.check, seed 0, budget applied


@dataclass
class Spec:
    name: str
    entries: list[Entry]
    seeds: list[int]
    budget: Budget
    metrics: list[str] | None = None
    eval_every: int | None = None
    eval_n: int = 2000
    final_n: int | None = None
    overrides: list[str] = field(default_factory=list)
    description: str = ""
    data_kind: str = "image"                     # image | points, found by check_spec

    # ------------------------------------------------------------------------------- per run
    def run_config(self, entry: Entry, seed: int) -> Config:
        """The whole config of one run of the study (the entry's, with the study's seed and budget)."""
        return load_config(to_dict(entry.config), [f"train.seed={seed}"])

    @property
    def data_name(self) -> str:
        return self.entries[0].config.data.name

    @property
    def final_samples(self) -> int:
        return self.final_n or (2500 if self.data_kind == "points" else 10_000)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "seeds": self.seeds,
                "budget": {self.budget.kind: self.budget.amount}, "metrics": self.metrics,
                "eval_every": self.eval_every, "eval_n": self.eval_n, "final_n": self.final_n,
                "overrides": self.overrides,
                "entries": [{"label": e.label, "recipe": e.recipe, "overrides": e.overrides} for e in self.entries]}


# ----------------------------------------------------------------------------------------- reading
def spec_names() -> list[str]:
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def bundled_specs() -> list[tuple[str, str]]:
    """(name, one-line description) of each spec shipped in the package (`gankit compare --list`)."""
    out = []
    for name in spec_names():
        raw = yaml.safe_load((SPEC_DIR / f"{name}.yaml").read_text()) or {}
        out.append((name, str(raw.get("description", "")).strip().splitlines()[0] if raw.get("description") else ""))
    return out


def is_spec(source: str) -> bool:
    return str(source).endswith((".yaml", ".yml")) or source in spec_names()


def read_spec(source: str | Path | dict) -> Spec:
    """A spec from a path, a bundled spec name or a mapping; checked whole (see `check_spec`)."""
    if isinstance(source, dict):
        raw = dict(source)
    else:
        path = Path(source)
        if not path.exists() and str(source) in spec_names():
            path = SPEC_DIR / f"{source}.yaml"
        if not path.exists():
            guess = did_you_mean(source, spec_names())
            raise SpecError(f"No study spec {str(source)!r}.{guess} Give a YAML file or one of the bundled "
                            f"specs (`gankit compare --list`): {', '.join(spec_names())}.")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            raise SpecError(f"{path} is not valid YAML: {e}") from None
        if not isinstance(raw, dict):
            raise SpecError(f"{path} must hold a mapping (name, seeds, budget, entries, ...).")
        raw.setdefault("name", path.stem)
    return parse_spec(raw)


def parse_spec(raw: dict) -> Spec:
    for key in raw:
        if key not in KEYS:
            guess = did_you_mean(key, KEYS)
            raise SpecError(f"Unknown key {key!r} in the study spec.{guess} Keys: {', '.join(KEYS)}.")
    name = raw.get("name") or "study"
    if not isinstance(name, str) or not _LABEL.fullmatch(name):
        raise SpecError(f"The study's name must be a word of letters, digits, '-', '_' or '.', got {name!r}.")
    seeds = _seeds(raw.get("seeds", 3))
    budget = parse_budget(raw.get("budget"))
    metrics = raw.get("metrics")
    if metrics is not None and (not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics)):
        raise SpecError(f"metrics must be a list of metric names (e.g. [fid, prdc]) or null, got {metrics!r}.")
    ints = {}
    for key, default in (("eval_every", None), ("eval_n", 2000), ("final_n", None)):
        v = raw.get(key, default)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= (1 if key != "eval_every" else 0)):
            raise SpecError(f"{key} must be a positive whole number{' of samples (at least 2)' if key != 'eval_every' else ' of steps'}"
                            f" or null, got {v!r}.")
        ints[key] = v
    common = _overrides(raw.get("overrides"), "overrides")
    entries_raw = raw.get("entries")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise SpecError("A study needs `entries`: a list of recipes (names or {recipe, label, overrides}).")
    entries = [_entry(e, i) for i, e in enumerate(entries_raw)]
    seen: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.label in seen:
            raise SpecError(f"Entries {seen[e.label] + 1} and {i + 1} share the label {e.label!r}; give one of "
                            "them its own `label:`.")
        seen[e.label] = i
    spec = Spec(name=name, entries=entries, seeds=seeds, budget=budget, metrics=metrics, overrides=common,
                description=str(raw.get("description", "") or ""), **ints)
    check_spec(spec)
    return spec


def parse_budget(raw: Any) -> Budget:
    if isinstance(raw, (int, str)) and not isinstance(raw, bool):
        raw = _budget_text(raw)
    if not isinstance(raw, dict) or len(raw) != 1:
        raise SpecError("A study needs one `budget` shared by every entry: {steps: N}, {images: N} or "
                        f"{{time: 10m}}, got {raw!r}.")
    (kind, amount), = raw.items()
    if kind not in BUDGET_KINDS:
        raise SpecError(f"budget kind {kind!r} is not one of {', '.join(BUDGET_KINDS)}.")
    if kind == "time":
        try:
            return Budget("time", parse_duration(str(amount), "budget.time"))
        except ConfigError as e:
            raise SpecError(str(e)) from None
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount <= 0 or amount != int(amount):
        raise SpecError(f"budget.{kind} must be a positive whole number, got {amount!r}.")
    return Budget(kind, int(amount))


def _budget_text(text: Any) -> dict:
    """`--budget`: 5000 or 5000steps (steps), 320000images / 320kimages (images seen), 90s / 10m / 1h (time)."""
    s = str(text).strip().lower().replace("_", "").replace(",", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(k|m)?(steps?|images?|img)?", s)
    if m and not (m.group(2) == "m" and not m.group(3)):   # "10m" alone is ten minutes
        n = float(m.group(1)) * {"k": 1e3, "m": 1e6, None: 1}[m.group(2)]
        return {"images" if m.group(3) and m.group(3).startswith(("image", "img")) else "steps": int(n)}
    return {"time": s}


def _seeds(raw: Any) -> list[int]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw <= 0:
            raise SpecError(f"seeds must be a positive count or a list of seeds, got {raw}.")
        return list(range(raw))
    if isinstance(raw, list) and raw and all(isinstance(s, int) and not isinstance(s, bool) for s in raw):
        if len(set(raw)) != len(raw):
            raise SpecError(f"seeds lists a seed twice: {raw}.")
        return list(raw)
    raise SpecError(f"seeds must be a positive count (5) or a list of whole numbers ([0, 1, 2]), got {raw!r}.")


def _overrides(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                for k, v in raw.items()]
    if isinstance(raw, list) and all(isinstance(o, str) and "=" in o for o in raw):
        return list(raw)
    raise SpecError(f"{where} must be a mapping of dotted keys ({{model.n_critic: 3}}) or a list of "
                    f"key=value strings, got {raw!r}.")


def _entry(raw: Any, i: int) -> Entry:
    where = f"entry {i + 1}"
    if isinstance(raw, str):
        raw = {"recipe": raw}
    if not isinstance(raw, dict) or "recipe" not in raw:
        raise SpecError(f"{where} must be a recipe name or a mapping with `recipe:`, got {raw!r}.")
    for key in raw:
        if key not in ENTRY_KEYS:
            guess = did_you_mean(key, ENTRY_KEYS)
            raise SpecError(f"Unknown key {key!r} in {where} ({raw['recipe']!r}).{guess} "
                            f"Keys of an entry: {', '.join(ENTRY_KEYS)}.")
    recipe = str(raw["recipe"])
    label = str(raw.get("label") or Path(recipe).stem)
    if not _LABEL.fullmatch(label):
        raise SpecError(f"{where}: label {label!r} must be letters, digits, '-', '_', '+' or '.' (it names a folder).")
    return Entry(label, recipe, _overrides(raw.get("overrides"), f"{where} ({label}) overrides"))


# ----------------------------------------------------------------------------------------- checking
def check_spec(spec: Spec) -> None:
    """Resolve every entry's config and refuse what would not compare on the same footing."""
    for i, e in enumerate(spec.entries):
        where = f"entry {i + 1} ({e.label})"
        for item in spec.overrides + e.overrides:
            key = item.split("=", 1)[0].strip()
            if key in STUDY_OWNED:
                raise SpecError(f"{where}: {key} is the study's to set (budget, seeds, eval_every, eval_n, "
                                f"metrics apply to every entry alike); remove {item!r} from the overrides.")
        try:
            base = load_config(e.recipe, spec.overrides + e.overrides)
        except ConfigError as err:
            raise SpecError(f"{where}: {err}") from None
        extra = spec.budget.overrides(base.train.batch_size)
        raw = to_dict(base)
        raw["train"].update(steps=None, epochs=None, budget=None, eval_every=spec.eval_every, eval_n=spec.eval_n,
                            eval_metrics=spec.metrics, progress=False)
        try:
            e.config = load_config(raw, extra)
        except ConfigError as err:
            raise SpecError(f"{where}: {err}") from None
    names = {e.config.data.name for e in spec.entries}
    if len(names) > 1:
        by = ", ".join(f"{e.label}: {e.config.data.name}" for e in spec.entries)
        raise SpecError(f"The entries train on different datasets ({by}); a study compares models on the same "
                        "data. Split it into one study per dataset, or override data.name in the entries.")
    check_metrics(spec)
    if spec.budget.kind == "steps":
        sizes = {e.config.train.batch_size for e in spec.entries}
        if len(sizes) > 1:
            by = ", ".join(f"{e.label}: {e.config.train.batch_size}" for e in spec.entries)
            raise SpecError(f"budget.steps is not comparable across these entries: their batch sizes differ ({by}), "
                            "so equal steps would see different numbers of images. Give the budget as "
                            "{images: N} (equal images seen) or give the entries one train.batch_size.")


def check_metrics(spec: Spec) -> None:
    """The spec's metrics must fit the data (no mode coverage on MNIST); loads the dataset once."""
    from ..data import load_dataset
    from ..metrics.scorer import choose

    cfg = spec.entries[0].config
    try:
        data = load_dataset(cfg.data)
        choose(cfg.data.name, data.kind, spec.metrics)
    except GankitError as err:
        raise SpecError(f"metrics {spec.metrics!r} of study {spec.name!r}: {err}") from None
    spec.data_kind = data.kind
