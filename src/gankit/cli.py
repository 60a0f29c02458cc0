"""`gankit` command line: train, sample, eval, compare, list, info. Each command is a thin wrapper of the Python API."""
from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from .errors import GankitError, NonFiniteLossError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gankit", description="Train, sample and inspect GANs.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from a recipe or YAML file",
                       description="Train from CONFIG (a recipe name from `gankit list` or a YAML path), "
                                   "with dotted overrides such as train.steps=2000 model.n_critic=3.")
    t.add_argument("config", nargs="?", help="recipe name or YAML file (omit with --resume or --branch)")
    t.add_argument("overrides", nargs="*", help="key=value overrides, e.g. train.batch_size=128")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    t.add_argument("--branch", metavar="RUN_DIR",
                   help="continue a copy of RUN_DIR's checkpoint in --out with changed model.*/train.* options")
    t.add_argument("--budget", help="wall-time budget, e.g. 90s, 10m, 1h30m (train.budget)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"], help="train.device")
    t.add_argument("--out", metavar="RUN_DIR", help="run directory (default: runs/RECIPE-TIMESTAMP)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--nproc", type=int, default=None, metavar="N",
                   help="data-parallel training in N processes on this machine (gloo on CPU, nccl on GPU); "
                        "train.batch_size is the global batch. Several machines: torchrun -m gankit train")
    t.add_argument("--check", action="store_true",
                   help="check the config, data and networks with the first training steps (one G update); write nothing")

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=None, help="samples (default 64; per class for --class-grid: 10; "
                                                       "--transfer: 8 rows; --reconstruct: 32 pairs)")
    s.add_argument("--out", default=None, help="output file: .png grid, .npy or .pt (default RUN_DIR/sample.png)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    s.add_argument("--generator", type=int, default=None,
                   help="multi-generator models (dmwgan): sample from generator I only")
    s.add_argument("--interpolate", action="store_true",
                   help="instead: a grid of interpolations between random latent pairs (one pair per row)")
    s.add_argument("--traverse", action="store_true",
                   help="instead (infogan): code traversal pictures, one row per categorical value "
                        "(--out is then a folder; default RUN_DIR)")
    s.add_argument("--class", dest="klass", type=int, metavar="K", help="conditional models: samples of class K only")
    s.add_argument("--class-grid", action="store_true", help="instead: a row per class, columns sharing their noise")
    s.add_argument("--transfer", action="store_true", help="instead (cvae, cvaegan): images in every class")
    s.add_argument("--reconstruct", action="store_true", help="instead (cvae, cvaegan): real | reconstruction pairs")
    s.add_argument("--source-class", type=int, metavar="K", help="--transfer: source images of class K only")
    s.add_argument("--vary", choices=["all", "z", "c"], default="all",
                   help="--interpolate, conditional models: walk z at a fixed class, the class at a fixed z, or both")
    s.add_argument("--pairs", type=int, default=8, help="--interpolate: number of pairs (rows)")
    s.add_argument("--steps", type=int, default=10, help="--interpolate / --traverse: images per row")
    s.add_argument("--mode", choices=["auto", "linear", "slerp"], default="auto",
                   help="--interpolate: path; auto = slerp for Gaussian noise, linear for uniform")

    e = sub.add_parser("eval", help="score a run (FID/KID/classifier score/PRDC or mode metrics) next to "
                                    "the real-data floor; writes RUN_DIR/metrics.json")
    e.add_argument("run_dir")
    e.add_argument("--metrics", default=None,
                   help="comma-separated: fid,kid,cs,prdc,dmwgan (images), modes (ring/grid) or lines; default: all that apply")
    e.add_argument("--n", type=int, default=10_000, help="generated samples (default 10000)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")

    c = sub.add_parser("compare", help="many recipes x seeds on one budget -> report.html, results.csv/json",
                       description="Run a study: SPEC (a YAML file or a bundled spec, `--list`), or RECIPE... "
                                   "with --seeds and --budget. Invoking it again continues it: finished runs are "
                                   "skipped, interrupted ones resumed, changed entries re-run.")
    c.add_argument("items", nargs="*", metavar="SPEC|RECIPE", help="a spec (YAML or bundled name) or recipes")
    c.add_argument("--list", action="store_true", help="show the bundled specs")
    c.add_argument("--out", metavar="DIR", help="study directory (default runs/study-NAME)")
    c.add_argument("--seeds", type=int, default=None, help="recipes: seeds 0..N-1 (default 3)")
    c.add_argument("--budget", default=None,
                   help="recipes: 5000 or 5000steps, 320000images (equal images seen) or 10m (wall-clock)")
    c.add_argument("--metrics", default=None, help="recipes: comma-separated metrics (default: all that fit)")
    c.add_argument("--eval-every", type=int, default=None, help="recipes: steps between in-training evaluations")
    c.add_argument("--name", default=None, help="recipes: the study's name (default 'compare')")
    c.add_argument("--workers", type=int, default=1, help="runs at once (torch threads are divided among them)")
    c.add_argument("--threads", type=int, default=None, help="torch threads per worker (default cores / workers)")
    c.add_argument("--backend", choices=["local", "ray"], default="local")
    c.add_argument("--ray-address", default=None, help="--backend ray: a running cluster (default: start a local one)")
    c.add_argument("--retry-failed", action="store_true", help="train failed runs again instead of reporting them")
    c.add_argument("--force", action="store_true", help="use an --out that holds another study")
    c.add_argument("--report-only", action="store_true", help="write the report from what is there; run nothing")

    tr = sub.add_parser("translate", help="two-domain runs (dualgan): translate held-out or your images, with a grid")
    tr.add_argument("run_dir")
    tr.add_argument("--direction", choices=["a2b", "b2a"], default="a2b", help="a2b: domain A -> B (G_A); b2a: B -> A")
    tr.add_argument("--input", default=None, help="folder of images to translate (default: the held-out split)")
    tr.add_argument("--out", default=None, help="output folder (default: RUN/translations/DIRECTION)")
    tr.add_argument("--n", type=int, default=64, help="held-out images to translate (without --input)")
    tr.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    li = sub.add_parser("list", help="models, datasets, networks and recipes")
    li.add_argument("--options", metavar="NAME", help="show every option of a model, dataset or network")

    i = sub.add_parser("info", help="config, steps done and last losses of a run")
    i.add_argument("run_dir")
    i.add_argument("--json", action="store_true", help="print as JSON")
    return p


def cmd_train(a: argparse.Namespace) -> int:
    from .engine.api import branch, resume, train

    progress = False if a.no_progress else None
    if a.nproc is not None and "WORLD_SIZE" not in os.environ:
        return _launch(a)
    from .engine.distributed import finish, teardown

    try:
        code = _train(a, branch, resume, train, progress)
    except BaseException:
        teardown()
        raise
    finish(code)   # a rank of a distributed run exits here, its work done (engine/distributed.py)
    return code


def _launch(a: argparse.Namespace) -> int:
    """--nproc N: check everything once here, then start N ranks of the same command (engine/launch.py)."""
    from .engine.check import resolve_config
    from .engine.launch import check_nproc, launch

    if a.check or a.branch:
        raise GankitError("--nproc trains a new run or resumes one; use --check and --branch without it.")
    if a.resume:
        from .engine.checkpoint import checkpoint_config, load_checkpoint

        cfg = checkpoint_config(load_checkpoint(a.resume), a.resume, ([a.config] if a.config else []) + a.overrides)
    else:
        if not a.config:
            raise GankitError("gankit train needs a CONFIG (a recipe from `gankit list` or a YAML file), "
                              "or --resume RUN_DIR.")
        cfg = resolve_config(a.config, a.overrides, a.budget, a.device)
    check_nproc(a.nproc, cfg.train)
    return launch(a.argv, a.nproc)   # rank 0's run directory is every rank's (Trainer)


def _train(a: argparse.Namespace, branch, resume, train, progress) -> int:
    if a.check and (a.resume or a.branch):
        raise GankitError("--check checks a CONFIG for a new run; a resumed run was checked when it started.")
    if a.resume and a.branch:
        raise GankitError("Give --resume RUN_DIR (continue in place) or --branch RUN_DIR --out NEW_DIR, not both.")
    if a.resume or a.branch:   # no CONFIG then: the first positional argument is an override
        overrides = ([a.config] if a.config else []) + a.overrides
        if a.device:
            overrides.append(f"train.device={a.device}")
    if a.branch:
        if not a.out:
            raise GankitError("--branch RUN_DIR needs --out NEW_DIR, the new run's folder.")
        result = branch(a.branch, a.out, overrides, budget=a.budget, progress=progress)
    elif a.resume:
        result = resume(a.resume, overrides, budget=a.budget, progress=progress)
    else:
        if not a.config:
            raise GankitError("gankit train needs a CONFIG (a recipe from `gankit list` or a YAML file), "
                              "or --resume RUN_DIR.")
        if a.check:
            return _check(a)
        result = train(a.config, a.overrides, budget=a.budget, device=a.device, run_dir=a.out,
                       progress=progress)
    d = result.run_dir
    if os.environ.get("RANK", "0") != "0":   # a distributed run: rank 0 reports
        return 0 if result.status != "interrupted" else (143 if result.stopped_by == "SIGTERM" else 130)
    losses = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items())
    print(f"\n{result.status}: {result.step} steps in {result.elapsed:.0f} s ({losses})")
    if result.status == "interrupted":
        print(f"checkpoint saved; continue with: gankit train --resume {d}")
    print(f"samples:     {d / 'samples.png'}  (a grid every train.sample_every steps in {d / 'samples'})")
    if (d / "training.gif").exists():
        print(f"training:    {d / 'training.gif'}")
    print(f"loss curves: {d / 'losses.png'}  (data in losses.csv / losses.jsonl)")
    for name, what in (("generators.png", "a row (or colour) per generator with its prior mass"),
                       ("prior.png", "the prior over generators during training")):
        if (d / name).exists():
            print(f"{name[:-4] + ':':<12} {d / name}  ({what})")
    print(f"checkpoint:  {d / 'checkpoint.pt'}" + (f"   tensorboard --logdir {d / 'tb'}" if (d / "tb").exists() else ""))
    last = _last_evaluation(d)
    if last:
        step, scores = last
        print(f"evaluation at step {step}: " + format_scores(scores))
    if result.status != "interrupted":
        return 0
    return 143 if result.stopped_by == "SIGTERM" else 130   # what a shell reports for those signals


def _check(a: argparse.Namespace) -> int:
    from .engine.check import check

    r = check(a.config, a.overrides, budget=a.budget, device=a.device)
    items = list(r["first_step_losses"].items())
    losses = ", ".join(f"{k} {v:.4g}" for k, v in items[:8]) + (", ..." if len(items) > 8 else "")
    print(f"ok: {r['model']} on {r['dataset']} ({r['train_samples']} training samples, samples of shape "
          f"{tuple(r['sample_shape'])}), {r['parameters']:,} parameters on {r['device']}; first steps: {losses}")
    return 0


def format_scores(scores: dict) -> str:
    """'k v, ...' with 4 significant digits; an undefined metric (nan, a string in losses.jsonl) as it is."""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in scores.items())


def _last_evaluation(run_dir) -> tuple[int, dict] | None:
    """The last train.eval_every scores of a run (e.g. ssgan's test error), from losses.jsonl."""
    from .engine.logging import read_rows
    from .run import last_rows

    last = last_rows(read_rows(run_dir))
    return (last["evaluation_step"], last["last_evaluation"]) if last["last_evaluation"] else None


def cmd_sample(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .pictures import PICTURES, draw
    from .run import interpolate, sample, traverse

    picked = [f for f in ("traverse", "interpolate", *PICTURES) if getattr(a, f)]
    if len(picked) > 1:
        raise GankitError("Give one of " + ", ".join("--" + f.replace("_", "-") for f in picked) + ", not several.")
    if picked and picked[0] in PICTURES:
        print(draw(picked[0], a.run_dir, a.n if a.n_given else None, a.out, a.seed, a.device, a.source_class))
        return 0
    if a.traverse:
        for name, path in traverse(a.run_dir, a.out, steps=a.steps, seed=a.seed, device=a.device).items():
            print(f"wrote {path}")
        return 0
    if a.interpolate:
        out = a.out or str(Path(a.run_dir) / "interpolation.png")
        if not out.lower().endswith(".png"):
            raise GankitError(f"--interpolate writes a PNG grid; give --out a .png path, not {out!r}.")
        interpolate(a.run_dir, a.pairs, a.steps, out, seed=a.seed, mode=a.mode, device=a.device, vary=a.vary)
        print(f"wrote {a.pairs} interpolation paths of {a.steps} steps (one per row) to {out}")
        return 0
    out = a.out or str(Path(a.run_dir) / "sample.png")
    x = sample(a.run_dir, a.n, out, seed=a.seed, device=a.device, generator=a.generator, class_=a.klass)
    print(f"wrote {x.shape[0]} samples of shape {tuple(x.shape[1:])} to {out}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from .run import evaluate, format_table

    wanted = [] if a.metrics == "none" else [m.strip() for m in a.metrics.split(",") if m.strip()] if a.metrics else None
    result = evaluate(a.run_dir, wanted, n=a.n, seed=a.seed, device=a.device)
    print(format_table(result))
    print(f"wrote {a.run_dir}/metrics.json")
    return 0


def cmd_translate(a: argparse.Namespace) -> int:
    from .run import translate

    r = translate(a.run_dir, a.direction, a.input, a.out, n=a.n, device=a.device)
    print(f"wrote {len(r['files'])} translations ({a.direction}) to {r['out']} and the grid {r['grid']}")
    return 0


def cmd_compare(a: argparse.Namespace) -> int:
    from .study import bundled_specs, compare
    from .study.spec import is_spec

    if a.list:
        for name, desc in bundled_specs():
            print(f"  {name:<22} {desc}")
        print("run one: gankit compare NAME [--workers N] [--out DIR]")
        return 0
    if not a.items:
        raise GankitError("gankit compare needs a SPEC (a YAML file or a bundled spec: `gankit compare --list`) "
                          "or one or more recipes with --seeds N --budget B.")
    shorthand = {"--seeds": a.seeds, "--budget": a.budget, "--metrics": a.metrics, "--eval-every": a.eval_every,
                 "--name": a.name}
    if len(a.items) == 1 and is_spec(a.items[0]):
        given = [k for k, v in shorthand.items() if v is not None]
        if given:
            raise GankitError(f"{', '.join(given)} belong to the recipes form; a spec sets them itself "
                              f"({a.items[0]}). Edit the spec, or list recipes instead.")
        spec = a.items[0]
    else:
        from pathlib import Path

        from .config import recipe_names
        from .errors import did_you_mean
        from .study.spec import spec_names

        for item in a.items:   # a mistyped spec name would otherwise read as a recipe
            if item not in recipe_names() and not Path(item).exists():
                raise GankitError(f"{item!r} is neither a recipe nor a study spec."
                                  f"{did_you_mean(item, spec_names() + recipe_names())} `gankit list` shows the "
                                  "recipes, `gankit compare --list` the specs.")
        if a.budget is None:
            raise GankitError("gankit compare RECIPE... needs --budget (e.g. 5000 steps, 320000images or 10m): "
                              "one budget, the same for every recipe.")
        spec = {"name": a.name or "compare", "seeds": a.seeds if a.seeds is not None else 3, "budget": a.budget,
                "entries": list(a.items), "eval_every": a.eval_every,
                "metrics": [m.strip() for m in a.metrics.split(",") if m.strip()] if a.metrics else None}
    command = "gankit " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["compare"] else None
    result = compare(spec, a.out, workers=a.workers, backend=a.backend, address=a.ray_address, threads=a.threads,
                     retry_failed=a.retry_failed, force=a.force, report_only=a.report_only, command=command)
    print(result.table)
    return 0 if result.complete else 130


def cmd_list(a: argparse.Namespace) -> int:
    from .config import recipe_names
    from .options import describe
    from .registry import KINDS, entries, lookup

    if a.options:
        for kind in KINDS:
            names = [e.name for e in entries(kind)]
            if a.options in names:
                e = lookup(kind, a.options)
                print(f"{kind} {e.name}: {e.summary}")
                print("\n".join(describe(e.options, "  ")))
                return 0
        raise GankitError(f"No model, dataset or network named {a.options!r}; `gankit list` shows them.")
    for kind in KINDS:
        print(f"{kind}s:")
        for e in entries(kind):
            print(f"  {e.name:<16} {e.summary}")
    print("recipes (gankit train NAME):")
    print(textwrap.fill(", ".join(recipe_names()), width=100, initial_indent="  ", subsequent_indent="  "))
    print("options of any of them: gankit list --options NAME")
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    import yaml

    from .run import info

    d = info(a.run_dir)
    if a.json:
        print(json.dumps(d, indent=1))
        return 0
    planned = f" of {d['planned_steps']}" if d["planned_steps"] else ""
    print(f"run:     {d['run_dir']}\nstatus:  {d['status']}  step {d['step']}{planned}, "
          f"{d['elapsed_s']} s of training")
    if d["message"]:
        print(f"note:    {d['message']}")
    for label, key, step in (("losses:", "last_losses", "losses_step"),
                             ("eval:", "last_evaluation", "evaluation_step")):
        if d[key]:
            print(f"{label:<8} " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in d[key].items()) + f"  (step {d[step]})")
    print("config:\n" + textwrap.indent(yaml.safe_dump(d["config"], sort_keys=False), "  "))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    a, extra = parser.parse_known_args(argv)
    # argparse stops filling `overrides` at the first option, so `train X --out D k=v` leaves k=v over:
    # dotted overrides may come before or after options.
    if extra and a.command == "train" and all("=" in e and not e.startswith("-") for e in extra):
        a.overrides = [*a.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    a.argv = list(sys.argv[1:] if argv is None else argv)
    if a.command == "sample":   # each picture has its own default count
        a.n_given = a.n is not None
        a.n = 64 if a.n is None else a.n
    handler = {"train": cmd_train, "sample": cmd_sample, "eval": cmd_eval, "list": cmd_list,
               "info": cmd_info, "compare": cmd_compare, "translate": cmd_translate}[a.command]
    try:
        return handler(a)
    except NonFiniteLossError as e:
        print(f"\ngankit: training stopped: {e}", file=sys.stderr)
        return 3
    except GankitError as e:
        print(f"gankit {a.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ngankit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:   # the reader of our output left (`gankit info RUN | head`): not our error
        # Python would complain again when it flushes stdout at exit: send what is left to /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141            # what a shell reports for a program stopped by SIGPIPE
    except (MemoryError, RuntimeError) as e:   # only the allocator's refusal; any other error is a bug to see
        if not isinstance(e, MemoryError) and "allocate" not in str(e):
            raise
        first = (str(e).strip().splitlines() or ["out of memory"])[0]
        print(f"gankit {a.command}: error: out of memory ({first[:200]}). Lower the sizes this command "
              "asks for (batch size, networks, --n).", file=sys.stderr)
        return 2
    except OSError as e:   # a file the user named cannot be read or written: their environment, not a bug
        where = f" ({e.filename})" if e.filename else ""
        print(f"gankit {a.command}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
