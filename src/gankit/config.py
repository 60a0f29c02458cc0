"""Declarative, strict configuration.

Every option is declared once, as a dataclass field with its default and a one-line help text (`opt`).
A config has three sections: `model`, `data` and `train`. The `model` and `data` sections (and the
`generator`/`discriminator` sections inside a model) are *components*: their `name` picks an entry of the
registry, and the remaining keys are validated against that entry's own options dataclass. Recipes in
`configs/` override only what differs; `key=value` overrides from the command line are applied last.
Unknown keys, wrong types and impossible values are rejected before anything is built, with a
did-you-mean suggestion.
"""
from __future__ import annotations

import re

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml

from .errors import ConfigError

RECIPE_DIR = Path(__file__).parent / "configs"


def opt(default: Any, help: str, **meta: Any) -> Any:
    """Declare an option: its default and a one-line description (shown by `gankit list --options`)."""
    meta["help"] = help
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda d=default: _copy(d), metadata=meta)
    return field(default=default, metadata=meta)


def component(kind: str, default: "Options", help: str) -> Any:
    """A nested section whose `name` selects a registered component of `kind` (model, dataset, net)."""
    return field(default_factory=lambda: _copy(default), metadata={"help": help, "component": kind})


def _copy(x: Any) -> Any:
    if dataclasses.is_dataclass(x):
        return dataclasses.replace(x, **{f.name: _copy(getattr(x, f.name)) for f in dataclasses.fields(x)})
    if isinstance(x, list):
        return [_copy(v) for v in x]
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    return x


@dataclass
class Options:
    """Base of the options of every named component (model, dataset, net)."""

    name: str = opt("", "registered name of the component")

    def check(self, path: str) -> None:
        """Reject impossible values and combinations; raise ConfigError naming `path`."""


@dataclass
class OptimConfig:
    """Optimizer of one network, with its learning-rate schedule."""

    name: Literal["adam", "rmsprop", "sgd"] = opt("adam", "optimizer")
    lr: float = opt(2e-4, "learning rate")
    betas: tuple[float, float] = opt((0.5, 0.999), "Adam beta1, beta2")
    alpha: float = opt(0.99, "RMSprop smoothing constant")
    momentum: float = opt(0.0, "SGD/RMSprop momentum")
    eps: float = opt(1e-8, "numerical epsilon of Adam/RMSprop")
    eps_in_sqrt: bool = opt(False, "Adam: sqrt(v + eps) as the Theano Improved-GAN code, not sqrt(v) + eps")
    weight_decay: float = opt(0.0, "L2 weight decay")
    schedule: Literal["constant", "linear", "cosine", "step"] = opt(
        "constant", "learning-rate schedule over decay_steps optimizer steps")
    decay_steps: Optional[int] = opt(None, "schedule length in this optimizer's steps; None = whole run")
    step_size: int = opt(10000, "'step' schedule: multiply lr by gamma every step_size steps")
    gamma: float = opt(0.5, "'step' schedule factor")

    def check(self, path: str) -> None:
        _positive(self.lr, f"{path}.lr")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"{path}.betas must be two numbers in [0, 1), got {list(self.betas)}.")
        if self.decay_steps is not None:
            _positive(self.decay_steps, f"{path}.decay_steps")
        _positive(self.step_size, f"{path}.step_size")


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
    compile: bool = opt(False, "torch.compile the networks (opt-in; helps mostly on GPU)")
    amp: bool = opt(False, "bfloat16 autocast on CUDA (ignored on CPU)")

    def check(self, path: str) -> None:
        for key in ("batch_size", "log_every", "sample_every", "checkpoint_every", "n_grid", "eval_n"):
            _positive(getattr(self, key), f"{path}.{key}")
        if self.steps is not None:
            _positive(self.steps, f"{path}.steps")
        if self.epochs is not None:
            _positive(self.epochs, f"{path}.epochs")
        if self.budget is not None:
            parse_duration(self.budget, f"{path}.budget")
        if self.threads is not None:
            _positive(self.threads, f"{path}.threads")
        if self.eval_every is not None:
            _positive(self.eval_every, f"{path}.eval_every")
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

def _positive(value: float, path: str) -> None:
    if value <= 0:
        raise ConfigError(f"{path} must be positive, got {value!r}.")


def parse_duration(text: str, path: str = "budget") -> float:
    """'90s', '10m', '1h30m', '2h', or a plain number of seconds -> seconds."""
    import re

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


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin in (list, tuple):
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp))


_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _coerce(tp: Any, value: Any, path: str) -> Any:
    """Check `value` against annotation `tp`; return it converted (e.g. int -> float, list -> tuple)."""
    origin = typing.get_origin(tp)
    bad = ConfigError(f"{path} must be {_type_name(tp)}, got {value!r} ({type(value).__name__}).")
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise bad
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, path)
            except ConfigError:
                continue
        raise bad
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            hint = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
            guess = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"{path} must be {_type_name(tp)}, got {value!r}.{guess}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
            return float(value)   # YAML 1.1 reads 1e-4 (no dot) as a string; it is plainly a number
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        (arg,) = typing.get_args(tp)
        return [_coerce(arg, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(f"{path} must have {len(args)} entries, got {len(value)}: {value!r}.")
        return tuple(_coerce(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise bad
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    raise TypeError(f"config: unsupported annotation {tp!r} at {path}")


def build(cls: type, raw: Any, path: str, base: Any = None) -> Any:
    """Make a `cls` instance from a mapping, validating keys and types; `base` supplies the defaults."""
    if isinstance(raw, cls):
        return raw
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping of options, got {raw!r}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), fields, n=1)
            guess = f" Did you mean {hint[0]!r}?" if hint else ""
            where = f"{path} ({raw['name']!r})" if "name" in fields and "name" in raw else path
            raise ConfigError(f"Unknown option {key!r} in {where}.{guess} "
                              f"Valid options: {', '.join(fields)}.")
    values = {}
    for name, f in fields.items():
        sub = f"{path}.{name}"
        default = getattr(base, name) if base is not None else _field_default(f)
        kind = f.metadata.get("component")
        if kind is not None:  # always resolved, so that a bare default name gets its full options
            values[name] = build_component(kind, raw.get(name, {}), sub, default)
        elif name not in raw and dataclasses.is_dataclass(default):
            values[name] = build(type(default), {}, sub, base=default)   # defaults are checked too
        elif name not in raw:
            values[name] = _copy(default)
        elif dataclasses.is_dataclass(hints[name]) and raw[name] is not None:
            values[name] = build(hints[name], raw[name], sub, base=default)
        else:
            values[name] = _coerce(hints[name], raw[name], sub)
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check(path)
    return obj


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"option {f.name} has no default")


def build_component(kind: str, raw: Any, path: str, default: Options | None = None) -> Options:
    """Resolve `raw['name']` in the registry of `kind` and validate the rest against its options.

    When the name is unchanged from `default`, the default's values stay the base (a recipe can tweak
    one option of a model's default generator); a new name starts from that component's own defaults.
    """
    from .registry import lookup

    if isinstance(raw, Options):
        return raw
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping with a 'name' key, got {raw!r}.")
    name = raw.get("name", default.name if default is not None else None)
    if not name:
        raise ConfigError(f"{path} needs a 'name' (see `gankit list`).")
    if not isinstance(name, str):
        raise ConfigError(f"{path}.name must be a string, got {name!r}.")
    entry = lookup(kind, name)
    base = default if (default is not None and type(default) is entry.options and default.name == name) else None
    obj = build(entry.options, {**raw, "name": name}, path, base=base)
    return obj


def to_dict(obj: Any) -> Any:
    """Dataclasses -> plain YAML-able data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


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
        hint = difflib.get_close_matches(str(source), recipes, n=1)
        guess = f" Did you mean {hint[0]!r}?" if hint else ""
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
        raw = _copy(source)
    else:
        raw, _ = read_yaml(source)
    raw = apply_overrides(raw, list(overrides))
    for section in raw:
        if section not in ("model", "data", "train"):  # `extends` is consumed by read_yaml
            hint = difflib.get_close_matches(str(section), ["model", "data", "train"], n=1)
            guess = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ConfigError(f"Unknown section {section!r} in the config.{guess} "
                              "A config has the sections model, data and train.")
    return build(Config, raw, "config")


def describe(cls: type, indent: str = "") -> list[str]:
    """One line per option: name, default, help (for `gankit list --options`)."""
    lines = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        default = _field_default(f)
        if dataclasses.is_dataclass(default) and not f.metadata.get("component"):
            lines.append(f"{indent}{f.name}:  # {f.metadata.get('help', '')}")
            lines += describe(hints[f.name], indent + "  ")
            continue
        if isinstance(default, Options):
            default = default.name
        value = yaml.safe_dump(to_dict(default), default_flow_style=True).strip()
        value = value.removesuffix("\n...").removesuffix("...").strip()
        lines.append(f"{indent}{f.name}: {value}  # {f.metadata.get('help', '')}")
    return lines
