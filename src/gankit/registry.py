"""Name -> component tables for models, datasets and networks; `gankit list` reads them.

A component registers itself with its options dataclass, so that the config loader can validate the
options of whatever name a recipe chooses. This is a ground-floor module: it imports no component. The
tables are filled when the component packages (data, nets, models) are imported, which `import gankit`
(run before any `gankit.*` module) does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError, did_you_mean

KINDS = ("model", "dataset", "net")
_TABLES: dict[str, dict[str, "Entry"]] = {k: {} for k in KINDS}


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str
    obj: Any           # the model class, dataset loader or net class
    options: type      # dataclass of its options (a subclass of options.Options)
    summary: str


def register(kind: str, name: str, options: type, summary: str = "") -> Callable[[Any], Any]:
    """Decorator: make `obj` available under `name` for config files and the CLI."""

    def deco(obj: Any) -> Any:
        if name in _TABLES[kind]:
            raise ValueError(f"{kind} {name!r} registered twice")
        doc = summary or (obj.__doc__ or "").strip().splitlines()[0] if (summary or obj.__doc__) else ""
        _TABLES[kind][name] = Entry(name, kind, obj, options, doc)
        return obj

    return deco


def names(kind: str) -> list[str]:
    return sorted(_TABLES[kind])


def lookup(kind: str, name: str) -> Entry:
    table = _TABLES[kind]
    if name not in table:
        valid = ", ".join(sorted(table))
        guess = did_you_mean(name, table)
        raise ConfigError(f"Unknown {kind} {name!r}.{guess} Valid {kind}s: {valid}. "
                          f"`gankit list` shows them all with a one-line summary.")
    return table[name]


def entries(kind: str) -> list[Entry]:
    return [_TABLES[kind][n] for n in sorted(_TABLES[kind])]
