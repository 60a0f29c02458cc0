import json
import os
import subprocess
import sys

import pytest
import torch

from gankit.config import load_config
from gankit.engine.checkpoint import load_checkpoint
from gankit.engine.api import branch, resume, train
from gankit.engine.trainer import Trainer
from gankit.errors import ConfigError, NonFiniteLossError, RunError
from gankit.models.gan import GAN
from gankit.run import info, load_run, sample


def params(run_dir):
    state = load_checkpoint(run_dir)
    return state, {f"{n}.{k}": v for n, sd in state["model"]["nets"].items() for k, v in sd.items()}


def test_run_directory_has_everything(tmp_path, ring_config):
    cfg = ring_config(steps=10, gif=True, tensorboard=True)
    res = train(cfg, run_dir=tmp_path / "run")
    d = res.run_dir
    assert res.status == "finished" and res.step == 10
    for f in ("config.yaml", "checkpoint.pt", "losses.jsonl", "losses.csv", "losses.png", "samples.png",
              "training.gif", "status.json"):
        assert (d / f).exists(), f
    assert sorted(p.name for p in (d / "samples").glob("*.png")) == [
        "step_0000000.png", "step_0000005.png", "step_0000010.png"]
    assert any((d / "tb").iterdir())
    rows = [json.loads(line) for line in (d / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10] and {"loss_d", "loss_g"} <= set(rows[0])
    assert json.loads((d / "status.json").read_text())["status"] == "finished"
    assert (d / "losses.csv").read_text().splitlines()[0].startswith("step,time,loss_d")


TECHNIQUES = {"feature_matching": True, "minibatch_disc": True, "mbd_kernels": 4, "historical_averaging": 0.1,
              "label_smoothing": 0.1}


@pytest.mark.parametrize("model,extra", [(m, {}) for m in ("gan", "wgan", "wgan-gp", "lsgan", "fgan", "dragan",
                                                           "ebgan", "infogan")] + [("gan", TECHNIQUES)]
                         + [("dmwgan", {"prior": "learned", "n_generators": 3})],
                         ids=lambda v: "all-techniques" if v == TECHNIQUES else (v if isinstance(v, str) else ""))
def test_resume_reproduces_the_uninterrupted_run(tmp_path, ring_config, model, extra):
    cfg = ring_config(steps=12, checkpoint_every=3, log_every=3, sample_every=6)
    cfg["model"]["name"] = model
    cfg["model"].update(extra)
    cfg["model"]["n_critic"] = 2
    cfg["model"]["optim_d"] = {"schedule": "linear"}             # schedules must resume too
    cfg["data"]["n_train"] = 100                                 # several epochs: the batch order resumes
    cfg["model"]["optim_d"]["decay_steps"] = 12                  # the split run plans 6 steps at first
    half = {**cfg, "train": {**cfg["train"], "steps": 6}}
    train(cfg, run_dir=tmp_path / "ref")
    train(half, run_dir=tmp_path / "split")
    res = resume(tmp_path / "split", ["train.steps=12"])
    assert res.step == 12
    _, a = params(tmp_path / "ref")
    state_b, b = params(tmp_path / "split")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    state_a, _ = params(tmp_path / "ref")
    assert torch.equal(state_a["rng"]["torch"], state_b["rng"]["torch"])
    rows = [json.loads(line)["step"] for line in (tmp_path / "split" / "losses.jsonl").read_text().splitlines()]
    assert rows == [3, 6, 9, 12]


def test_a_run_with_a_decaying_schedule_can_be_sampled_and_scored(tmp_path, ring_config):
    # Regression: load_run built the model without the run's length, and a linear schedule without one is
    # refused, so `gankit sample` / `eval` failed on every run trained with schedule: linear (issue 26).
    cfg = ring_config(steps=4, checkpoint_every=4, log_every=2, sample_every=4)
    cfg["model"]["optim_g"] = {"schedule": "linear"}
    cfg["model"]["optim_d"] = {"schedule": "cosine"}
    train(cfg, run_dir=tmp_path / "run")
    assert sample(tmp_path / "run", n=8).shape == (8, 2)
    assert load_run(tmp_path / "run").step == 4


def test_branch_without_changes_matches_resume_and_leaves_the_source_alone(tmp_path, ring_config):
    cfg = ring_config(steps=6, checkpoint_every=3, log_every=3, sample_every=6)
    train(cfg, run_dir=tmp_path / "ref")
    train(cfg, run_dir=tmp_path / "src")
    before, src_params = params(tmp_path / "src")
    res = branch(tmp_path / "src", tmp_path / "new", ["train.steps=12"])
    resume(tmp_path / "ref", ["train.steps=12"])
    assert res.step == 12 and res.run_dir == tmp_path / "new"
    _, a = params(tmp_path / "ref")
    _, b = params(tmp_path / "new")
    assert all(torch.equal(a[k], b[k]) for k in a)
    after, src_after = params(tmp_path / "src")                  # the source run is untouched
    assert after["step"] == 6 and all(torch.equal(src_params[k], src_after[k]) for k in src_params)
    rows = [json.loads(line)["step"] for line in (tmp_path / "new" / "losses.jsonl").read_text().splitlines()]
    assert rows == [3, 6, 9, 12]                                  # the history comes along
    note = json.loads((tmp_path / "new" / "branch.json").read_text())
    assert note == [{"from": str(tmp_path / "src"), "step": 6, "changes": ["train.steps=12"]}]
    branch(tmp_path / "new", tmp_path / "newer", ["train.steps=14"])   # a branch of a branch keeps the chain
    chain = json.loads((tmp_path / "newer" / "branch.json").read_text())
    assert [c["step"] for c in chain] == [6, 12] and chain[1]["from"] == str(tmp_path / "new")
    (tmp_path / "newer" / "branch.json").write_text(json.dumps(chain[0]))   # the first format: one record
    branch(tmp_path / "newer", tmp_path / "newest", ["train.steps=16"])
    assert [c["step"] for c in json.loads((tmp_path / "newest" / "branch.json").read_text())] == [6, 14]


def test_branch_changes_a_model_option_from_the_checkpoint_on(tmp_path, ring_config):
    cfg = ring_config(steps=4, checkpoint_every=2)
    cfg["model"].update(name="dmwgan", prior="learned", n_generators=3, n_critic=1)
    train(cfg, run_dir=tmp_path / "src")
    res = branch(tmp_path / "src", tmp_path / "new", ["model.entropy_weight=0", "train.steps=8"])
    assert res.step == 8
    assert load_checkpoint(tmp_path / "new")["config"]["model"]["entropy_weight"] == 0
    assert load_checkpoint(tmp_path / "src")["config"]["model"]["entropy_weight"] == 1000
    assert load_run(tmp_path / "new").model.prior_updates == 8    # the counters carry on


def test_a_branch_stopped_before_its_first_checkpoint_can_be_resumed(tmp_path, ring_config, monkeypatch):
    cfg = ring_config(steps=4, checkpoint_every=2)
    cfg["model"].update(name="dmwgan", prior="learned", n_generators=3, n_critic=1)
    train(cfg, run_dir=tmp_path / "src")

    def killed(self, progress=None):
        raise KeyboardInterrupt
    monkeypatch.setattr(Trainer, "fit", killed)
    with pytest.raises(KeyboardInterrupt):
        branch(tmp_path / "src", tmp_path / "new", ["model.entropy_weight=0", "train.steps=8"])
    state = load_checkpoint(tmp_path / "new")                     # saved before the first step
    assert state["step"] == 4 and state["config"]["model"]["entropy_weight"] == 0
    monkeypatch.undo()
    assert resume(tmp_path / "new").step == 8                    # the branch's settings carry on


def test_branch_refuses_what_cannot_continue(tmp_path, ring_config):
    cfg = ring_config(steps=2)
    cfg["model"].update(name="dmwgan", n_generators=3, n_critic=1)
    train(cfg, run_dir=tmp_path / "src")
    with pytest.raises(ConfigError, match="'data.n_train'.*Only model.\\* and train.\\*"):
        branch(tmp_path / "src", tmp_path / "a", ["data.n_train=50"])
    with pytest.raises(ConfigError, match="model.n_generators=4.*no longer fit"):
        branch(tmp_path / "src", tmp_path / "b", ["model.n_generators=4"])
    assert not (tmp_path / "b").exists()                          # no half-made run left behind
    with pytest.raises(ConfigError, match="'model.optim_g.lr'.*optimizer state"):
        branch(tmp_path / "src", tmp_path / "b", ["model.optim_g.lr=0.1"])
    with pytest.raises(ConfigError, match="entropy_decay"):       # options are checked as for a new run
        branch(tmp_path / "src", tmp_path / "b", ["model.entropy_decay=2"])
    assert not (tmp_path / "b").exists()
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("x")
    with pytest.raises(RunError, match="not empty"):
        branch(tmp_path / "src", tmp_path / "c", ["train.steps=4"])
    assert (tmp_path / "c" / "keep.txt").read_text() == "x"


def test_resume_drops_log_rows_after_the_checkpoint(tmp_path, ring_config):
    d = tmp_path / "run"
    train(ring_config(steps=10), run_dir=d)
    with open(d / "losses.jsonl", "a") as f:       # as if killed after logging step 15 but before its checkpoint
        f.write(json.dumps({"step": 15, "time": 1.0, "loss_d": 9.9}) + "\n")
    resume(d, ["train.steps=20"])
    steps = [json.loads(line)["step"] for line in (d / "losses.jsonl").read_text().splitlines()]
    assert steps == [5, 10, 15, 20]
    assert 9.9 not in [json.loads(line).get("loss_d") for line in (d / "losses.jsonl").read_text().splitlines()]


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path, ring_config, monkeypatch):
    original = GAN.d_step

    def poisoned(self, batch):
        out = original(self, batch)
        self._calls = getattr(self, "_calls", 0) + 1
        if self._calls == 8:
            out["loss_d"] = out["loss_d"] * float("nan")
        return out

    monkeypatch.setattr(GAN, "d_step", poisoned)
    d = tmp_path / "run"
    with pytest.raises(NonFiniteLossError, match=r"'loss_d' became nan at step 8"):
        train(ring_config(steps=20), run_dir=d)
    assert load_checkpoint(d)["step"] == 5
    status = json.loads((d / "status.json").read_text())
    assert status["status"] == "failed" and "step 8" in status["message"]


def test_wall_time_budget(tmp_path, ring_config):
    cfg = ring_config(steps=None, budget="1s", log_every=1000, checkpoint_every=100000, sample_every=100000)
    res = train(cfg, run_dir=tmp_path / "run")
    assert res.step > 0 and 1.0 <= res.elapsed < 5.0 and res.status == "finished"


def test_epoch_budget(tmp_path, ring_config):
    cfg = ring_config(steps=None, epochs=2)
    cfg["data"]["n_train"] = 100        # 100 // 32 = 3 steps per epoch
    assert train(cfg, run_dir=tmp_path / "run").step == 6


def test_refuses_to_overwrite_a_run(tmp_path, ring_config):
    train(ring_config(steps=5), run_dir=tmp_path / "run")
    with pytest.raises(RunError, match="--resume"):
        train(ring_config(steps=5), run_dir=tmp_path / "run")


def test_resume_without_checkpoint(tmp_path):
    with pytest.raises(RunError, match="no checkpoint"):
        resume(tmp_path)
    with pytest.raises(RunError, match="does not exist"):
        resume(tmp_path / "nope")


def test_a_damaged_checkpoint_or_an_outdated_stored_config_is_named(tmp_path, ring_config):
    d = tmp_path / "run"
    train(ring_config(steps=2), run_dir=d)
    state = torch.load(d / "checkpoint.pt", weights_only=True)
    state["config"]["model"]["removed_option"] = 1           # as if written by a version with that option
    torch.save(state, d / "checkpoint.pt")
    for name in ("checkpoint.json", "checkpoint.prev.pt"):   # as a run of a version without manifests
        (d / name).unlink(missing_ok=True)
    for call in (lambda: resume(d, ["train.steps=4"]), lambda: branch(d, tmp_path / "b", ["train.steps=4"]),
                 lambda: load_run(d)):
        with pytest.raises(ConfigError, match="checkpoint in .*older version.*'removed_option'"):
            call()
    assert not (tmp_path / "b").exists()
    raw = (d / "checkpoint.pt").read_bytes()
    (d / "checkpoint.pt").write_bytes(raw[: len(raw) // 2])  # a torn file
    with pytest.raises(RunError, match="Cannot read checkpoint .*damaged or not a gankit checkpoint") as e:
        resume(d)
    assert "\n" not in str(e.value)


def test_resume_rejects_model_changes(tmp_path, ring_config):
    train(ring_config(steps=5), run_dir=tmp_path / "run")
    with pytest.raises(Exception, match="Only train"):
        resume(tmp_path / "run", ["model.z_dim=3"])


def test_batch_larger_than_dataset(tmp_path, ring_config):
    cfg = ring_config(batch_size=4096)
    with pytest.raises(Exception, match="larger than the training set"):
        train(cfg, run_dir=tmp_path / "run")


def test_load_run_sample_and_info(tmp_path, ring_config):
    d = train(ring_config(steps=10), run_dir=tmp_path / "run").run_dir
    run = load_run(d, device="cpu")
    assert run.step == 10 and not run.model.nets["G"].training
    x = sample(d, 7, tmp_path / "s.npy", seed=1)
    assert x.shape == (7, 2)
    assert torch.equal(x, sample(d, 7, seed=1))
    i = info(d)
    assert i["step"] == 10 and i["status"] == "finished" and "loss_d" in i["last_losses"]


def test_trainer_accepts_config_object(tmp_path, ring_config):
    cfg = load_config(ring_config(steps=3))
    assert Trainer(cfg, run_dir=tmp_path / "r").fit(progress=False).step == 3


def test_metrics_during_training_are_logged_and_resume_stays_exact(tmp_path, ring_config):
    cfg = ring_config(steps=10, eval_every=5, eval_n=300)
    train(cfg, run_dir=tmp_path / "a")
    rows = [json.loads(line) for line in (tmp_path / "a" / "losses.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval_modes" in r]
    assert [r["step"] for r in evals] == [5, 10] and "eval_high_quality" in evals[0]
    i = info(tmp_path / "a")   # the last row is an evaluation: info keeps losses and scores apart
    assert "loss_d" in i["last_losses"] and i["losses_step"] == 10 and "modes" not in i["last_losses"]
    assert i["last_evaluation"]["modes"] == evals[-1]["eval_modes"] and i["evaluation_step"] == 10
    half = ring_config(steps=5, eval_every=5, eval_n=300)
    train(half, run_dir=tmp_path / "b")
    resume(tmp_path / "b", ["train.steps=10"])
    _, a = params(tmp_path / "a")
    _, b = params(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_eval_metric_that_does_not_apply_fails_before_training(tmp_path, ring_config):
    with pytest.raises(Exception, match="does not apply"):
        train(ring_config(eval_every=5, eval_metrics=["fid"]), run_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_info_tells_a_live_run_from_a_dead_one(tmp_path, ring_config):
    """A status of "running" is believed only while its process exists on this host."""
    import socket

    d = train(ring_config(steps=4), run_dir=tmp_path / "run").run_dir
    status = json.loads((d / "status.json").read_text())
    assert status["pid"] == os.getpid() and status["host"] == socket.gethostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for pid, host, expect in [(os.getpid(), socket.gethostname(), "running"),   # this process: alive
                              (dead.pid, "another-host", "running"),            # cannot tell: trust the file
                              (dead.pid, socket.gethostname(), "stopped")]:
        (d / "status.json").write_text(json.dumps({**status, "status": "running", "pid": pid, "host": host}))
        i = info(d)
        assert i["status"] == expect, (pid, host)
        assert ("--resume" in i["message"]) == (expect == "stopped")
