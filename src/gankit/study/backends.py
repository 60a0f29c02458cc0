"""Where a study's jobs run: local processes (`--workers N`) or a Ray cluster (`--backend ray`).

Both run the same `worker.execute(job)` and report each outcome through `on_done(job, outcome)` as it
arrives. Ctrl-C stops cleanly: local workers get one SIGTERM, so each writes a checkpoint and exits (the
trainer's preemption path), and every run stays resumable by invoking the same compare again.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from ..errors import GankitError

OnDone = Callable[[dict, dict], None]


def threads_per_worker(workers: int, threads: int | None = None) -> int:
    """torch threads of each worker, so N workers do not oversubscribe the machine's cores."""
    if threads is not None:
        return threads
    return max(1, (os.cpu_count() or 1) // max(1, workers))


# ----------------------------------------------------------------------------------------- local
def run_local(jobs: list[dict], workers: int, on_done: OnDone, on_start: Callable[[dict], None] = lambda j: None) -> bool:
    """Run jobs in up to `workers` processes. Returns False when interrupted (Ctrl-C / SIGTERM)."""
    pending, live = list(jobs), {}
    interrupted = False
    old_term = signal.getsignal(signal.SIGTERM)
    if _main_thread():   # a scheduler's SIGTERM to compare itself stops it as Ctrl-C does
        signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while pending or live:
            while pending and len(live) < workers and not interrupted:
                job = pending.pop(0)
                on_start(job)
                live[_spawn(job)] = job
            for proc in [p for p in live if p.poll() is not None]:
                job = live.pop(proc)
                on_done(job, _result(proc, job))
            if not pending and not live:
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        interrupted = True
        for proc in live:            # one SIGTERM each: the trainer checkpoints and exits
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, job in list(live.items()):
            try:
                proc.wait()
            except KeyboardInterrupt:    # a second Ctrl-C: stop at once, the last checkpoints stay
                for p in live:
                    p.kill()
                break
            on_done(job, _result(proc, job))
    finally:
        if _main_thread():
            signal.signal(signal.SIGTERM, old_term)
    return not interrupted


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _spawn(job: dict) -> subprocess.Popen:
    d = Path(job["run_dir"])
    job_file = d / "study-job.json"
    job_file.write_text(json.dumps(job))
    env = dict(os.environ)
    n = str(job.get("threads") or 1)
    env.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, PYTHONUNBUFFERED="1")
    log = open(d / "study.log", "a")
    # A session of its own: a terminal's Ctrl-C reaches compare only, which then stops each worker once.
    proc = subprocess.Popen([sys.executable, "-m", "gankit.study.worker", str(job_file)], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    log.close()
    return proc


def _result(proc: subprocess.Popen, job: dict) -> dict:
    from .worker import outcome_of

    out = outcome_of(Path(job["run_dir"]))
    if out.get("pid") == proc.pid:
        return out
    # The worker died before it could write its outcome (killed, out of memory, a crash in native code).
    how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
    return _killed(job, f"the worker process ended with {how} before reporting (see "
                        f"{Path(job['run_dir']) / 'study.log'}); the same compare command resumes it from its "
                        "last checkpoint", pid=proc.pid)


def _killed(job: dict, error: str, **extra) -> dict:
    """The outcome of a job whose worker died, recorded as such in the run, so that the next invocation
    resumes it from its last checkpoint rather than report it as the run's own failure."""
    from .plan import write_run_json

    out = {"status": "failed", "killed": True, "train_s": 0.0, "eval_s": 0.0, **extra, "error": error}
    if Path(job["run_dir"]).exists():
        write_run_json(Path(job["run_dir"]), {"outcome": out})
    return out


# ----------------------------------------------------------------------------------------- ray
def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a HOST:PORT that nothing answers on, in seconds: Ray itself would retry for minutes."""
    import socket

    if not address or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise GankitError(f"--ray-address must be HOST:PORT of a Ray head node (e.g. 10.0.0.5:6379), got {address!r}.")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise GankitError(f"Cannot reach the Ray cluster at {address}: {e.strerror or e}. Start one with `ray start "
                          "--head` there, or leave out --ray-address to run on a local Ray instance.") from None


def run_ray(jobs: list[dict], workers: int, on_done: OnDone, address: str | None = None,
            on_start: Callable[[dict], None] = lambda j: None) -> bool:
    """Run jobs as Ray tasks on the cluster at `address` (or a local instance started for the study).
    Every node needs gankit installed and the study directory on a shared filesystem."""
    try:
        import ray
    except ImportError:
        raise GankitError("--backend ray needs Ray: pip install 'ray>=2.9' (make setup installs it).") from None
    from .worker import execute

    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     **({} if address else {"num_cpus": os.cpu_count() or 1}))
        except ConnectionError as e:
            raise GankitError(f"Cannot reach the Ray cluster at {address!r}: {e}. Start it with `ray start "
                              "--head` or give --ray-address of a running one.") from None
    task = ray.remote(execute)
    pending, live = list(jobs), {}
    interrupted = False
    try:
        while pending or live:
            while pending and len(live) < workers:
                job = pending.pop(0)
                on_start(job)
                live[task.options(num_cpus=job.get("threads") or 1).remote(job)] = job
            ready, _ = ray.wait(list(live), num_returns=1, timeout=1.0)
            for ref in ready:
                job = live.pop(ref)
                try:
                    on_done(job, ray.get(ref))
                except ray.exceptions.RayError as e:   # the worker died or the task was cancelled
                    on_done(job, _killed(job, f"Ray: {type(e).__name__}: {str(e).strip().splitlines()[0]}"))
    except KeyboardInterrupt:
        interrupted = True
        for ref in live:           # KeyboardInterrupt inside each task: its last checkpoint stays
            ray.cancel(ref)
        for ref, job in live.items():
            on_done(job, {"status": "interrupted", "error": "interrupted; the same compare command resumes it",
                          "train_s": 0.0, "eval_s": 0.0})
    finally:
        if started:
            ray.shutdown()
    return not interrupted
