"""Hypothesis strategies and properties shared by tests/test_fuzz.py (a few hundred examples) and
benchmarks/faults.py (tens of thousands): every config or command line either works or is answered with
gankit's own message (exit code 2), never a traceback."""
from __future__ import annotations

import dataclasses
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml
from hypothesis import strategies as st

from gankit.config import TrainConfig, read_yaml, recipe_names
from gankit.errors import GankitError
from gankit.registry import KINDS, entries


def option_names() -> dict[str, list[str]]:
    """Field names per section, from the registry: what a fuzzed key is most likely to hit."""
    names = {"train": [f.name for f in dataclasses.fields(TrainConfig)]}
    for kind in KINDS:
        fields = sorted({f.name for e in entries(kind) for f in dataclasses.fields(e.options)})
        names[kind] = fields
    return names


NAMES = option_names()
COMPONENTS = {kind: [e.name for e in entries(kind)] for kind in KINDS}
RECIPES = recipe_names()

HUGE = [2 ** 31, 2 ** 63, 10 ** 30, -(10 ** 12), 10 ** 9, 1e308, -1e308]
scalars = st.one_of(
    st.integers(-5, 70), st.sampled_from(HUGE), st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False),
    st.booleans(), st.none(), st.text(max_size=12),
    st.sampled_from(["", "mlp", "dcgan", "ring", "mnist", "gan", "10m", "1e3", "-1", "[1,", "nan", "∞", "日本",
                     "\x00", "null", "{}", "~", "0x10", "1_000", "100steps", "relu"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def _key_in(section: str) -> st.SearchStrategy:
    pool = NAMES["train"] if section == "train" else NAMES["model"] if section == "model" else NAMES["dataset"]
    return st.one_of(st.sampled_from(pool), st.text(max_size=10))


@st.composite
def raw_configs(draw) -> dict:
    """A recipe (resolved) with a few random edits: a key set to a random value, removed, added, a section
    replaced; sometimes a nested network section edited."""
    raw, _ = read_yaml(draw(st.sampled_from(RECIPES)))
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(["model", "data", "train", "model.generator", "model.discriminator",
                                        "extra"]))
        edit = draw(st.sampled_from(["set", "set", "set", "delete", "replace", "name"]))
        node = raw
        parts = section.split(".")
        for p in parts:
            nxt = node.get(p) if isinstance(node, dict) else None
            if not isinstance(nxt, dict):
                nxt = {}
                if isinstance(node, dict):
                    node[p] = nxt
            node = nxt
        if edit == "set":
            kind = "network" if "." in section else section
            node[draw(_key_in(kind if kind != "network" else "model"))] = draw(values)
        elif edit == "delete" and node:
            node.pop(draw(st.sampled_from(sorted(node, key=str))), None)
        elif edit == "name":
            kind = {"model": "model", "data": "dataset"}.get(section, "network")
            node["name"] = draw(st.one_of(st.sampled_from(COMPONENTS.get(kind, ["x"])), st.text(max_size=6)))
        elif edit == "replace":
            parent = raw
            for p in parts[:-1]:
                parent = parent.setdefault(p, {}) if isinstance(parent.get(p), dict) else parent
            parent[parts[-1]] = draw(values)
    return raw


def _typed_values(field: dataclasses.Field, tp) -> st.SearchStrategy:
    """Values of the field's own type near its default, and the edge cases of that type: these pass the
    type check and reach the option's own validation, the data, the networks and the first step."""
    import typing

    default = field.default if field.default is not dataclasses.MISSING else None
    text = str(tp)
    literal = [a for a in (tp, *typing.get_args(tp)) if typing.get_origin(a) is typing.Literal]
    if literal:
        return st.sampled_from(list(typing.get_args(literal[0])))
    if text.startswith(("bool", "<class 'bool'>")) or isinstance(default, bool):
        return st.booleans()
    if "list[int]" in text or "tuple[int" in text:
        return st.lists(st.sampled_from([-1, 0, 1, 2, 8, 16, 33, 2 ** 40]), max_size=4)
    if "list[float]" in text or "list[list[float]]" in text:
        return st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 3.0, 1e30]), max_size=5)
    if isinstance(default, int) or text in ("int", "Optional[int]", "typing.Optional[int]"):
        d = default if isinstance(default, int) else 8
        return st.sampled_from([d, d + 1, max(d - 1, 0), 2 * d, 1, 0, -1, 3, 7, 10 ** 7, 2 ** 40])
    if isinstance(default, float) or "float" in text:
        d = default if isinstance(default, float) else 0.5
        return st.sampled_from([d, d * 10, d / 10, 0.0, -d, 1.0, 1e-12, 1e12, -1e-3, 0.999999])
    if isinstance(default, str) or "str" in text:
        return st.sampled_from([default or "", "", "x", "10m", "1h", "relu", "normal", "/nonexistent"])
    return values


@st.composite
def plausible_configs(draw) -> dict:
    """A recipe with one to three of its own options set to values of the right type: most of these
    load, so they test what happens after the loader."""
    import typing

    from gankit.registry import lookup

    raw, _ = read_yaml(draw(st.sampled_from(RECIPES)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["model", "data", "train", "model.generator", "model.discriminator"]))
        node = raw
        for p in where.split("."):
            if not isinstance(node.get(p), dict):
                node[p] = {"name": node[p]} if isinstance(node.get(p), str) else {}
            node = node[p]
        try:
            cls = TrainConfig if where == "train" else lookup(
                {"model": "model", "data": "dataset"}.get(where, "net"), node.get("name", "")).options
        except GankitError:
            continue
        hints = typing.get_type_hints(cls)
        fields = [f for f in dataclasses.fields(cls) if f.name != "name" and not dataclasses.is_dataclass(hints[f.name])]
        if fields:
            f = draw(st.sampled_from(fields))
            node[f.name] = draw(_typed_values(f, hints[f.name]))
    return raw


@st.composite
def overrides(draw) -> list[str]:
    out = []
    for _ in range(draw(st.integers(0, 4))):
        section = draw(st.sampled_from(["model", "data", "train", "model.generator", "model.discriminator", "x"]))
        key = draw(_key_in(section.split(".")[0]))
        value = draw(st.one_of(st.text(max_size=12), values.map(lambda v: yaml.safe_dump(v).strip()
                                                               if not isinstance(v, float) else repr(v))))
        form = draw(st.sampled_from(["{s}.{k}={v}", "{s}.{k}={v}", "{k}={v}", "{s}.{k}", "{s}..{k}={v}",
                                     "={v}", "{s}.{k}.{k}={v}"]))
        out.append(form.format(s=section, k=key, v=value))
    return out


@st.composite
def yaml_texts(draw) -> str:
    """Recipe text: a fuzzed config dumped, then perhaps cut short or spliced with junk; or pure junk."""
    if draw(st.booleans()):
        text = yaml.safe_dump(draw(raw_configs()), allow_unicode=True)
        cut = draw(st.integers(0, len(text)))
        return draw(st.sampled_from([text, text[:cut], text[:cut] + draw(st.text(max_size=20)) + text[cut:],
                                     "extends: " + draw(st.sampled_from(RECIPES + ["nowhere", "../x"])) + "\n"
                                     + text]))
    return draw(st.text(max_size=80))


def argvs(run_dirs: list[str], tmp: str) -> st.SearchStrategy:
    """Command lines, built per command so that most get past argparse into gankit: a run folder (good,
    damaged, missing) or a config (a recipe, or a fuzzed YAML file), options with values from pools of
    plausible and hostile ones, overrides, and now and then a junk token. `train` always gets --check (a valid
    config then costs one step, not a run); `compare` keeps to what it refuses before starting a study."""
    # (a count that fits but takes an hour, such as --n 1000000000 on points, is honoured: not in the pool)
    ints = ["-1", "0", "1", "2", "3", "17", "64", "99999999999999999999", "x", "1e3", "-0", "nan"]
    paths = [f"{tmp}/o.png", f"{tmp}/o.npy", f"{tmp}/o.pt", f"{tmp}/o.jpg", "/proc/nope/x.png", f"{tmp}/dir/",
             f"{tmp}/nowhere/deep/o.png", "", "日本.png"]
    pools = {
        "sample": {"--n": ints, "--out": paths, "--seed": ints, "--device": ["cpu", "auto", "tpu"],
                   "--generator": ints, "--interpolate": None, "--traverse": None, "--pairs": ints,
                   "--steps": ints, "--mode": ["auto", "linear", "slerp", "x"]},
        "eval": {"--metrics": ["fid", "modes,kid", "none", "modes", "x,y", ",", "prdc", "lines", "cs"],
                 "--n": ints, "--seed": ints, "--device": ["cpu", "auto"]},
        "info": {"--json": None},
        "translate": {"--direction": ["a2b", "b2a", "x"], "--n": ints, "--input": [tmp, f"{tmp}/nowhere", ""],
                      "--out": paths, "--device": ["cpu", "auto", "tpu"]},
        "train": {"--budget": ["10m", "0s", "-5m", "1h30m", "x", "9" * 30], "--device": ["cpu", "auto", "cuda"],
                  "--out": [f"{tmp}/run", "/proc/nope"], "--no-progress": None},
        "compare": {"--seeds": ints, "--budget": ["10m", "500", "x", "0"], "--metrics": ["fid", "x"],
                    "--workers": ints, "--name": ["a", ""], "--backend": ["local", "ray", "x"], "--list": None},
        "list": {"--options": COMPONENTS["model"] + COMPONENTS["dataset"] + ["x", ""]},
    }
    counter = iter(range(10 ** 9))

    @st.composite
    def build(draw):
        cmd = draw(st.sampled_from(list(pools) + ["bogus"]))
        argv = [cmd]
        if cmd in ("sample", "eval", "info", "translate"):
            argv.append(draw(st.sampled_from(run_dirs)))
        elif cmd == "train":
            if draw(st.booleans()):
                argv.append(draw(st.sampled_from(RECIPES)))
            else:
                path = Path(tmp) / f"fuzz-{next(counter)}.yaml"
                path.write_text(yaml.safe_dump(draw(raw_configs()), allow_unicode=True))
                argv.append(str(path))
            argv += draw(overrides())
        elif cmd == "compare":
            argv += draw(st.lists(st.sampled_from(["objectives-ring", "nope", "x.yaml", f"{tmp}/nowhere.yaml"]),
                                  max_size=2))
        for option in draw(st.lists(st.sampled_from(list(pools.get(cmd, {"-h": None}))), max_size=4, unique=True)):
            argv.append(option)
            choices = pools.get(cmd, {}).get(option)
            if choices is not None:
                argv.append(draw(st.sampled_from(choices)))
        if draw(st.integers(0, 9)) == 0:
            argv.insert(draw(st.integers(1, len(argv))), draw(st.text(max_size=6)))
        if cmd == "train":
            argv.append("--check")
        if cmd == "compare" and "--list" not in argv:   # never a real study: its refusals are the point
            argv = [a for a in argv if a not in RECIPES and a != "objectives-ring"] + ["--report-only",
                                                                                    "--out", f"{tmp}/study"]
        return argv

    return build()


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) in this process: (exit code, stdout, stderr). An exception other than SystemExit escapes:
    that is the failure the fuzzing looks for."""
    from gankit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:   # argparse: usage errors exit 2, -h exits 0
            rc = e.code if isinstance(e.code, int) else 2
    return rc, out.getvalue(), err.getvalue()


def assert_clean(rc: int, err: str, what: object) -> None:
    assert rc in (0, 2, 3), (what, rc, err)
    assert "Traceback" not in err, (what, err)
    if rc == 2:
        assert err.strip(), (what, "exit 2 without a message")


def assert_config_property(load) -> None:
    """`load()` either returns a Config or raises a GankitError with a one-paragraph message."""
    try:
        load()
    except GankitError as e:
        assert str(e).strip() and "Traceback" not in str(e)


def make_damaged_runs(base: Path) -> list[str]:
    """A finished tiny run and damaged copies of it, for the CLI fuzzing to point at."""
    import os
    import shutil

    from faults_kit import case_config
    from gankit.engine.api import train

    good = base / "good"
    train(case_config("gan", steps=8, threads=None), run_dir=good)
    damages = {
        "truncated": lambda d: (d / "checkpoint.pt").write_bytes((d / "checkpoint.pt").read_bytes()[:300]),
        "both-random": lambda d: [(d / n).write_bytes(os.urandom(300)) for n in ("checkpoint.pt",
                                                                                 "checkpoint.prev.pt")],
        "status": lambda d: (d / "status.json").write_text("{\"status\": [}"),
        "empty": lambda d: [p.unlink() for p in d.iterdir() if p.is_file()],
    }
    out = [str(good)]
    for name, damage in damages.items():
        d = base / name
        shutil.copytree(good, d)
        damage(d)
        out.append(str(d))
    return out + [str(base / "missing"), str(good / "config.yaml")]
