"""The ground floor of every option: how a component declares its options, and how a mapping becomes them.

Every option is declared once, as a dataclass field with its default and a one-line help text (`opt`).
A *component* section (`component`) has a `name` that picks an entry of the registry; its remaining keys
are validated against that entry's own options dataclass. `build` turns a plain mapping into such a
dataclass: unknown keys, wrong types and impossible values are rejected with a did-you-mean suggestion.

Every data, net and model module imports this file; it imports only the other ground modules (errors,
registry), never a component. Assembling a whole run's config from YAML, recipes and overrides is
config.py's business.
"""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

import yaml

from .errors import ConfigError, did_you_mean
from .registry import lookup


def opt(default: Any, help: str, **meta: Any) -> Any:
    """Declare an option: its default and a one-line description (shown by `gankit list --options`)."""
    meta["help"] = help
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        return field(default_factory=lambda d=default: deep_copy(d), metadata=meta)
    return field(default=default, metadata=meta)


def component(kind: str, default: "Options", help: str) -> Any:
    """A nested section whose `name` selects a registered component of `kind` (model, dataset, net)."""
    return field(default_factory=lambda: deep_copy(default), metadata={"help": help, "component": kind})


def deep_copy(x: Any) -> Any:
    if dataclasses.is_dataclass(x):
        return dataclasses.replace(x, **{f.name: deep_copy(getattr(x, f.name)) for f in dataclasses.fields(x)})
    if isinstance(x, list):
        return [deep_copy(v) for v in x]
    if isinstance(x, dict):
        return {k: deep_copy(v) for k, v in x.items()}
    return x


@dataclass
class Options:
    """Base of the options of every named component (model, dataset, net)."""

    name: str = opt("", "registered name of the component")

    def check(self, path: str) -> None:
        """Reject impossible values and combinations; raise ConfigError naming `path`."""



def check_positive(value: float, path: str) -> None:
    if value <= 0:
        raise ConfigError(f"{path} must be positive, got {value!r}.")


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
            guess = did_you_mean(value, choices)
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
            value = float(value)   # YAML 1.1 reads 1e-4 (no dot) as a string; it is plainly a number
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        try:
            number = float(value)
        except OverflowError:   # an int beyond any float
            raise bad from None
        if not math.isfinite(number):   # no option means anything by nan or inf (a learning rate of nan...)
            raise ConfigError(f"{path} must be a finite number, got {value!r}.")
        return number
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
            guess = did_you_mean(key, fields)
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
            values[name] = deep_copy(default)
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


def describe(cls: Any, indent: str = "") -> list[str]:
    """One line per option: name, default, help (for `gankit list --options`).

    `cls` is an options class or an instance of one; a nested section is described with the values of its
    default instance (a model's optimizer section shows that model's defaults, not OptimConfig's)."""
    lines = []
    instance = None if isinstance(cls, type) else cls
    for f in dataclasses.fields(cls):
        default = getattr(instance, f.name) if instance is not None else _field_default(f)
        if dataclasses.is_dataclass(default) and not f.metadata.get("component"):
            lines.append(f"{indent}{f.name}:  # {f.metadata.get('help', '')}")
            lines += describe(default, indent + "  ")
            continue
        if isinstance(default, Options):
            default = default.name
        value = yaml.safe_dump(to_dict(default), default_flow_style=True).strip()
        value = value.removesuffix("\n...").removesuffix("...").strip()
        lines.append(f"{indent}{f.name}: {value}  # {f.metadata.get('help', '')}")
    return lines
