"""Working with finished (or running) run directories: load, sample, evaluate, describe."""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import Config
from .data import load_dataset
from .data.base import Dataset
from .engine.checkpoint import checkpoint_config, load_checkpoint, read_status, torch_error_summary
from .engine.device import resolve_device
from .engine.logging import read_rows
from .errors import GankitError, RunError
from .memory import check_fits, check_seed
from .metrics.scorer import Scorer
from .models import Model, build_model
from .viz.grid import save_samples_png


@dataclass
class Run:
    run_dir: Path
    config: Config
    model: Model
    data: Dataset
    step: int


def _check_count(run: Run, n: int, what: str, copies: int = 2) -> None:
    """Refuse a sample count that cannot fit in memory, naming the option that asked for it."""
    per = 4 * max(1, int(np.prod(run.data.sample_shape)))
    check_fits(float(n) * per * copies, f"{what} = {n:,} samples of shape {tuple(run.data.sample_shape)}",
               f"Ask for fewer ({what}).")


def load_run(run_dir: str | Path, device: str = "auto") -> Run:
    """Rebuild a run's model from its checkpoint (weights only, eval mode)."""
    state = load_checkpoint(run_dir)
    cfg = checkpoint_config(state, run_dir)
    data = load_dataset(cfg.data)
    # The weights alone are loaded (no optimizer is stepped), but a linear or cosine schedule needs a length
    # to be built at all: the run's planned steps, or the steps it reached.
    horizon = cfg.train.steps or max(1, int(state["step"]))
    model = build_model(cfg.model, data, resolve_device(device), horizon=horizon)
    try:
        model.load_state_dict(state["model"], weights_only=True)
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as e:
        first = torch_error_summary(e)
        raise RunError(f"The checkpoint in {str(run_dir)!r} does not fit the {cfg.model.name!r} model its config "
                       f"builds ({type(e).__name__}: {first[:300]}); it was written by another version of gankit "
                       "or changed on disk.") from None
    model.train(False)
    return Run(Path(run_dir), cfg, model, data, int(state["step"]))


def sample(run_dir: str | Path, n: int = 64, out: str | Path | None = None, seed: int = 0,
           device: str = "auto", generator: int | None = None, class_: int | None = None) -> torch.Tensor:
    """Draw n samples from a run; with `out`, write them as a PNG grid (.png) or tensors (.npy, .pt).
    `generator`: for multi-generator models (dmwgan), draw from that generator only.
    `class_`: for class-conditional models (cgan, cvae, cvaegan), samples of that class only."""
    if n <= 0:
        raise GankitError(f"--n must be a positive number of samples, got {n}.")
    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    _check_count(run, n, "--n")
    rng = torch.Generator().manual_seed(seed)
    if class_ is not None:
        if generator is not None:
            raise GankitError("--class and --generator pick different things; give one.")
        _conditional(run, "--class")
        x = run.model.sample(**run.model.class_latent(torch.full((n,), int(class_)), rng)).cpu()
    elif generator is None:
        x = run.model.sample(n, generator=rng).cpu()
    elif not hasattr(run.model, "per_generator"):
        raise GankitError(f"--generator picks one of several generators; this run's model "
                          f"({run.config.model.name!r}) has a single generator.")
    else:
        x = run.model.sample(n, generator=generator, rng=rng).cpu()
    if out is not None:
        out = Path(out)
        suffix = out.suffix.lower()
        if suffix not in (".png", ".npy", ".pt"):
            raise GankitError(f"Cannot write samples to {str(out)!r}: use a .png (grid), .npy or .pt file.")
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".png":
            real = run.data.train[:2000] if run.data.kind == "points" else None
            save_samples_png(x, out, real, title=f"{run.config.model.name}, step {run.step}")
        elif suffix == ".npy":
            np.save(out, x.numpy())
        else:
            torch.save(x, out)
    return x


def interpolate(run_dir: str | Path, pairs: int = 8, steps: int = 10, out: str | Path | None = None,
                seed: int = 0, mode: str = "auto", device: str = "auto", vary: str = "all") -> torch.Tensor:
    """Samples along straight (or spherical) paths between random latent pairs: (pairs * steps, ...).

    mode 'auto' walks Gaussian noise on the sphere (slerp) and uniform noise on a line, as DCGAN did.
    With `out`, writes a PNG grid with one pair per row. `vary` (class-conditional models): 'z' walks the noise
    at the start's fixed class, 'c' walks from one class's one-hot to another's at fixed noise, 'all' both.
    """
    if vary not in ("all", "z", "c"):
        raise GankitError(f"--vary must be all, z or c, got {vary!r}.")
    from .viz.traverse import interpolate_latents

    if pairs <= 0 or steps < 2:
        raise GankitError(f"--pairs must be positive and --steps at least 2, got {pairs} and {steps}.")
    if mode not in ("auto", "linear", "slerp"):
        raise GankitError(f"interpolation mode must be auto, linear or slerp, got {mode!r}.")
    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    _check_count(run, pairs * steps, "--pairs x --steps")
    if run.data.kind != "image":
        raise GankitError(f"Interpolation pictures are drawn for image models; {run.config.data.name!r} is "
                          "2-D point data. Use `gankit sample RUN --out samples.png` for a scatter plot.")
    if mode == "auto":
        mode = "slerp" if getattr(run.config.model, "noise", "normal") == "normal" else "linear"
    g = torch.Generator().manual_seed(seed)
    start, end = run.model.latent(pairs, g), run.model.latent(pairs, g)
    if vary != "all":
        _conditional(run, f"--vary {vary}")
        fixed = "c" if vary == "z" else "z"
        end[fixed] = start[fixed]
        if vary == "c":   # a walk between two different classes
            k = run.model.n_classes
            a = start["c"].argmax(1).cpu()
            end["c"] = run.model.onehot((a + torch.randint(1, k, a.shape, generator=g)) % k)
    x = run.model.sample(**interpolate_latents(start, end, steps, mode)).cpu()
    if out is not None:
        from .viz.grid import save_grid

        save_grid(x, out, steps)
    return x


def traverse(run_dir: str | Path, out_dir: str | Path | None = None, steps: int = 10, seed: int = 0,
             device: str = "auto") -> dict[str, Path]:
    """InfoGAN latent-code pictures (see viz.traverse.code_traversals) as PNGs: traverse_categories.png and
    traverse_continuous_J.png, one row per categorical value, written to out_dir (default: the run)."""
    from .viz.grid import save_grid
    from .viz.traverse import code_traversals

    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    if not getattr(run.model.opts, "categories", None):
        raise GankitError(f"--traverse needs a model with a categorical latent code (infogan); "
                          f"{run.config.model.name!r} has none. Try --interpolate for any image model.")
    if steps < 2:
        raise GankitError(f"--steps must be at least 2, got {steps}.")
    _check_count(run, steps * 64, "--steps")
    out_dir = Path(out_dir) if out_dir is not None else Path(run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, x in code_traversals(run.model, steps=steps, seed=seed).items():
        path = out_dir / f"traverse_{name}.png"
        save_grid(x, path, steps)
        written[name] = path
    return written


def _conditional(run: Run, what: str, encoder: bool = False) -> None:
    if not getattr(run.model, "conditional", False):
        raise GankitError(f"{what} is for class-conditional models (cgan, cvae, cvaegan); this run's model "
                          f"({run.config.model.name!r}) has no class input.")
    if encoder and not getattr(run.model, "has_encoder", False):
        raise GankitError(f"{what} encodes real images, which needs a model with an encoder (cvae, cvaegan); "
                          f"{run.config.model.name!r} has none.")


METRICS_JSON = "metrics.json"


def evaluate(run_dir: str | Path, metrics: list[str] | None = None, n: int = 10_000, seed: int = 0,
             device: str = "auto", write: bool = True) -> dict:
    """Sample n points from a run, score them, and (with `write`) save RUN_DIR/metrics.json."""
    if n <= 1:
        raise GankitError(f"--n must be at least 2 samples (10,000 for comparable FID), got {n}.")
    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    _check_count(run, n, "--n", copies=4)   # the samples, their features and the metrics' temporaries
    name = run.config.data.name
    t0 = time.perf_counter()
    scorer = Scorer(run.data, name, metrics, n)
    fake = run.model.sample(n, generator=torch.Generator().manual_seed(seed))
    scores = {**scorer(fake), **run.model.extra_metrics(run.data, scorer.extractor)}
    result = {"run_dir": str(run_dir), "step": run.step, "dataset": name, "n": len(fake), "seed": seed,
              "requested": metrics, "metrics": scores, "floor": scorer.floor(),
              "seconds": round(time.perf_counter() - t0, 2),
              "features": ("bundled classifier" if scorer.extractor is not None else
                           "raw pixels" if run.data.kind == "image" else
                           "translation metrics" if run.data.kind == "pair" else "points")}
    if write:
        (Path(run_dir) / METRICS_JSON).write_text(json.dumps(result, indent=1))
    return result


def format_table(result: dict) -> str:
    rows = [f"{'metric':<18}{'run':>12}{'floor (test vs train)':>24}"]
    for k, v in result["metrics"].items():
        f = result["floor"].get(k)
        fs = f"{f:.4g}" if isinstance(f, (int, float)) else "-"
        rows.append(f"{k:<18}{v:>12.4g}{fs:>24}")
    rows.append(f"({result['n']} samples at step {result['step']}, features: {result['features']}, "
                f"{result['seconds']} s)")
    return "\n".join(rows)


def info(run_dir: str | Path) -> dict:
    """Config, steps done, status and last losses of a run."""
    state = load_checkpoint(run_dir)
    status = read_status(run_dir)
    rows = read_rows(run_dir)
    step = int(state["step"])
    state_name, message = status.get("status", "unknown"), status.get("message", "")
    if state_name == "running" and _process_gone(status):
        state_name = "stopped"
        message = (f"the training process (pid {status['pid']}) ended without marking the run finished or "
                   f"interrupted (killed outright?); the last checkpoint, at step {step}, is kept: resume with "
                   f"`gankit train --resume {run_dir}`")
    return {"run_dir": str(run_dir), "status": state_name, "step": step,
            "planned_steps": status.get("planned_steps"), "elapsed_s": round(float(state["elapsed"]), 1),
            **last_rows(rows), "message": message, "config": state["config"]}


def last_rows(rows: list[dict]) -> dict:
    """The last logged losses and the last in-training evaluation (train.eval_every), each with its step:
    evaluation rows are logged apart from loss rows, so the very last row is often not the losses."""
    out: dict = {"last_losses": {}, "losses_step": None, "last_evaluation": {}, "evaluation_step": None}
    for r in reversed(rows):
        is_eval = any(k.startswith("eval_") for k in r)
        key = "last_evaluation" if is_eval else "last_losses"
        if out[key]:
            continue
        out[key] = {(k[5:] if is_eval else k): v for k, v in r.items() if k not in ("step", "time")}
        out["evaluation_step" if is_eval else "losses_step"] = r["step"]
        if out["last_losses"] and out["last_evaluation"]:
            break
    return out


def _process_gone(status: dict) -> bool:
    """True only when we can tell: the run was started on this host and its process no longer exists."""
    pid, host = status.get("pid"), status.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:   # alive, owned by someone else
        return False
    return False


def translate(run_dir: str | Path, direction: str = "a2b", input: str | Path | None = None,
              out: str | Path | None = None, n: int = 64, device: str = "auto") -> dict:
    """Translate images with a two-domain run (dualgan): the first `n` held-out images of the source domain,
    or every image under the folder `input` (centre-cropped and resized to the run's images, as the folder
    dataset does). Writes one PNG per image (each to a temporary name, then renamed, so none is left
    half-written) and grid.png (rows of input | translation | reconstruction) into `out` (default
    RUN/translations/DIRECTION); returns {"out", "files", "grid"}."""
    from PIL import Image

    from .viz.translation import translation_grid

    if direction not in ("a2b", "b2a"):
        raise GankitError(f"--direction must be a2b (domain A -> B) or b2a (B -> A), got {direction!r}.")
    for flag, value in (("--input", input), ("--out", out)):
        if value is not None and not str(value).strip():
            raise GankitError(f"{flag} is empty: give a folder (or leave it out for the default).")
    run = load_run(run_dir, device)
    if run.data.kind != "pair" or not hasattr(run.model, "translate"):
        raise GankitError(f"translate needs a two-domain run (model dualgan on data: pair); {str(run_dir)!r} is "
                          f"{run.config.model.name!r} on {run.config.data.name!r}. Use `gankit sample` for it.")
    shape = run.model.domain_shape
    if input is None:
        if n < 1:
            raise GankitError(f"--n must be a positive number of images, got {n}.")
        split = run.data.test if run.data.test is not None else run.data.train
        x = split[:n, 0 if direction == "a2b" else 1]
        names = [f"{i:05d}.png" for i in range(len(x))]
    else:
        from .data.folder import find_images, read_image
        from .data.images import to_signed

        paths = find_images(Path(input).expanduser())
        arrays = [read_image(p, shape[-1], "L" if shape[0] == 1 else "RGB").reshape(shape[-1], shape[-1], shape[0])
                  for p in paths]
        x = to_signed(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous())
        names = [f"{i:05d}_{p.stem}.png" for i, p in enumerate(paths)]
    out = Path(out) if out is not None else Path(run_dir) / "translations" / direction
    if input is not None and out.resolve() == Path(input).expanduser().resolve():
        raise GankitError(f"--out {str(out)!r} is the --input folder; choose another folder so no input is replaced.")
    back = "b2a" if direction == "a2b" else "a2b"
    y = run.model.translate(x, direction)
    rec = run.model.translate(y, back)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    pixels = ((y.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    for name, img in zip(names, pixels):
        path = out / name
        tmp = out / f".{name}.tmp"
        Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(tmp, format="PNG")
        tmp.replace(path)
        files.append(path)
    grid = out / "grid.png"
    translation_grid(x[:64], y[:64], rec[:64], grid)
    return {"out": out, "files": files, "grid": grid}
