"""Fault injection shared by tests/test_faults.py and benchmarks/faults.py.

Run as a script it is the child process that gets killed:

(each trains CONFIG_JSON into RUN_DIR, or resumes RUN_DIR when it holds a checkpoint)

    python tests/faults_kit.py CONFIG_JSON RUN_DIR step K        SIGKILL itself before its K-th step
    python tests/faults_kit.py CONFIG_JSON RUN_DIR save N P      SIGKILL itself inside its N-th checkpoint
                                                                  save, before file operation P (SAVE_POINTS)
    python tests/faults_kit.py CONFIG_JSON RUN_DIR slow-save     every save after the first takes 120 s
                                                                  (a second signal must not wait for it)
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The file operations of one save_checkpoint, in order: a kill before each is one test case.
# Point 0 leaves half the new file on disk; point P > 0 kills just before the P-th operation of the save.
SAVE_POINTS = ("mid-write of the new file", "before its fsync", "before the manifest (next) is synced",
               "before the manifest (next) is in place", "before newest -> previous", "before new -> newest",
               "before the final manifest is synced", "before the final manifest is in place",
               "before the folder fsync")

TECHNIQUES = {"feature_matching": True, "minibatch_disc": True, "mbd_kernels": 4, "historical_averaging": 0.1,
              "label_smoothing": 0.1}
SSGAN = {"name": "ssgan", "labels_per_class": 3, "d_hidden": [24, 12], "g_hidden": [16], "z_dim": 8,
         "weight_norm_init": 50}
# Every registered model, some twice (the Improved-GAN techniques ride on `gan`): test_faults checks that
# a model added to the registry gets a case here.
CASES = {"gan": {}, "gan-techniques": {"name": "gan", **TECHNIQUES}, "gan-ema": {"name": "gan", "g_ema": 0.9},
         "wgan": {}, "wgan-gp": {}, "lsgan": {},
         "fgan": {"divergence": "kl"}, "dragan": {}, "ebgan": {}, "infogan": {},
         "dmwgan": {"prior": "learned", "n_generators": 3}, "ssgan": SSGAN, "cgan": {}, "cvae": {},
         "cvaegan": {"encoder": {"name": "mlp", "hidden": [16]}, "classifier": {"name": "mlp", "hidden": [16]}},
         "cvaegan-labels": {"name": "cvaegan", "labels": 20, "encoder": {"name": "mlp", "hidden": [16]},
                            "classifier": {"name": "mlp", "hidden": [16]}},
         "dualgan": {"generator": {"width": 4, "depth": 2}, "discriminator": {"width": 4, "layers": 1}}}
CONDITIONAL = ("cgan", "cvae", "cvaegan")   # class-conditional: labelled images (MNIST), not the ring


def case_config(case: str, steps: int = 12, **train) -> dict:
    """A seconds-long run of `case` on one thread (bit-for-bit equality needs the same reduction order),
    with checkpoints, log rows and samples at different intervals so that a kill falls between them."""
    t = {"batch_size": 20, "steps": steps, "log_every": 3, "sample_every": 6, "checkpoint_every": 4,
         "n_grid": 4, "progress": False, "tensorboard": False, "gif": False, "threads": 1, **train}
    extra = dict(CASES[case])
    if case == "ssgan":
        return {"model": extra, "data": {"name": "mnist", "limit": 200},
                "train": {**t, "eval_every": 4, "eval_metrics": []}}
    if case == "dualgan":   # two image domains (data/domains.py): U-Nets and patch critics
        return {"model": {"name": "dualgan", **extra, "n_critic": 2},
                "data": {"name": "pair", "pair": "mnist-invert", "limit": 100, "test_limit": 100}, "train": t}
    model = {"name": extra.pop("name", case), "z_dim": 4, "generator": {"name": "mlp", "hidden": [16]},
             "discriminator": {"name": "mlp", "hidden": [16]}, "n_critic": 2,
             "optim_d": {"schedule": "linear", "decay_steps": steps or 10_000}, **extra}
    if model["name"] in CONDITIONAL:
        if model["name"] != "cgan":
            model.setdefault("encoder", {"name": "mlp", "hidden": [16]})
        return {"model": model, "data": {"name": "mnist", "limit": 200}, "train": t}
    return {"model": model, "data": {"name": "ring", "n_train": 100, "n_test": 64}, "train": t}


def run_child(cfg: dict, run_dir: Path, *how: str, timeout: float = 120, wait: bool = True):
    """Start the child; with `wait`, return its CompletedProcess-like (returncode, stdout, stderr)."""
    cfg_file = Path(run_dir).parent / f"{Path(run_dir).name}.config.json"
    cfg_file.write_text(json.dumps(cfg))
    proc = subprocess.Popen([sys.executable, str(HERE / "faults_kit.py"), str(cfg_file), str(run_dir), *how],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def same_state(a, b, path: str = "") -> list[str]:
    """Where two checkpoints differ (all but the wall-clock `elapsed`), bit for bit."""
    import torch

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        ok = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype \
            and a.shape == b.shape and torch.equal(a, b)
        return [] if ok else [path]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path} keys {sorted(map(str, a.keys() ^ b.keys()))}"]
        return [d for k in a if k != "elapsed" for d in same_state(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{path} length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same_state(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:   # NaN == NaN here
        return []
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def log_rows(run_dir: Path) -> list[dict]:
    """losses.jsonl without its wall-clock fields."""
    rows = [json.loads(line) for line in (Path(run_dir) / "losses.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if "time" not in k and "seconds" not in k} for r in rows]


def compare_runs(ref: Path, other: Path) -> list[str]:
    """Differences between two finished runs: the final checkpoint and the logged rows."""
    from gankit.engine.checkpoint import load_checkpoint

    diffs = same_state(load_checkpoint(ref, quiet=True), load_checkpoint(other, quiet=True), "checkpoint")
    a, b = log_rows(ref), log_rows(other)
    if a != b:
        diffs.append(f"losses.jsonl: {len(a)} vs {len(b)} rows; first difference at row "
                     f"{next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))}")
    return diffs


# ----------------------------------------------------------------------------------- the child
def _kill() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _child(cfg_file: str, run_dir: str, mode: str, *args: str) -> None:
    sys.path.insert(0, str(HERE.parent / "src"))
    import gankit.engine.checkpoint as ckpt
    import gankit.engine.trainer as trainer
    from gankit.engine.batches import BatchStream

    cfg = json.loads(Path(cfg_file).read_text())
    if mode == "step":
        kill_at, calls = int(args[0]), [0]
        real_next = BatchStream.next

        def next_then_kill(self):
            if calls[0] == kill_at:
                _kill()
            calls[0] += 1
            return real_next(self)

        BatchStream.next = next_then_kill
    elif mode == "save":
        nth, point = int(args[0]), int(args[1])
        saves, ops, active = [0], [0], [False]
        real_save, real_replace, real_fsync = ckpt.save_checkpoint, os.replace, os.fsync

        def op(real):
            def wrapped(*a, **k):
                if active[0] and saves[0] == nth:
                    ops[0] += 1
                    if ops[0] == point:
                        _kill()
                    if point == 0 and real is real_fsync:   # the kernel had written half the file
                        tmp = Path(run_dir) / "checkpoint.pt.tmp"
                        os.truncate(tmp, tmp.stat().st_size // 2)
                        _kill()
                return real(*a, **k)
            return wrapped

        def counting_save(state, where):
            saves[0] += 1
            ops[0], active[0] = 0, True
            try:
                return real_save(state, where)
            finally:
                active[0] = False

        ckpt.os.replace, ckpt.os.fsync = op(real_replace), op(real_fsync)
        trainer.save_checkpoint = counting_save
    elif mode == "slow-save":
        import time

        real_save, saves = trainer.save_checkpoint, [0]

        def slow_save(state, where):
            saves[0] += 1
            if saves[0] > 1:
                time.sleep(120)
            return real_save(state, where)

        trainer.save_checkpoint = slow_save
    from gankit.cli import main
    from gankit.engine.checkpoint import has_checkpoint

    if has_checkpoint(run_dir):   # a run killed before: what its user would do next
        sys.exit(main(["train", "--resume", run_dir, "--no-progress"]))
    sys.exit(main(["train", cfg_file, "--out", run_dir, "--no-progress"]))


if __name__ == "__main__":
    _child(*sys.argv[1:])
