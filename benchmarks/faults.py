"""Reliability at scale (issue 22): fuzzed inputs, random kill points for every model, a soak of killed runs.

    python benchmarks/faults.py fuzz --n 10000       configs, overrides, YAML files and command lines;
                                                      counts inputs that end in a traceback (must be 0)
    python benchmarks/faults.py kill --points 20      every model killed (SIGKILL) at 20 random steps, and
                                                      inside every step of a checkpoint write; resumed runs
                                                      compared bit for bit with an uninterrupted one
    python benchmarks/faults.py soak --runs 200       random tiny configs, 0-3 random kills each (at a step
                                                      or inside a save), recovered until finished; compared
                                                      with the same config run without a kill

Each writes benchmarks/results/faults-MODE-seedS.json and prints a summary. The processes run under an
address-space limit (--memory-gb, default 12) so that an input that would exhaust memory shows up as a
failure instead of stalling the machine. Uses the tests' fault kit (tests/faults_kit.py, tests/fuzz_kit.py).
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = ROOT / "benchmarks" / "results"


def _limit_memory(gb: float) -> None:
    limit = int(gb * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def fuzz(n: int, seed: int) -> dict:
    from hypothesis import HealthCheck, Phase, given, seed as hseed, settings
    from hypothesis import strategies as st

    import fuzz_kit as fk
    from gankit.config import load_config
    from gankit.engine.check import check
    from gankit.errors import GankitError

    tmp = Path(tempfile.mkdtemp(prefix="gankit-fuzz-"))
    run_dirs = fk.make_damaged_runs(tmp / "runs")
    failures: list[dict] = []
    counts: dict[str, dict] = {}

    def record(kind: str, what, outcome: str, error: str = "") -> None:
        c = counts.setdefault(kind, {"inputs": 0, "ok": 0, "refused": 0, "traceback": 0})
        c["inputs"] += 1
        c[outcome] += 1
        if outcome == "traceback" and len(failures) < 50:
            failures.append({"kind": kind, "input": repr(what)[:2000], "error": error[-3000:]})

    def guarded(kind: str, what, call) -> None:
        try:
            answer = call()
        except GankitError as e:
            record(kind, what, "refused" if str(e).strip() else "traceback", "empty message")
            return
        except Exception:
            record(kind, what, "traceback", traceback.format_exc())
            return
        record(kind, what, "refused" if answer == "refused" else "ok")

    def yaml_case(text: str) -> None:
        path = tmp / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        load_config(str(path))

    def cli_case(argv: list[str]) -> None:
        rc, out, err = fk.run_cli(argv)
        if rc not in (0, 2, 3) or "Traceback" in err or (rc == 2 and not err.strip()):
            raise AssertionError(f"exit {rc}: {err[-2000:]}")
        return "ok" if rc == 0 else "refused"

    shares = {  # how the n inputs are split; `check` and `cli` cost the most (a training step, a command)
        "config": (0.25, fk.raw_configs(), lambda raw: load_config(raw)),
        "overrides": (0.2, st.tuples(st.sampled_from(fk.RECIPES), fk.overrides()),
                      lambda t: load_config(t[0], t[1])),
        "yaml": (0.15, fk.yaml_texts(), yaml_case),
        "check": (0.15, st.one_of(fk.raw_configs(), fk.plausible_configs()), lambda raw: check(raw)),
        "cli": (0.25, fk.argvs(run_dirs, str(tmp)), cli_case),
    }
    t0 = time.time()
    for kind, (share, strategy, call) in shares.items():
        target = int(round(n * share))

        @hseed(seed)
        @settings(max_examples=target, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def prop(x):
            guarded(kind, x, lambda: call(x))

        prop()
        c = counts.get(kind, {})
        print(f"{kind:10s} {c.get('inputs', 0):6d} inputs: {c.get('ok', 0)} ok, {c.get('refused', 0)} refused "
              f"with gankit's message, {c.get('traceback', 0)} tracebacks ({time.time() - t0:.0f} s)", flush=True)
    total = sum(c["inputs"] for c in counts.values())
    tracebacks = sum(c["traceback"] for c in counts.values())
    return {"inputs": total, "tracebacks": tracebacks, "by_kind": counts, "failures": failures,
            "seconds": round(time.time() - t0, 1), "seed": seed}


def _one_kill(case: str, cfg: dict, ref: Path, d: Path, how: list[str]) -> dict:
    from faults_kit import compare_runs, run_child
    from gankit.engine.checkpoint import has_checkpoint
    from gankit.engine.api import resume, train

    rc, out, err = run_child(cfg, d, *how)
    outcome = {"case": case, "kill": " ".join(how), "child_exit": rc}
    try:
        if has_checkpoint(d):
            resume(d)
        else:
            train(cfg, run_dir=d)
        diffs = compare_runs(ref, d)
    except Exception as e:
        diffs = [f"recovery failed: {type(e).__name__}: {e}"]
    outcome["differences"] = diffs[:5]
    return outcome


def kill(points: int, seed: int, steps: int) -> dict:
    import shutil

    from faults_kit import CASES, SAVE_POINTS, case_config
    from gankit.engine.api import train

    tmp = Path(tempfile.mkdtemp(prefix="gankit-kill-"))
    rng = random.Random(seed)
    outcomes, t0 = [], time.time()
    for case in sorted(CASES):
        cfg = case_config(case, steps=steps)
        ref = tmp / f"{case}-ref"
        train(cfg, run_dir=ref)
        kills = [["step", str(k)] for k in sorted(rng.sample(range(1, steps), min(points, steps - 1)))]
        kills += [["save", str(rng.randint(1, steps // cfg["train"]["checkpoint_every"])), str(p)]
                  for p in range(len(SAVE_POINTS))]
        for i, how in enumerate(kills):
            d = tmp / f"{case}-{i}"
            outcomes.append(_one_kill(case, cfg, ref, d, how))
            shutil.rmtree(d, ignore_errors=True)
        bad = [o for o in outcomes if o["case"] == case and o["differences"]]
        print(f"{case:15s} {len(kills)} kills ({points} at steps, {len(SAVE_POINTS)} inside saves): "
              f"{len(bad)} mismatches ({time.time() - t0:.0f} s)", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    mismatches = [o for o in outcomes if o["differences"]]
    return {"kills": len(outcomes), "mismatches": len(mismatches), "failures": mismatches[:50],
            "steps": steps, "seed": seed, "seconds": round(time.time() - t0, 1),
            "per_case": {c: sum(o["case"] == c for o in outcomes) for c in sorted(CASES)}}


def soak(runs: int, seed: int) -> dict:
    import shutil

    from faults_kit import CASES, SAVE_POINTS, case_config, compare_runs, run_child
    from gankit.engine.checkpoint import has_checkpoint
    from gankit.engine.api import resume, train

    tmp = Path(tempfile.mkdtemp(prefix="gankit-soak-"))
    rng = random.Random(seed)
    lost, t0, kills_total = [], time.time(), 0
    for i in range(runs):
        case = rng.choice(sorted(CASES))
        steps = rng.randint(4, 30)
        cfg = case_config(case, steps=steps, checkpoint_every=rng.randint(1, 8), log_every=rng.randint(1, 7),
                          sample_every=rng.randint(2, 40), batch_size=rng.choice([8, 16, 20, 32]))
        cfg["train"]["seed"] = rng.randint(0, 10 ** 6)
        ref, d = tmp / f"{i}-ref", tmp / f"{i}"
        train(cfg, run_dir=ref)
        n_kills = rng.randint(0, 3)
        record = {"run": i, "case": case, "steps": steps, "kills": []}
        for _ in range(n_kills):
            if rng.random() < 0.7:
                how = ["step", str(rng.randint(1, steps - 1))]   # counted from where this process starts
            else:
                how = ["save", str(rng.randint(1, 3)), str(rng.randrange(len(SAVE_POINTS)))]
            rc, out, err = run_child(cfg, d, *how)
            record["kills"].append({"how": " ".join(how), "exit": rc})
            kills_total += 1
            if rc == 0:
                break   # it finished before the kill point came
            if rc != -9:
                record["error"] = err[-2000:]
                break
        try:
            if not (d / "status.json").exists() or json.loads((d / "status.json").read_text())["status"] != "finished":
                resume(d) if has_checkpoint(d) else train(cfg, run_dir=d)
            diffs = compare_runs(ref, d)
        except Exception as e:
            diffs = [f"recovery failed: {type(e).__name__}: {e}"]
        if diffs or "error" in record:
            record["differences"] = diffs[:5]
            lost.append(record)
        shutil.rmtree(ref, ignore_errors=True)
        shutil.rmtree(d, ignore_errors=True)
        if (i + 1) % 20 == 0:
            print(f"{i + 1:4d} runs, {kills_total} kills, {len(lost)} lost ({time.time() - t0:.0f} s)", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"runs": runs, "kills": kills_total, "lost": len(lost), "failures": lost[:50], "seed": seed,
            "seconds": round(time.time() - t0, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["fuzz", "kill", "soak"])
    p.add_argument("--n", type=int, default=10_000, help="fuzz: inputs")
    p.add_argument("--points", type=int, default=20, help="kill: random kill steps per model")
    p.add_argument("--steps", type=int, default=40, help="kill: steps of each run")
    p.add_argument("--runs", type=int, default=200, help="soak: runs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--memory-gb", type=float, default=12.0)
    a = p.parse_args()
    _limit_memory(a.memory_gb)
    import torch

    torch.set_num_threads(1)
    result = {"fuzz": lambda: fuzz(a.n, a.seed), "kill": lambda: kill(a.points, a.seed, a.steps),
              "soak": lambda: soak(a.runs, a.seed)}[a.mode]()
    result.update(command="python benchmarks/faults.py " + " ".join(sys.argv[1:]),
                  date=time.strftime("%Y-%m-%d %H:%M"), torch=torch.__version__)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"faults-{a.mode}-seed{a.seed}.json"
    out.write_text(json.dumps(result, indent=1))
    summary = {k: v for k, v in result.items() if k not in ("failures", "by_kind", "per_case")}
    print(json.dumps(summary))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
