"""Data-parallel training on torch.distributed: several processes, one run.

Launched by torchrun (`torchrun --nproc_per_node 2 -m gankit train RECIPE`, multi-node through its
rendezvous flags) or by `gankit train RECIPE --nproc 2` (launch.py). The contract, the pitfalls of GAN
training under DDP included:
- train.batch_size is the GLOBAL batch: each of the W ranks trains on batch_size / W samples, so a run's
  optimisation (learning rates, steps per epoch) is the same whatever W is. It must divide evenly.
- Every epoch's order is the same permutation on every rank (seeded by the run seed) and each global batch
  is split into W disjoint rank slices: the DistributedSampler contract with drop_last.
- Networks are built with the run seed on every rank (and DDP broadcasts rank 0's weights besides); after
  that each rank draws its noise, dropout masks and penalty points from its own seed (`rank_seed`).
- Each trained network gets its own DistributedDataParallel; a net a step freezes (D during G's update)
  runs under no_sync, so DDP never waits for gradients it will not get. Gradient penalties differentiate
  D's scores with autograd.grad (inputs only, no parameter hooks fire) before the one backward that DDP
  reduces. BatchNorm buffers follow DDP's default: rank 0's running statistics are broadcast at every
  forward, which is safe across the separate D(real)/D(fake) forwards; batch statistics stay per rank
  unless train.sync_batch_norm (SyncBatchNorm, GPU only).
- Statistics of a batch that a loss takes (feature matching's mean features, minibatch discrimination,
  DRAGAN's std of the batch) are those of each rank's slice, averaged through the gradients: a
  stand-in for, not equal to, the global batch's.
- Rank 0 alone writes the run directory; logged losses are averaged over ranks; evaluations gather
  samples generated on every rank; a checkpoint holds every rank's RNG state, so a resume with the same
  number of processes continues exactly, and a single process can resume it too.
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    """The process's place in a torchrun-style launch (WORLD_SIZE, RANK, LOCAL_RANK); one process otherwise."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
        local_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
    except ValueError:
        raise ConfigError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (they are set by torchrun or "
                          "`gankit train --nproc N`).") from None
    if size < 1 or not 0 <= rank < size:
        raise ConfigError(f"RANK = {rank} is outside WORLD_SIZE = {size}.")
    return World(rank, size, local, local_size)


def rank_seed(seed: int, rank: int) -> int:
    """Each rank's seed for noise and other randomness after the networks are built; rank 0 keeps the seed."""
    return seed if rank == 0 else (seed + 1_000_003 * rank) % (1 << 62)


def uses_cuda(device_name: str) -> bool:
    return device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())


def check_settings(train, size: int, over: str) -> None:
    """What a distributed run of `size` processes cannot do with these train settings (`over`: how the
    message names the processes), refused before anything starts: by the --nproc launcher and by each rank."""
    cuda = uses_cuda(train.device)
    if train.batch_size % size:
        raise ConfigError(f"train.batch_size = {train.batch_size} is the global batch and must divide evenly "
                          f"over {over}; use a multiple of {size} (e.g. {(train.batch_size // size + 1) * size}).")
    if train.dist_backend == "nccl" and not cuda:
        raise ConfigError("train.dist_backend = 'nccl' needs CUDA devices and PyTorch sees none here (or "
                          "train.device is cpu); use dist_backend: gloo (or auto) on CPUs.")
    if train.sync_batch_norm and not cuda:
        raise ConfigError("train.sync_batch_norm needs CUDA: PyTorch's SyncBatchNorm runs on GPUs only. On "
                          "CPUs each rank normalises its own shard (train.sync_batch_norm: false).")


def setup(train) -> tuple[World, str]:
    """Join the process group of this launch (if any), `train` being the run's TrainConfig. Returns the
    world and the device this rank uses."""
    world = world_from_env()
    device_name, threads = train.device, train.threads
    if not world.active:
        return world, device_name
    check_settings(train, world.size, f"the {world.size} processes")
    cuda = uses_cuda(device_name)
    backend = train.dist_backend if train.dist_backend != "auto" else ("nccl" if cuda else "gloo")
    if cuda:
        if torch.cuda.device_count() < world.local_size:
            raise ConfigError(f"{world.local_size} processes on this node but only {torch.cuda.device_count()} "
                              "CUDA devices: use at most one process per GPU.")
        torch.cuda.set_device(world.local_rank)
        device_name = f"cuda:{world.local_rank}"
    elif threads is None:   # the node's cores shared out, not every process using all of them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world.local_size))
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(minutes=10))
    return world, device_name


def teardown(sync: bool = False) -> bool:
    """Leave the process group; True if this process was in one. `sync` (after a run that ended well on
    every rank): wait at a barrier first, so that no rank closes its connections while another is still
    finishing (rank 0 writes the figures after the last collective). A rank was seen to abort at exit now
    and then under load ("terminate called without an active exception", 1 in 10 runs without the barrier,
    still rarely with it): the DDP wrappers of a finished run sit in reference cycles that keep Gloo's process
    group and its threads alive until interpreter finalization, where destroying them can abort (pytorch PR
    179291 describes the same crash). So the cycles are collected here, while the interpreter is whole, and
    a finished rank leaves with os._exit (`finish`)."""
    if not dist.is_initialized():
        return False
    gc.collect()
    if sync:
        dist.barrier()
    dist.destroy_process_group()
    return True


def finish(code: int) -> None:
    """The end of a CLI run that went well: a process of a distributed run leaves the group with the others
    and exits with `code` at once, skipping the interpreter's finalization (see `teardown`); its files are
    closed by then and its output is flushed here. One process: nothing happens."""
    if teardown(sync=True):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class DDPNet(DistributedDataParallel):
    """DDP that keeps its net's face: attributes and methods (features, head, feature_dim) and state dicts
    without the 'module.' prefix, so models and checkpoints are the same in one process and in many.
    Calls other than forward() (D.features) run the net itself; its gradients are still reduced as long
    as the step called forward() once with gradients on, which every model's update of that net does."""

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "module":
                raise
            return getattr(self.module, name)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return self.module.load_state_dict(state_dict, strict=strict, assign=assign)


def wrap_model(model, sync_batch_norm: bool, device: torch.device) -> None:
    """Each trained net of `model` in its own DDP (see the module's notes); `ddp_manual` nets by hand.
    SyncBatchNorm (GPU only) was checked by `setup`."""
    ids = [device.index] if device.type == "cuda" else None
    for name in list(model.optimizers):
        if name in model.ddp_manual or name not in model.nets:
            continue
        net = model.nets[name]
        if sync_batch_norm:
            net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
        model.nets[name] = DDPNet(net, device_ids=ids, find_unused_parameters=name in model.ddp_find_unused)
    manual = [n for n in model.ddp_manual if n in model.nets]
    if manual:
        def average(names: tuple[str, ...]) -> None:
            grads = [p.grad for n in names if n in manual for p in model.nets[n].parameters() if p.grad is not None]
            if grads:
                flat = torch.cat([g.reshape(-1) for g in grads])
                dist.all_reduce(flat)
                flat /= dist.get_world_size()
                offset = 0
                for g in grads:
                    g.copy_(flat[offset:offset + g.numel()].view_as(g))
                    offset += g.numel()
        model.grad_sync = average


def mean_over_ranks(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    dist.all_reduce(t)
    return t / dist.get_world_size()


def gather_rows(x: torch.Tensor, n: int) -> torch.Tensor:
    """Every rank's rows (the same count on each) concatenated on every rank, cut to the first n."""
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)[:n]


def gather_objects(obj) -> list:
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


@contextlib.contextmanager
def unwrapped(model):
    """The model with its bare nets, for what rank 0 does alone (sample grids, its own metrics, figures):
    a DDP forward may start a collective (a buffer broadcast) that the other ranks would never join."""
    saved = dict(model.nets)
    for k, v in saved.items():
        if isinstance(v, DistributedDataParallel):
            model.nets[k] = v.module
    try:
        yield model
    finally:
        model.nets.update(saved)
