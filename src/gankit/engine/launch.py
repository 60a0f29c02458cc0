"""`gankit train ... --nproc N`: start N processes of the same command on this machine, as
`torchrun --standalone --nproc_per_node N -m gankit train ...` would, without torchrun's own tracebacks.
Several machines: run torchrun on each with its rendezvous flags (--nnodes, --node_rank, --rdzv_endpoint).

Ctrl-C / SIGTERM reach every rank (each finishes its step, rank 0 checkpoints); when one rank fails, the
others are stopped and the failing rank's error is what the user sees.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import torch

from ..errors import ConfigError
from .cores import usable_cores
from .distributed import check_settings, uses_cuda


def check_nproc(nproc: int, train) -> None:
    """Refuse a process count the machine cannot hold, or settings that cannot run distributed (`train`: the
    run's TrainConfig), before anything starts."""
    if nproc < 1:
        raise ConfigError(f"--nproc must be a positive number of processes, got {nproc}.")
    if uses_cuda(train.device):
        n = torch.cuda.device_count()
        if nproc > n:
            raise ConfigError(f"--nproc {nproc} but PyTorch sees {n} CUDA device(s): one process per GPU, so "
                              f"use --nproc {max(n, 1)} or fewer.")
    elif nproc > usable_cores():
        raise ConfigError(f"--nproc {nproc} is more processes than this machine's {usable_cores()} usable CPU "
                          f"cores: they would only slow each other down. Use --nproc {usable_cores()} or fewer.")
    check_settings(train, nproc, f"--nproc {nproc}")


def launch(argv: list[str], nproc: int) -> int:
    """Run `python -m gankit ARGV` as ranks 0..nproc-1 of one process group; returns the exit code."""
    # The rendezvous store lives here, as torchrun's agent keeps it: a rank that hosted it would take it
    # down at exit while the others may still talk to it (seen as aborts at the end of a run).
    from torch.distributed import TCPStore

    store = TCPStore("127.0.0.1", 0, nproc + 1, is_master=True, wait_for_workers=False)
    port = str(store.port)
    procs, logs = [], []
    for rank in range(nproc):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nproc),
               "LOCAL_WORLD_SIZE": str(nproc), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "TORCHELASTIC_USE_AGENT_STORE": "True"}
        # Rank 0 speaks to the user; the others' output is kept and shown only if one of them fails first.
        log = None if rank == 0 else tempfile.TemporaryFile()
        logs.append(log)
        procs.append(subprocess.Popen([sys.executable, "-m", "gankit", *argv], env=env,
                                      stdout=subprocess.DEVNULL if log else None, stderr=log))

    def forward(signum, frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)
    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            codes = [p.poll() for p in procs]
            # 130/143: a rank that stopped on the forwarded signal (rank 0 may still be checkpointing)
            failed = [i for i, c in enumerate(codes) if c not in (None, 0, 130, 143)]
            if failed or all(c is not None for c in codes):
                break
            time.sleep(0.2)
        if failed:
            first = failed[0]
            for p in procs:   # the survivors wait on a collective the failed rank never joins
                if p.poll() is None:
                    p.terminate()
            deadline = time.monotonic() + 10   # a rank blocked in a collective cannot act on SIGTERM
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
            if first != 0 and logs[first] is not None:
                logs[first].seek(0)
                sys.stderr.write(f"gankit train: rank {first} of {nproc} failed:\n")
                sys.stderr.write(logs[first].read().decode(errors="replace"))
            return procs[first].returncode if procs[first].returncode > 0 else 128 - procs[first].returncode
        return max(codes)   # 0, or 130/143 for a run stopped by a signal and checkpointed
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        for log in logs:
            if log is not None:
                log.close()
