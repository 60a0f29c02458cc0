"""Distributed runs for tests/test_distributed.py.

As a script it is one rank of a parity run (started with RANK/WORLD_SIZE/... in its environment):

    python tests/ddp_kit.py CONFIG_JSON RUN_DIR OUT_PT
    python tests/ddp_kit.py every-model OUT_DIR      a 4-step run of every faults_kit case, OUT_DIR/CASE

trains CONFIG into RUN_DIR through the real Trainer, recording every latent the model draws for training,
and rank 0 saves {"latents": [rank 0's calls, rank 1's calls, ...], "nets": final state dicts} to OUT_PT.
`replay` then trains one process on the same global batches (the ranks' data slices and noise, concatenated
in rank order) so the test can compare the two.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def start_ranks(args: list[str], nproc: int = 2, timeout: float = 180) -> list[subprocess.CompletedProcess]:
    """Run `python tests/ddp_kit.py ARGS` as nproc ranks of one process group (the launcher's env)."""
    from torch.distributed import TCPStore

    store = TCPStore("127.0.0.1", 0, nproc + 1, is_master=True, wait_for_workers=False)
    procs = []
    for rank in range(nproc):
        env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nproc),
               "LOCAL_WORLD_SIZE": str(nproc), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(store.port),
               "TORCHELASTIC_USE_AGENT_STORE": "True"}
        procs.append(subprocess.Popen([sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    out = []
    for p in procs:
        so, se = p.communicate(timeout=timeout)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, so, se))
    return out


def replay(cfg_dict: dict, latents: list[list[dict]]) -> dict:
    """One process, the same global batches as the ranks: returns the final nets' state dicts."""
    from gankit.config import load_config
    from gankit.data import load_dataset
    from gankit.engine.batches import BatchStream
    from gankit.models import build_model

    cfg = load_config(cfg_dict)
    torch.set_num_threads(1)
    data = load_dataset(cfg.data)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg.model, data, "cpu", horizon=cfg.train.steps)
    stream = BatchStream(data.train, None, cfg.train.batch_size, cfg.train.seed)
    calls = iter(zip(*latents))   # the i-th draw of every rank

    def latent(n, generator=None):
        parts = next(calls)
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    model.latent = latent
    model.train()
    for step in range(cfg.train.steps):
        model.train_step(stream.next(), step)
    return {k: {n: t.clone() for n, t in v.state_dict().items()} for k, v in model.nets.items()}


def _rank(cfg_file: str, run_dir: str, out: str) -> None:
    from gankit.config import load_config
    from gankit.engine import distributed as ddp
    from gankit.engine.trainer import Trainer

    cfg = load_config(json.loads(Path(cfg_file).read_text()))
    trainer = Trainer(cfg, run_dir=run_dir)
    drawn: list[dict] = []
    draw = trainer.model.latent

    def recording(n, generator=None):
        lat = draw(n, generator)
        if generator is None:   # training draws; the fixed grid noise has its own generator
            drawn.append({k: v.clone() for k, v in lat.items()})
        return lat

    trainer.model.latent = recording
    trainer.fit(progress=False)
    every = ddp.gather_objects(drawn)
    if trainer.world.main:
        nets = {k: {n: t.clone() for n, t in v.state_dict().items()} for k, v in trainer.model.nets.items()}
        torch.save({"latents": every, "nets": nets}, out)
    ddp.teardown(sync=True)


def _every_model(out_dir: str) -> None:
    """Every case of faults_kit.CASES trained on this process group, one after another: a run each."""
    from faults_kit import CASES, case_config
    from gankit.config import load_config
    from gankit.engine import distributed as ddp
    from gankit.engine.trainer import Trainer

    for case in CASES:
        result = Trainer(load_config(case_config(case, steps=4)), run_dir=Path(out_dir) / case).fit(progress=False)
        print(json.dumps({"case": case, "step": result.step, "losses": result.losses}), flush=True)
    ddp.teardown(sync=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    if sys.argv[1] == "every-model":
        _every_model(sys.argv[2])
    else:
        _rank(*sys.argv[1:4])
