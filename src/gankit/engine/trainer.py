"""The training loop: drives any Model, writes everything a run leaves behind, resumes exactly.

A run directory holds: config.yaml, checkpoint.pt + checkpoint.prev.pt + checkpoint.json (the last two
checkpoints and their SHA-256: checkpoint.py), run.lock (one trainer at a time: lock.py), status.json,
losses.jsonl/.csv/.png, samples/step_*.png (fixed-noise grids), samples.png (the last grid), training.gif
and tb/.
"""
from __future__ import annotations

import json
import math
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch
import yaml

from ..config import Config, parse_duration
from ..options import to_dict
from ..data import load_dataset
from ..errors import NonFiniteLossError, RunError
from ..models import Model, build_model
from ..viz import make_gif, plot_losses
from ..viz.grid import save_samples_png
from .batches import BatchStream
from . import distributed as ddp
from .accel import autocast, compile_nets, resolve_precision, to_channels_last
from . import cores
from .checkpoint import FORMAT, StateMismatch, has_checkpoint, save_checkpoint, torch_error_summary
from .check import check_batch_norm, check_sizes
from .device import resolve_device
from .lock import RunLock
from .logging import NullLog, RunLog, read_rows
from .writes import write_error, write_text_atomic, writes


@dataclass
class RunResult:
    run_dir: Path
    step: int
    status: str                  # finished | interrupted
    losses: dict[str, float]     # the last logged values
    elapsed: float               # seconds of training, over all sessions of the run
    stopped_by: str | None = None  # the signal that interrupted it (SIGINT, SIGTERM)


class Trainer:
    def __init__(self, cfg: Config, run_dir: str | Path | None = None, recipe: str = "run",
                 state: dict | None = None):
        """`state`: a checkpoint of `run_dir` to continue from (see `resume`)."""
        self.cfg = cfg
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        # A launch of several processes (torchrun, --nproc): join it, one device per rank.
        self.world, device_name = ddp.setup(t)
        self.device = resolve_device(device_name)
        self.dtype = resolve_precision(t.precision, t.amp, self.device)
        # Denormal floats (e.g. Adam's second moments of rarely-used weights) make CPU arithmetic ~30x
        # slower; flushing them to zero changes no result that matters.
        torch.set_flush_denormal(True)
        self.data = load_dataset(cfg.data)
        check_sizes(cfg, self.data)
        self.stream = BatchStream(self.data.train.to(self.device),
                                  None if self.data.train_labels is None else self.data.train_labels.to(self.device),
                                  t.batch_size, t.seed, self.world.rank, self.world.size, t.channels_last)
        self.total_steps = self._planned_steps()
        self.time_budget = parse_duration(t.budget) if t.budget else None

        torch.manual_seed(t.seed)
        self.model: Model = build_model(cfg.model, self.data, self.device, horizon=self.total_steps)
        check_batch_norm(cfg, self.model, self.world.size)
        if t.channels_last:
            to_channels_last(self.model.nets, self.data.kind)
        if self.dtype == torch.float16:
            self.model.use_fp16_scaling()
        if t.compile:
            compile_nets(self.model.nets)
        if self.world.active:
            ddp.wrap_model(self.model, t.sync_batch_norm, self.device)
            if not self.world.main:   # rank 0 keeps the single-process random stream
                torch.manual_seed(ddp.rank_seed(t.seed, self.world.rank))
        # Scatter plots of 2-D toys need many points to show which modes are covered.
        n_fixed = t.n_grid if self.data.kind in ("image", "pair") else max(t.n_grid, 1000)
        self.fixed_latent = self.model.grid_latent(n_fixed, torch.Generator().manual_seed(t.seed + 1))
        self.step, self.elapsed = 0, 0.0
        self.scorer = None
        if t.eval_every:   # built now, so that a metric that does not apply fails before training
            from ..metrics.scorer import Scorer

            self.scorer = Scorer(self.data, cfg.data.name, t.eval_metrics, t.eval_n)

        if run_dir is None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            run_dir = Path(t.out_dir) / (t.run_name or f"{recipe}-{stamp}")
        if self.world.active:   # rank 0's name (another rank's clock may have passed a second)
            run_dir = ddp.gather_objects(str(run_dir))[0]
        self.run_dir = Path(run_dir)
        self._stop_reason: str | None = None
        self._window: list[tuple[int, dict[str, torch.Tensor]]] = []
        self.last_losses: dict[str, float] = {}
        self.lock = None
        if not self.world.main:   # rank 0 alone writes the run directory
            if state is not None:
                self._restore(state)
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"Cannot create the run directory {str(self.run_dir)!r}: {e.strerror}. Choose a "
                           "writable place with --out (or train.out_dir).") from None
        self.lock = RunLock(self.run_dir).acquire()   # before anything is written
        try:
            if state is not None:
                self._restore(state)
            elif has_checkpoint(self.run_dir):
                raise RunError(f"{str(self.run_dir)!r} already holds a run. Resume it with "
                               f"`gankit train --resume {self.run_dir}`, or choose another train.run_name.")
            with writes(self.run_dir, "write the run's config", self._status):
                (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
                (self.run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
        except BaseException:
            self.lock.release()
            raise

    # ------------------------------------------------------------------------------------- budget
    def _planned_steps(self) -> int | None:
        t = self.cfg.train
        plans = []
        if t.steps is not None:
            plans.append(t.steps)
        if t.epochs is not None:
            plans.append(max(1, math.ceil(t.epochs * self.stream.steps_per_epoch)))
        return min(plans) if plans else None

    def _done(self) -> bool:
        if self.total_steps is not None and self.step >= self.total_steps:
            return True
        return self.time_budget is not None and self.elapsed >= self.time_budget

    # ------------------------------------------------------------------------------------- state
    def state_dict(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        if self.world.active:   # every rank's stream: a resume on as many processes continues exactly
            rng["ranks"] = ddp.gather_objects(torch.get_rng_state())
        # Losses of steps not yet averaged into a log row (a stop between log intervals): the resumed run
        # logs the same rows as one that was never stopped.
        window = [(s, {k: float(v) for k, v in out.items()}) for s, out in self._window]
        return {"format": FORMAT, "step": self.step, "elapsed": self.elapsed, "config": to_dict(self.cfg),
                "model": self.model.state_dict(), "stream": self.stream.state_dict(), "rng": rng,
                "fixed_latent": {k: v.cpu() for k, v in self.fixed_latent.items()}, "window": window}

    def _restore(self, state: dict) -> None:
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        saved = state["config"]["model"].get("name") if isinstance(state.get("config"), dict) else None
        try:
            on_disk = yaml.safe_load((self.run_dir / "config.yaml").read_text())["model"]["name"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            on_disk = None   # no readable config.yaml: the checkpoint's own config is the record
        if on_disk is not None and saved is not None and on_disk != saved:
            raise RunError(f"The checkpoint in {str(self.run_dir)!r} is of a {saved!r} run, but the folder's "
                           f"config.yaml is of a {on_disk!r} run: the checkpoint was copied from another run. "
                           "Resume each run in its own folder.")
        try:
            self.model.load_state_dict(state["model"])
            self.stream.load_state_dict(state["stream"])
            self._window = [(int(s), {k: torch.tensor(v) for k, v in out.items()})
                            for s, out in state.get("window", [])]
            self.fixed_latent = {k: v.to(self.device) for k, v in state["fixed_latent"].items()}
            ranks = state["rng"].get("ranks")
            if self.world.active and ranks is not None and len(ranks) == self.world.size:
                torch.set_rng_state(ranks[self.world.rank])
            elif self.world.main:
                torch.set_rng_state(state["rng"]["torch"])
            else:   # saved by another number of processes: a fresh stream of this rank
                torch.manual_seed(ddp.rank_seed(self.cfg.train.seed + self.step, self.world.rank))
        except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as e:
            first = torch_error_summary(e)
            raise StateMismatch(f"The checkpoint in {str(self.run_dir)!r} does not fit the {self.cfg.model.name!r} "
                           f"model its config builds ({type(e).__name__}: {first[:300]}). It was written by "
                           "another version of gankit or for other networks; start a new run.", first) from None
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def save(self) -> None:
        state = self.state_dict()   # on every rank: it gathers their random streams
        if not self.world.main:
            return
        with writes(self.run_dir, f"write the checkpoint of step {self.step}", self._status):
            save_checkpoint(state, self.run_dir)

    def _status(self, status: str, message: str = "") -> None:
        if not self.world.main:
            return
        # pid and host let `gankit info` tell a live run from one that died without a word.
        info = {"status": status, "step": self.step, "elapsed": round(self.elapsed, 2),
                "planned_steps": self.total_steps, "message": message, "losses": self.last_losses,
                "updated": datetime.now().isoformat(timespec="seconds"), "pid": os.getpid(),
                "host": socket.gethostname()}
        write_text_atomic(self.run_dir / "status.json", json.dumps(info, indent=1))

    # ------------------------------------------------------------------------------------- logging
    def _flush(self, log: RunLog) -> None:
        """One host sync for the whole window: average each loss, stop on the first non-finite value."""
        if not self._window:
            return
        flat = torch.cat([torch.stack([v.float().reshape(()) for v in out.values()]) for _, out in self._window])
        if self.world.active:   # the global batch's losses: the same values, hence decisions, on every rank
            flat = ddp.mean_over_ranks(flat)
        values = flat.tolist()
        sums: dict[str, list[float]] = {}
        i = 0
        for step, out in self._window:
            for name in out:
                v = values[i]
                i += 1
                if not math.isfinite(v) and self.dtype == torch.float16:
                    continue   # an fp16 overflow: its GradScaler skipped the step and lowered the scale
                if not math.isfinite(v):
                    self._window.clear()
                    raise NonFiniteLossError(
                        f"Loss {name!r} became {v} at step {step + 1}. Training stopped; the last good "
                        f"checkpoint (written before this step) is kept in {self.run_dir}. Common fixes: "
                        "lower the learning rates (model.optim_d.lr / model.optim_g.lr), check the data "
                        "range, or raise the gradient-penalty weight; then start again or resume with "
                        f"`gankit train --resume {self.run_dir}`.")
                sums.setdefault(name, []).append(v)
        if len(sums) < len(self._window[-1][1]):   # fp16: a loss with no finite value in the whole window
            bad = next(k for k in self._window[-1][1] if k not in sums)
            self._window.clear()
            raise NonFiniteLossError(f"Loss {bad!r} was non-finite at every step up to {self.step} in fp16 "
                                     f"(not an overflow its GradScaler recovers from); try precision: bf16. The "
                                     f"last good checkpoint is kept in {self.run_dir}.")
        self._window.clear()
        self.last_losses = {k: sum(v) / len(v) for k, v in sums.items()}
        log.write(self.step, self.last_losses, self.elapsed)

    def _samples(self, log: RunLog) -> None:
        if not self.world.main:
            return
        with ddp.unwrapped(self.model):
            x = self.model.sample(**self.fixed_latent)
        real = self.data.train[:2000] if self.data.kind == "points" else None
        path = self.run_dir / "samples" / f"step_{self.step:07d}.png"
        pic = save_samples_png(x, path, real, title=f"step {self.step}")
        (self.run_dir / "samples.png").write_bytes(path.read_bytes())
        log.image("samples", pic, self.step)

    def _evaluate(self, log: RunLog) -> None:
        # A generator of its own: evaluating must not move the training RNG (exact resume).
        n, w = self.cfg.train.eval_n, self.world
        g = torch.Generator().manual_seed(self.cfg.train.seed + 2 + (w.rank and ddp.rank_seed(0, w.rank)))
        with ddp.unwrapped(self.model):   # each rank generates its share; rank 0 scores them all
            x = self.model.sample(-(-n // w.size), generator=g) if self.scorer.metrics else None
            if w.active and x is not None:
                x = ddp.gather_rows(x, n)
            if not w.main:
                return
            scores = self.scorer(x) if x is not None else {}
            scores.update(self.model.extra_metrics(self.data, self.scorer.extractor))
        log.write(self.step, {f"eval_{k}": float(v) for k, v in scores.items()}, self.elapsed)

    # ------------------------------------------------------------------------------------- loop
    def _on_signal(self, signum, frame) -> None:
        self._stop_reason = signal.Signals(signum).name
        signal.signal(signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL)

    def fit(self, progress: bool | None = None) -> RunResult:
        """Train to the planned steps or budget. SIGINT/SIGTERM: finish the step, checkpoint, return with
        status 'interrupted'; a second signal stops at once (the last checkpoint stays)."""
        if self.lock is not None:
            self.lock.acquire()
        try:
            return self._fit(progress)
        finally:
            if self.lock is not None:
                self.lock.release()

    def _fit(self, progress: bool | None) -> RunResult:
        t = self.cfg.train
        resumed = self.step > 0
        with writes(self.run_dir, "open the run's log", self._status):
            log = (RunLog(self.run_dir, t.tensorboard, resume_step=self.step)   # 0: rows of a killed start go
                   if self.world.main else NullLog())
            self._status("running")
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        bar = None
        if (t.progress if progress is None else progress) and self.world.main:
            from tqdm import tqdm

            # In a log file (no terminal) a redraw is a new line: redraw rarely there.
            bar = tqdm(total=self.total_steps, initial=self.step, unit="step", dynamic_ncols=True,
                       desc=self.run_dir.name[:28], mininterval=0.2 if sys.stderr.isatty() else 15)
            if self.device.type == "cpu" and sys.stderr.isatty():   # a user watching: will other work slow it?
                n = cores.usable_cores()
                note = cores.contention_note(torch.get_num_threads(), n, cores.busy_cores(n))
                if note:
                    bar.write(note, file=sys.stderr)
        status = "finished"
        try:
            if not resumed:
                self._samples(log)
            self.model.train()
            start = time.perf_counter() - self.elapsed
            stop, last = self._flags()
            while not last:
                if stop:
                    status = "interrupted"
                    break
                batch = self.stream.next()
                with autocast(self.device, self.dtype):
                    out = self.model.train_step(batch, self.step)
                self._window.append((self.step, out))
                self.step += 1
                self.elapsed = time.perf_counter() - start
                stop, last = self._flags()
                ckpt_due = self.step % t.checkpoint_every == 0 or last
                if self.step % t.log_every == 0 or ckpt_due or self.step % t.sample_every == 0:
                    self._flush(log)   # losses are checked before any sample or checkpoint is written
                    if bar is not None:
                        bar.set_postfix(self._postfix(), refresh=False)
                if self.step % t.sample_every == 0 or last:
                    self._samples(log)
                if self.scorer is not None and (self.step % t.eval_every == 0 or last):
                    self._evaluate(log)
                if ckpt_due:
                    self.save()
                    # So that a run killed outright (SIGKILL, power loss) still says how far it got.
                    self._status("running")
                if bar is not None:
                    bar.update(1)
            if status == "interrupted":
                self.save()
        except NonFiniteLossError as e:
            self._status("failed", str(e))
            raise
        except OSError as e:   # a sample, log or status write (a checkpoint write is reported by save())
            raise write_error(self.run_dir, "write the run's files", e, self._status) from None
        except KeyboardInterrupt:   # a second Ctrl-C: no time to save, the last checkpoint stays
            self._status("interrupted", f"stopped hard at step {self.step}; the last checkpoint is kept: "
                                        f"gankit train --resume {self.run_dir}")
            raise
        finally:
            for sig, h in handlers.items():
                signal.signal(sig, h)
            if bar is not None:
                bar.close()
            try:
                log.write_csv()
                log.close()
            except OSError:
                pass   # the error that brought us here says what is wrong; losses.jsonl has the rows
        if self.world.main:
            with writes(self.run_dir, "write the run's figures", self._status), ddp.unwrapped(self.model):
                self._finish(status)
        return RunResult(self.run_dir, self.step, status, self.last_losses, self.elapsed, self._stop_reason)

    def _flags(self) -> tuple[bool, bool]:
        """(stop, done): a stop signal, and the planned steps or budget reached. In a distributed run one
        small collective a step makes both the same on every rank (a signal or a clock of one ends all)."""
        if not self.world.active:
            return bool(self._stop_reason), self._done()
        sig = signal.Signals[self._stop_reason].value if self._stop_reason else 0
        t = torch.tensor([float(sig), float(self._done())])
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        if t[0] and not self._stop_reason:
            self._stop_reason = signal.Signals(int(t[0])).name
        return bool(t[0]), bool(t[1])

    def _postfix(self) -> dict[str, str]:
        post = {k: f"{v:.3g}" for k, v in list(self.last_losses.items())[:4]}
        if self.time_budget is not None:
            post["left"] = f"{max(0.0, self.time_budget - self.elapsed):.0f}s"
        return post

    def _finish(self, status: str) -> None:
        rows = read_rows(self.run_dir)
        plot_losses(rows, self.run_dir / "losses.png")
        self.model.figures(self.run_dir, self.data, rows)
        if self.cfg.train.gif:
            make_gif(list((self.run_dir / "samples").glob("step_*.png")), self.run_dir / "training.gif")
        msg = "" if status == "finished" else (f"stopped by {self._stop_reason} at step {self.step}; resume "
                                               f"with `gankit train --resume {self.run_dir}`")
        self._status(status, msg)
