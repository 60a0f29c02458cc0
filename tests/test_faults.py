"""Reliability under faults: kills at any step or inside a checkpoint write, preemption signals, damaged
and foreign checkpoints, full and read-only disks, two trainers on one folder, damaged run directories.
The heavier counts (20 kill points per model, a soak of 200 runs) are benchmarks/faults.py."""
import errno
import json
import os
import pickle
import random
import shutil
import signal
import time
from pathlib import Path

import pytest
import torch

from faults_kit import CASES, SAVE_POINTS, case_config, compare_runs, run_child
from gankit.cli import main
from gankit.engine.checkpoint import has_checkpoint, load_checkpoint
from gankit.engine.api import resume, train
from gankit.engine.trainer import Trainer
from gankit.config import load_config
from gankit.errors import RunError
from gankit.registry import entries


@pytest.fixture(autouse=True)
def keep_threads():
    """The cases train on one thread (the same reduction order in every process); the suite uses two."""
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def recover(cfg: dict, run_dir: Path) -> None:
    """What a user (or `gankit compare`) does after a kill: resume, or start again if nothing was saved."""
    if has_checkpoint(run_dir):
        resume(run_dir)
    else:
        train(cfg, run_dir=run_dir)


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted runs, one per case, made once."""
    made = {}

    def get(case):
        if case not in made:
            made[case] = tmp_path_factory.mktemp("ref") / case
            train(case_config(case), run_dir=made[case])
        return made[case]
    return get


def test_every_registered_model_has_a_kill_case():
    models = {e.name for e in entries("model")}
    covered = {CASES[c].get("name", c) for c in CASES}
    assert models <= covered, f"add these to faults_kit.CASES: {sorted(models - covered)}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_sigkill_at_a_random_step_then_resume_is_bit_for_bit(tmp_path, case, references):
    k = random.Random(f"kill-{case}").randint(1, 11)   # one seeded point per model; the benchmark draws 20
    d = tmp_path / "killed"
    rc, out, err = run_child(case_config(case), d, "step", str(k))
    assert rc == -signal.SIGKILL, err
    assert has_checkpoint(d) == (k >= 4)
    recover(case_config(case), d)
    assert compare_runs(references(case), d) == [], f"killed at step {k}"


@pytest.mark.parametrize("point", range(len(SAVE_POINTS)), ids=lambda p: SAVE_POINTS[p].replace(" ", "-"))
def test_a_kill_inside_a_checkpoint_write_leaves_one_that_loads(tmp_path, point, references):
    d = tmp_path / "killed"
    rc, out, err = run_child(case_config("gan"), d, "save", "2", str(point))   # the save of step 8
    assert rc == -signal.SIGKILL, err
    state = load_checkpoint(d)           # verifies against the manifest; falls back if it must
    assert state["step"] in (4, 8)
    recover(case_config("gan"), d)
    assert compare_runs(references("gan"), d) == []
    assert not (d / "checkpoint.pt.tmp").exists()


# ------------------------------------------------------------------------------------ preemption
def _wait_for(path: Path, proc, timeout=90):
    t0 = time.time()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout, "no checkpoint in time"
        time.sleep(0.05)


def test_sigterm_checkpoints_says_how_to_resume_and_exits_143(tmp_path):
    d = tmp_path / "run"
    cfg = case_config("gan", steps=None, budget="5m", checkpoint_every=50, threads=None)
    proc = run_child(cfg, d, "plain", wait=False)
    _wait_for(d / "checkpoint.pt", proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "interrupted" in out and f"gankit train --resume {d}" in out
    status = json.loads((d / "status.json").read_text())
    assert status["status"] == "interrupted"
    assert load_checkpoint(d)["step"] == status["step"] > 0      # the stop itself was checkpointed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_second_signal_exits_at_once_keeping_the_last_checkpoint(tmp_path, sig):
    d = tmp_path / "run"
    cfg = case_config("gan", steps=None, budget="5m", checkpoint_every=20, threads=None)
    proc = run_child(cfg, d, "slow-save", wait=False)   # every save after the first takes two minutes
    _wait_for(d / "checkpoint.json", proc)
    first = load_checkpoint(d)["step"]
    proc.send_signal(sig)
    time.sleep(1.0)
    t0 = time.time()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 10
    assert proc.returncode == (-signal.SIGTERM if sig == signal.SIGTERM else 130), err
    assert "Traceback" not in err
    assert load_checkpoint(d)["step"] == first


# -------------------------------------------------------------------------------- damaged files
@pytest.fixture
def two_checkpoints(tmp_path):
    d = tmp_path / "run"
    train(case_config("gan", steps=8), run_dir=d)    # checkpoints of steps 4 (previous) and 8 (newest)
    return d


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_with_a_warning(two_checkpoints, capsys,
                                                                                 tmp_path):
    d = two_checkpoints
    raw = (d / "checkpoint.pt").read_bytes()
    (d / "checkpoint.pt").write_bytes(raw[: len(raw) // 3])
    assert load_checkpoint(d)["step"] == 4
    err = capsys.readouterr().err
    assert "checkpoint.pt' is damaged" in err and "previous checkpoint" in err and "step 4" in err
    resume(d)                                          # steps 5..8 again: the same run as never damaged
    train(case_config("gan", steps=8), run_dir=tmp_path / "ref")
    assert compare_runs(tmp_path / "ref", d) == []
    assert (d / "checkpoint.damaged.pt").exists()      # moved aside, never rotated over the good one


def test_a_flipped_byte_is_caught_by_the_checksum(two_checkpoints, capsys):
    d = two_checkpoints
    raw = bytearray((d / "checkpoint.pt").read_bytes())
    raw[len(raw) // 2] ^= 0x10                         # inside the tensor data
    (d / "checkpoint.pt").write_bytes(bytes(raw))
    assert torch.load(d / "checkpoint.pt", weights_only=True)["step"] == 8   # torch does not notice
    assert load_checkpoint(d)["step"] == 4
    assert "SHA-256" in capsys.readouterr().err
    resume(d, ["train.steps=12"])                      # the next save must not rotate the damaged file in
    assert load_checkpoint(d, quiet=True)["step"] == 12
    assert torch.load(d / "checkpoint.prev.pt", weights_only=True)["step"] == 8
    assert (d / "checkpoint.damaged.pt").read_bytes() == bytes(raw)                 # the flipped one, kept


def test_both_checkpoints_damaged_is_a_clear_error(two_checkpoints):
    d = two_checkpoints
    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        (d / name).write_bytes(b"\0" * 100)
    with pytest.raises(RunError, match=r"checkpoint.pt' is damaged.*checkpoint.prev.pt' is damaged.*"
                                       r"No earlier checkpoint verifies") as e:
        resume(d)
    assert "\n" not in str(e.value)
    assert main(["info", str(d)]) == 2


class _Exploit:
    def __reduce__(self):
        return (exec, ("open(__import__('os').environ['GANKIT_EXPLOIT'], 'w').write('ran')",))


def test_a_malicious_pickle_is_refused_not_executed(two_checkpoints, monkeypatch, capsys):
    d = two_checkpoints
    marker = d.parent / "exploited"
    monkeypatch.setenv("GANKIT_EXPLOIT", str(marker))
    state = torch.load(d / "checkpoint.pt", weights_only=True)
    state["payload"] = _Exploit()
    for name in ("checkpoint.json", "checkpoint.prev.pt"):   # no checksum to hide behind: the loader itself
        (d / name).unlink()
    torch.save(state, d / "checkpoint.pt")
    with pytest.raises(RunError, match="refuses to unpickle"):
        resume(d)
    assert main(["sample", str(d), "--n", "4"]) == 2
    assert not marker.exists()
    pickle.loads(pickle.dumps(_Exploit()))              # the payload is real: plain unpickling runs it
    assert marker.read_text() == "ran"


def test_a_checkpoint_copied_from_another_model_is_refused(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(case_config("gan", steps=4), run_dir=a)
    train(case_config("wgan", steps=4), run_dir=b)
    for name in ("checkpoint.pt", "checkpoint.json"):
        shutil.copy(b / name, a / name)
    with pytest.raises(RunError, match="'wgan' run, but the folder's config.yaml is of a 'gan' run"):
        resume(a)
    torch.save({"weights": torch.zeros(3)}, b / "checkpoint.pt")
    (b / "checkpoint.json").unlink()
    with pytest.raises(RunError, match="not a gankit checkpoint: it lacks format, step"):
        resume(b)


def test_a_checkpoint_that_does_not_fit_its_networks_names_the_mismatch(two_checkpoints):
    d = two_checkpoints
    state = torch.load(d / "checkpoint.pt", weights_only=True)
    name = next(iter(state["model"]["nets"]["G"]))
    state["model"]["nets"]["G"][name] = torch.zeros(3, 3, 3)
    (d / "checkpoint.json").unlink()
    (d / "checkpoint.prev.pt").unlink()
    torch.save(state, d / "checkpoint.pt")
    with pytest.raises(RunError, match=f"does not fit the 'gan' model.*{name}"):
        resume(d)
    assert main(["eval", str(d), "--n", "10"]) == 2


# --------------------------------------------------------------------------- full or read-only disk
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_keeps_the_last_checkpoint_and_says_so(tmp_path):
    d = tmp_path / "run"
    train(case_config("gan", steps=4), run_dir=d)
    before = (d / "checkpoint.pt").read_bytes()
    os.symlink("/dev/full", d / "checkpoint.pt.tmp")    # every write of the next checkpoint: ENOSPC
    with pytest.raises(RunError, match=r"Could not write the checkpoint of step 8 .*No space left on device.*"
                                       r"last good checkpoint \(step 4\) is intact"):
        resume(d, ["train.steps=8"])
    assert (d / "checkpoint.pt").read_bytes() == before and load_checkpoint(d)["step"] == 4
    assert not (d / "checkpoint.pt.tmp").exists()      # nothing half-written left to fill the disk further
    assert json.loads((d / "status.json").read_text())["status"] == "failed"
    resume(d, ["train.steps=8"])                        # space again: the run goes on from step 4
    assert load_checkpoint(d)["step"] == 8


def test_a_read_only_folder_is_a_clear_error(tmp_path, monkeypatch, capsys):
    d = tmp_path / "run"
    train(case_config("gan", steps=4), run_dir=d)
    import gankit.engine.checkpoint as ckpt

    def refuse(path, mode="r", *a, **k):
        if "w" in mode:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return open(path, mode, *a, **k)

    monkeypatch.setattr(ckpt, "open", refuse, raising=False)
    cfg = d / "config.yaml"
    assert main(["train", "--resume", str(d), "train.steps=8", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Read-only file system" in err and "step 4) is intact" in err and "Traceback" not in err
    assert load_checkpoint(d)["step"] == 4 and cfg.exists()
    with pytest.raises(RunError, match="Cannot create the run directory"):
        Trainer(load_config(case_config("gan")), run_dir="/proc/gankit-cannot-be-here")


# ------------------------------------------------------------------------------------- the lock
def test_a_second_trainer_on_the_same_folder_is_refused_until_the_first_is_gone(tmp_path):
    d = tmp_path / "run"
    cfg = case_config("gan", steps=None, budget="5m", checkpoint_every=20, threads=None)
    proc = run_child(cfg, d, "plain", wait=False)
    _wait_for(d / "checkpoint.json", proc)
    with pytest.raises(RunError, match=rf"being trained by another gankit process \(pid {proc.pid} "):
        resume(d, ["train.budget=null", "train.steps=1000000"])
    proc.kill()                                          # dies without releasing anything by hand
    proc.communicate(timeout=30)
    step = load_checkpoint(d)["step"]
    resume(d, ["train.budget=null", f"train.steps={step + 3}"])
    assert load_checkpoint(d)["step"] == step + 3


def test_a_trainer_refusing_a_folder_releases_its_lock(tmp_path):
    d = tmp_path / "run"
    train(case_config("gan", steps=4), run_dir=d)
    with pytest.raises(RunError, match="already holds a run"):
        train(case_config("gan", steps=4), run_dir=d)
    resume(d, ["train.steps=8"])                         # not blocked by the refused trainer


# -------------------------------------------------------------------------- damaged run folders
DAMAGE = {
    "status.json garbage": lambda d: (d / "status.json").write_bytes(b"\xff{not json"),
    "status.json a list": lambda d: (d / "status.json").write_text("[1, 2]"),
    "losses.jsonl garbage": lambda d: (d / "losses.jsonl").write_bytes(b'{"step": "x"}\n5\n\xfe\n[]\n{"a": 1}\n'),
    "config.yaml garbage": lambda d: (d / "config.yaml").write_text("model: [unclosed"),
    "no checkpoint": lambda d: [(d / n).unlink() for n in ("checkpoint.pt", "checkpoint.prev.pt")],
    "checkpoint random bytes": lambda d: [(d / n).write_bytes(os.urandom(500))
                                          for n in ("checkpoint.pt", "checkpoint.prev.pt")],
    "manifest garbage": lambda d: (d / "checkpoint.json").write_text("{{{"),
    "folder is a file": lambda d: (shutil.rmtree(d), d.write_text("x")),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_commands_on_damaged_run_folders_answer_without_a_traceback(two_checkpoints, damage, capsys):
    d = two_checkpoints
    DAMAGE[damage](d)
    for argv in (["info", str(d)], ["info", str(d), "--json"], ["sample", str(d), "--n", "4"],
                 ["eval", str(d), "--n", "20"], ["train", "--resume", str(d), "--no-progress"]):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
        out, err = capsys.readouterr()
        assert rc in (0, 2), (argv, rc, err)
        assert "Traceback" not in err, (argv, err)
        if rc == 2:
            assert err.startswith("gankit ") and "error:" in err, (argv, err)


# --------------------------------------------------------------------------------- gankit train --check
def test_check_builds_takes_the_first_steps_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "gan-ring", "--check", "model.n_critic=2", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: gan on ring") and "parameters" in out and "loss_g" in out   # a G step was taken
    assert list(tmp_path.iterdir()) == []
    assert main(["train", "infogan-mnist", "--check", "train.batch_size=1"]) == 2
    assert "batch norm needs at least 2 samples" in capsys.readouterr().err
    assert main(["train", "gan-ring", "--check", "model.generator.hidden=[100000,100000,100000]"]) == 2
    assert "networks of this config" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path), "--check"]) == 2


def test_sizes_and_seeds_that_cannot_work_are_named_before_anything_is_allocated(two_checkpoints, capsys):
    d = str(two_checkpoints)
    for argv, needle in ((["sample", d, "--n", "99999999999999999999"], "--n = "),
                         (["eval", d, "--n", "10000000000000"], "--n = "),
                         (["sample", d, "--seed", "99999999999999999999"], "--seed must be an integer"),
                         (["train", "gan-ring", "--check", "train.n_grid=100000000000000"], "train.n_grid"),
                         (["train", "gan-ring", "--check", "data.n_train=100000000000000"], "n_train"),
                         (["train", "gan-ring", "--check", "model.optim_g.lr=.nan"], "finite number"),
                         (["train", "gan-ring", "--check", "train.seed=-1"], "train.seed")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, (argv, err)
