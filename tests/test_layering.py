"""The floors of the package (docs/ARCHITECTURE.md): an import only points down or across a floor, the
import graph has no cycle, and the ground floor imports nothing above itself. Every import counts, also the
ones inside functions: a lazy import is how the old circles hid."""
import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gankit"

# Top to bottom, as in docs/ARCHITECTURE.md. A module belongs to the floor of its longest listed prefix.
FLOORS = [
    ("gankit", "gankit.__main__"),                      # the package's face (the Python API)
    ("gankit.cli",),
    ("gankit.study",),
    ("gankit.run", "gankit.pictures"),
    ("gankit.engine",),
    ("gankit.models",),
    ("gankit.metrics", "gankit.nets", "gankit.data"),
    ("gankit.losses", "gankit.viz"),
    ("gankit.config",),
    ("gankit.options", "gankit.registry", "gankit.errors", "gankit.memory",
     "gankit.files"),   # the ground floor
]
GROUND = set(FLOORS[-1])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def floor_of(mod: str) -> int:
    best, rank = -1, None
    for i, names in enumerate(FLOORS):
        for prefix in names:
            if (mod == prefix or mod.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank is None:
        raise AssertionError(f"{mod} has no floor: add it to FLOORS here and to docs/ARCHITECTURE.md")
    return len(FLOORS) - 1 - rank   # 0 = ground


def imports_of(mod: str, path: Path, known: set[str]) -> set[str]:
    """Package modules imported anywhere in the file (relative and absolute)."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "gankit"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "gankit":
                target = node.module
            else:
                continue
            # `from . import data` names a submodule; `from .config import opt` names a module's attribute.
            subs = {f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known}
            out |= subs if subs and len(subs) == len(node.names) else subs | {target}
    return {m for m in out if m in known and m != mod}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(m, p, known) for m, p in mods.items()}


def test_every_module_has_a_floor():
    for mod in modules():
        floor_of(mod)


def test_imports_only_point_down_or_across():
    bad = [f"{a} (floor {floor_of(a)}) imports {b} (floor {floor_of(b)})"
           for a, deps in graph().items() for b in sorted(deps) if floor_of(b) > floor_of(a)]
    assert not bad, "imports that point up a floor:\n" + "\n".join(bad)


def test_ground_floor_imports_nothing_above_it():
    bad = [f"{a} imports {b}" for a, deps in graph().items() if a in GROUND for b in deps if b not in GROUND]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    g = graph()
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):   # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checker_sees_a_circle_and_an_upward_import(tmp_path, monkeypatch):
    # The rules above must be able to fail: a tiny package with a lazy upward import and a circle.
    pkg = tmp_path / "gankit"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "engine" / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "run.py").write_text("from .engine.trainer import x\n")
    (pkg / "engine" / "trainer.py").write_text("def f():\n    from ..run import load_run\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", pkg)
    g = graph()
    assert g["gankit.engine.trainer"] == {"gankit.run"} and g["gankit.run"] == {"gankit.engine.trainer"}
    with pytest.raises(AssertionError, match="point up"):
        test_imports_only_point_down_or_across()
    with pytest.raises(AssertionError, match="cycles"):
        test_no_import_cycles()


def test_no_file_over_400_lines():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, f"split these by concern: {long}"
