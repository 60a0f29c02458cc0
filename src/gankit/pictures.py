"""Pictures of class-conditional runs (cgan, cvae, cvaegan): a class-by-noise grid, class transfer of real
images (Bao et al. 2017, fig. 6) and reconstructions; `gankit sample --class-grid | --transfer | --reconstruct`."""
from __future__ import annotations

from pathlib import Path

import torch

from .errors import GankitError
from .memory import check_seed
from .run import Run, _check_count, _conditional, load_run
from .viz.grid import save_grid

def _labelled_images(run: Run, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The run's labelled test images (its training images where it holds no test split)."""
    d = run.data
    if d.test is not None and d.test_labels is not None and len(d.test):
        return d.test, d.test_labels
    if d.train_labels is None:
        raise GankitError(f"{what} needs labelled images, and dataset {run.config.data.name!r} has no labels.")
    return d.train, d.train_labels


def _write_grid(x: torch.Tensor, out: str | Path | None, nrow: int) -> None:
    if out is None:
        return
    if Path(out).suffix.lower() != ".png":
        raise GankitError(f"This picture is written as a PNG grid; give --out a .png path, not {str(out)!r}.")
    save_grid(x, out, nrow)


def class_grid(run_dir: str | Path, per_class: int = 10, out: str | Path | None = None, seed: int = 0,
               device: str = "auto") -> torch.Tensor:
    """Class-conditional models: one row per class, `per_class` columns; each column shares its noise z, so
    a column shows one style in every class. Returns (K * per_class, ...) row-major; with `out`, a PNG."""
    if per_class <= 0:
        raise GankitError(f"--n (images per class) must be positive, got {per_class}.")
    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    _conditional(run, "--class-grid")
    k = run.model.n_classes
    _check_count(run, k * per_class, "--n x classes")
    y = torch.arange(k).repeat_interleave(per_class)
    lat = run.model.class_latent(y, torch.Generator().manual_seed(seed))
    lat["z"] = lat["z"][:per_class].repeat(k, 1)
    x = run.model.sample(**lat).cpu()
    _write_grid(x, out, per_class)
    return x


def _sources(run: Run, n: int, source_class: int | None, seed: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if n <= 0:
        raise GankitError(f"--n must be a positive number of images, got {n}.")
    images, labels = _labelled_images(run, what)
    if source_class is not None:
        run.model.check_classes(torch.tensor([source_class]), "--source-class")
        keep = (labels == source_class).nonzero().flatten()
        if len(keep) == 0:
            raise GankitError(f"{what}: no labelled image of class {source_class} in this run's data.")
        images, labels = images[keep], labels[keep]
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images[pick], labels[pick]


def transfer(run_dir: str | Path, n: int = 8, source_class: int | None = None, out: str | Path | None = None,
             seed: int = 0, device: str = "auto") -> torch.Tensor:
    """The attribute/identity morphing grid of Bao et al. 2017 (fig. 6): each row is a real held-out image
    followed by its decoding G(E(x, c), c') with every class c' in turn. Returns (n * (K + 1), ...)."""
    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    _conditional(run, "--transfer", encoder=True)
    k = run.model.n_classes
    _check_count(run, n * (k + 1), "--n x (classes + 1)")
    x, y = _sources(run, n, source_class, seed, "--transfer")
    targets = torch.arange(k).repeat(len(x))
    moved = run.model.reconstruct(x.repeat_interleave(k, 0), y.repeat_interleave(k), targets).cpu()
    rows = torch.cat([x[:, None], moved.view(len(x), k, *x.shape[1:])], 1).flatten(0, 1)
    _write_grid(rows, out, k + 1)
    return rows


def reconstruct(run_dir: str | Path, n: int = 32, out: str | Path | None = None, seed: int = 0,
                device: str = "auto") -> torch.Tensor:
    """Real held-out images next to their reconstructions G(E(x, c), c): (2n, ...) as real, reconstruction
    pairs; with `out`, a PNG grid of 8 pairs per row."""
    check_seed(seed, "--seed")
    run = load_run(run_dir, device)
    _conditional(run, "--reconstruct", encoder=True)
    _check_count(run, 2 * n, "--n")
    x, y = _sources(run, n, None, seed, "--reconstruct")
    rec = run.model.reconstruct(x, y).cpu()
    pairs = torch.stack([x, rec], 1).flatten(0, 1)
    _write_grid(pairs, out, 16)
    return pairs


# `gankit sample` flag -> (function, default file name, default count, what the picture shows)
PICTURES = {"class_grid": (class_grid, "class-grid.png", 10, "rows = classes, columns share their noise"),
            "transfer": (transfer, "transfer.png", 8, "rows = source images, then one column per class"),
            "reconstruct": (reconstruct, "reconstruction.png", 32, "pairs: real | reconstruction")}


def draw(picture: str, run_dir: str | Path, n: int | None = None, out: str | Path | None = None, seed: int = 0,
         device: str = "auto", source_class: int | None = None) -> str:
    """One of PICTURES with its defaults (out: RUN_DIR/NAME.png); returns what was written, for the CLI."""
    fn, name, default_n, what = PICTURES[picture]
    out = out or str(Path(run_dir) / name)
    kwargs = {"source_class": source_class} if picture == "transfer" else {}
    fn(run_dir, default_n if n is None else n, out=out, seed=seed, device=device, **kwargs)
    return f"wrote {out} ({what})"
