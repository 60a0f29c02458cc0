"""Distributed data-parallel training (engine/distributed.py, engine/launch.py) on 2 gloo processes."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from ddp_kit import replay, start_ranks
from faults_kit import CASES, case_config
from gankit.engine.batches import BatchStream
from gankit.engine.checkpoint import load_checkpoint
from gankit.engine.distributed import rank_seed

TESTS = Path(__file__).resolve().parent


def gankit(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True, text=True,
                          timeout=timeout)


def write_config(tmp_path: Path, cfg: dict, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_rank_slices_are_the_global_batch_and_disjoint():
    x = torch.arange(100).float()[:, None]
    whole = BatchStream(x, None, 20, seed=3)
    ranks = [BatchStream(x, None, 20, seed=3, rank=r, world=2) for r in range(2)]
    assert ranks[0].steps_per_epoch == whole.steps_per_epoch == 5
    for _ in range(12):   # over two epoch boundaries
        full = whole.next().x
        a, b = (s.next().x for s in ranks)
        assert torch.equal(torch.cat([a, b]), full) and a.shape[0] == b.shape[0] == 10
    assert rank_seed(7, 0) == 7 and len({rank_seed(7, r) for r in range(8)}) == 8


def test_two_processes_match_one_on_the_same_global_batches(tmp_path):
    """The DDP parity contract: 2 ranks (data slices + their own noise) = 1 process on the concatenation."""
    cfg = case_config("lsgan", steps=6, batch_size=16, checkpoint_every=100)   # no batch statistics
    cfg["model"]["n_critic"] = 1
    cfg_file = tmp_path / "cfg.json"
    cfg_file.write_text(json.dumps(cfg))
    out = tmp_path / "ranks.pt"
    done = start_ranks([str(cfg_file), str(tmp_path / "run"), str(out)])
    assert all(r.returncode == 0 for r in done), [r.stderr[-2000:] for r in done]
    saved = torch.load(out, weights_only=False)
    r0, r1 = saved["latents"]
    assert len(r0) == len(r1) == 12 and r0[0]["z"].shape[0] == 8   # D and G draws, 8 of 16 each
    assert not torch.equal(r0[0]["z"], r1[0]["z"])                    # every rank its own noise
    single = replay(cfg, saved["latents"])
    for net, params in single.items():
        for name, value in params.items():
            assert torch.allclose(saved["nets"][net][name], value, atol=1e-6, rtol=1e-5), (net, name)
    moved = single["G"]["head.weight"] if "head.weight" in single["G"] else next(iter(single["G"].values()))
    assert moved.abs().sum() > 0


def test_batch_norm_and_penalty_runs_resume_in_one_process(tmp_path):
    """A BatchNorm model (DCGAN nets: separate D(real)/D(fake) forwards) and a gradient-penalty model
    (double backward) train on 2 ranks with finite losses; a single process resumes their checkpoints."""
    bn = {"model": {"name": "gan", "z_dim": 8, "generator": {"name": "dcgan", "width": 8},
                    "discriminator": {"name": "dcgan", "width": 8}, "g_ema": 0.9},   # + standing BN stats
          "data": {"name": "mnist", "limit": 256},
          "train": {"batch_size": 32, "steps": 6, "log_every": 2, "sample_every": 3, "checkpoint_every": 3,
                    "n_grid": 4, "progress": False, "tensorboard": False, "gif": False, "threads": 1}}
    gp = case_config("wgan-gp", steps=8, eval_every=4, eval_metrics=["modes"], eval_n=250)
    for name, cfg in (("bn", bn), ("gp", gp)):
        run = tmp_path / name
        r = gankit("train", str(write_config(tmp_path, cfg, f"{name}.yaml")), "--nproc", "2", "--out", str(run))
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.count("finished:") == 1   # rank 0 alone reports
        rows = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
        assert rows and all(isinstance(v, float) for row in rows for k, v in row.items() if k.startswith("loss"))
        if name == "gp":   # samples generated on both ranks (125 each), scored on rank 0
            evals = [row for row in rows if any(k.startswith("eval_") for k in row)]
            assert [row["step"] for row in evals] == [4, 8]
        state = load_checkpoint(run)
        assert state["step"] == cfg["train"]["steps"] and len(state["rng"]["ranks"]) == 2
        r = gankit("train", "--resume", str(run), f"train.steps={cfg['train']['steps'] + 4}")
        assert r.returncode == 0, r.stderr[-3000:]
        assert load_checkpoint(run)["step"] == cfg["train"]["steps"] + 4


def test_every_model_trains_on_two_processes(tmp_path):
    """Models with extra heads (InfoGAN's Q, DMWGAN's generator bank and prior, SSGAN's averaged D) too:
    every registered model's case, one after another in one 2-rank process group."""
    done = start_ranks(["every-model", str(tmp_path)], timeout=300)
    assert all(r.returncode == 0 for r in done), [r.stderr[-3000:] for r in done]
    reports = [json.loads(line) for line in done[0].stdout.splitlines() if line.startswith("{")]
    assert [r["case"] for r in reports] == list(CASES)
    for r in reports:
        assert r["step"] == 4 and all(math.isfinite(v) for v in r["losses"].values()), r
        assert load_checkpoint(tmp_path / r["case"])["step"] == 4


def test_a_distributed_run_stops_on_sigterm_and_resumes_on_two_processes(tmp_path):
    cfg = case_config("gan", steps=100_000, log_every=50, checkpoint_every=100_000)
    run = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "gankit", "train", str(write_config(tmp_path, cfg)), "--nproc",
                          "2", "--out", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "losses.jsonl").exists() or not (run / "losses.jsonl").read_text():
        assert time.monotonic() < deadline and p.poll() is None, p.communicate()
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 143, err[-3000:]
    assert "gankit train --resume" in out
    stopped = load_checkpoint(run)["step"]
    assert stopped > 0 and json.loads((run / "status.json").read_text())["status"] == "interrupted"
    r = gankit("train", "--resume", str(run), f"train.steps={stopped + 6}", "--nproc", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    state = load_checkpoint(run)
    assert state["step"] == stopped + 6 and len(state["rng"]["ranks"]) == 2


@pytest.mark.parametrize("args, message", [
    (["--nproc", str(os.cpu_count() + 1)], "more processes than this machine"),
    (["--nproc", "0"], "positive number of processes"),
    (["--nproc", "2", "train.batch_size=21"], "must divide evenly over --nproc 2"),
    (["--nproc", "2", "train.dist_backend=nccl", "--device", "cpu"], "needs CUDA devices"),
    (["--nproc", "2", "train.sync_batch_norm=true", "--device", "cpu"], "SyncBatchNorm runs on GPUs only"),
])
def test_bad_distributed_settings_are_refused_before_training(tmp_path, args, message):
    run = tmp_path / "run"
    r = gankit("train", str(write_config(tmp_path, case_config("gan", steps=2))), "--out", str(run), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (run / "checkpoint.pt").exists()


def test_torchrun_launches_gankit_as_a_module(tmp_path):
    """`torchrun --standalone --nproc_per_node 2 -m gankit train CONFIG` (its own rendezvous, not --nproc)."""
    run = tmp_path / "run"
    cfg = write_config(tmp_path, case_config("gan", steps=4))
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "gankit", "train", str(cfg), "--out", str(run)], capture_output=True, text=True,
                       timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("finished:") == 1
    state = load_checkpoint(run)
    assert state["step"] == 4 and len(state["rng"]["ranks"]) == 2
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        "-m", "gankit", "train", "--branch", str(run), "--out", str(tmp_path / "b")],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode != 0 and "A branch is made by one process" in r.stderr
    assert not (tmp_path / "b").exists()


def test_a_rank_that_fails_stops_the_others_with_its_message(tmp_path):
    """Rank 0 refuses a folder that holds a run; rank 1, waiting in a collective, is stopped; the user sees
    rank 0's one-paragraph error and its exit code, and the old run is untouched."""
    cfg = write_config(tmp_path, case_config("gan", steps=4))
    run = tmp_path / "run"
    assert gankit("train", str(cfg), "--nproc", "2", "--out", str(run)).returncode == 0
    before = (run / "checkpoint.pt").read_bytes()
    t0 = time.monotonic()
    r = gankit("train", str(cfg), "--nproc", "2", "--out", str(run))
    assert r.returncode == 2 and "already holds a run" in r.stderr and "Traceback" not in r.stderr
    assert time.monotonic() - t0 < 60
    assert (run / "checkpoint.pt").read_bytes() == before


FINISH = """
import atexit, os, sys
from datetime import timedelta
import torch.distributed as dist
from gankit.engine.distributed import finish
atexit.register(lambda: print("finalised", flush=True))
if len(sys.argv) > 2:
    dist.init_process_group("gloo", init_method="file://" + sys.argv[2], rank=0, world_size=1,
                            timeout=timedelta(seconds=60))
sys.stdout.write("work done")   # unflushed: finish() must flush it
finish(int(sys.argv[1]))
print(" and returned", dist.is_initialized())
"""


@pytest.mark.parametrize("grouped", [True, False])
def test_a_finished_rank_leaves_its_group_and_exits_without_finalisation(tmp_path, grouped):
    """The end of a good distributed run (cli.cmd_train -> distributed.finish): the process group is destroyed,
    output flushed and the process exits with the run's code before interpreter finalisation (where Gloo's
    threads were seen to abort it now and then); a single process just returns."""
    args = [sys.executable, "-c", FINISH, "7"] + ([str(tmp_path / "store")] if grouped else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if grouped:
        assert (r.returncode, r.stdout) == (7, "work done"), r.stderr
    else:
        assert (r.returncode, r.stdout) == (0, "work done and returned False\nfinalised\n"), r.stderr
