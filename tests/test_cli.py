"""The command line, through a subprocess as a user runs it."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gankit.engine.checkpoint import load_checkpoint

from helpers import tiny_ring


def gankit(*args, cwd=None, check=True):
    p = subprocess.run([sys.executable, "-m", "gankit.cli", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def write_config(path: Path, **train) -> Path:
    path.write_text(yaml.safe_dump(tiny_ring(**train)))
    return path


def assert_clean_error(p, *needles):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    for n in needles:
        assert n in p.stderr, p.stderr


def test_list_shows_everything():
    out = gankit("list").stdout
    for name in ("gan", "wgan-gp", "mnist", "fashion-mnist", "ring", "grid", "lines", "folder", "mlp", "dcgan",
                 "dcgan-mnist", "demo"):
        assert name in out
    opts = gankit("list", "--options", "wgan-gp").stdout
    assert "penalty_weight: 10.0" in opts and "n_critic: 5" in opts


def test_train_info_sample_resume(tmp_path):
    cfg = write_config(tmp_path / "tiny.yaml", steps=10)
    run = tmp_path / "run"
    p = gankit("train", cfg, "--out", run, "--no-progress", "train.steps=6")   # overrides after options too
    assert "finished: 6 steps" in p.stdout and str(run / "samples.png") in p.stdout
    info = json.loads(gankit("info", run, "--json").stdout)
    assert info["step"] == 6 and info["status"] == "finished"
    assert "status:  finished  step 6" in gankit("info", run).stdout
    for suffix in ("png", "npy", "pt"):
        out = tmp_path / f"s.{suffix}"
        gankit("sample", run, "--n", 9, "--out", out)
        assert out.stat().st_size > 0
    assert_clean_error(gankit("sample", run, "--interpolate", check=False), "2-D point data")
    p = gankit("eval", run, "--n", 600)
    assert "modes" in p.stdout and "floor (test vs train)" in p.stdout and (run / "metrics.json").exists()
    assert_clean_error(gankit("eval", run, "--metrics", "fid", check=False), "does not apply")
    assert_clean_error(gankit("eval", run, "--metrics", "nope", check=False), "Unknown metric 'nope'")
    p = gankit("train", "--resume", run, "train.steps=12", "--no-progress")
    assert "finished: 12 steps" in p.stdout


@pytest.mark.parametrize("args,needles", [
    (["train", "no-such-recipe"], ["No config file or recipe"]),
    (["train", "gan-ring", "train.stepz=3"], ["Unknown option 'stepz'", "Did you mean 'steps'"]),
    (["train", "gan-ring", "train.steps=many"], ["train.steps must be int"]),
    (["train", "gan-ring", "model.name=gam"], ["Unknown model 'gam'", "Valid models"]),
    (["train", "gan-ring", "data.name=cifar"], ["Unknown dataset 'cifar'", "Valid datasets"]),
    (["train", "gan-ring", "model.generator.name=resnet"], ["Unknown net 'resnet'"]),
    (["train", "dcgan-folder", "data.root=/no/such/folder", "train.steps=1"], ["/no/such/folder"]),
    (["train", "--resume", "/no/such/run"], ["does not exist"]),
    (["train", "--branch", "/no/such/run", "--out", "new"], ["does not exist"]),
    (["train", "--branch", "/no/such/run"], ["--branch RUN_DIR needs --out NEW_DIR"]),
    (["train", "--branch", "a", "--resume", "b", "--out", "c"], ["not both"]),
    (["train", "gan-ring", "--out", "r", "--bogus", "train.steps=1"], ["unrecognized arguments: --bogus"]),
    (["info", "/no/such/run"], ["does not exist"]),
    (["sample", "/no/such/run"], ["does not exist"]),
    (["list", "--options", "nope"], ["No model, dataset or network named 'nope'"]),
])
def test_bad_input_gives_one_clear_message(args, needles, tmp_path):
    assert_clean_error(gankit(*args, cwd=tmp_path, check=False), *needles)


def test_empty_image_folder_and_unreadable_image(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(gankit("train", "dcgan-folder", f"data.root={empty}", "train.steps=1", cwd=tmp_path,
                              check=False), str(empty))
    (empty / "broken.png").write_bytes(b"not a png at all")
    assert_clean_error(gankit("train", "dcgan-folder", f"data.root={empty}", "train.steps=1", cwd=tmp_path,
                              check=False), "broken.png")


def test_resume_on_directory_without_checkpoint(tmp_path):
    assert_clean_error(gankit("train", "--resume", tmp_path, check=False), "no checkpoint")


def test_sample_bad_output_suffix(tmp_path):
    cfg = write_config(tmp_path / "tiny.yaml", steps=2)
    gankit("train", cfg, "--out", tmp_path / "run", "--no-progress")
    assert_clean_error(gankit("sample", tmp_path / "run", "--out", tmp_path / "x.jpg", check=False), ".png")


def _wait_for_checkpoint(run: Path, proc, timeout=60):
    t0 = time.time()
    while not (run / "checkpoint.pt").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_a_loadable_checkpoint(tmp_path, sig):
    cfg = write_config(tmp_path / "tiny.yaml", steps=None, budget="5m", checkpoint_every=20, log_every=10,
                       sample_every=1000)
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli", "train", str(cfg), "--out", str(run),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(run, proc)
    time.sleep(0.5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    state = load_checkpoint(run)
    assert state["step"] > 0
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted" in out and "--resume" in out
        assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
    assert not (run / "checkpoint.pt.tmp").exists() or sig == signal.SIGKILL
    if sig == signal.SIGKILL:
        # No handler ran, yet status.json was kept current at each save and `info` sees the process is gone.
        assert json.loads((run / "status.json").read_text())["step"] > 0
        shown = gankit("info", run).stdout
        assert "status:  stopped" in shown and f"step {state['step']}" in shown and "--resume" in shown
    p = gankit("train", "--resume", run, "train.budget=null", f"train.steps={state['step'] + 5}", "--no-progress")
    assert f"finished: {state['step'] + 5} steps" in p.stdout


def test_output_piped_into_a_reader_that_leaves(tmp_path):
    """`gankit info RUN | head -3`: the reader closes the pipe early; no traceback, the SIGPIPE exit code."""
    cfg = write_config(tmp_path / "tiny.yaml", steps=2)
    gankit("train", cfg, "--out", tmp_path / "run", "--no-progress")
    proc = subprocess.Popen([sys.executable, "-m", "gankit.cli", "info", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()   # gone before a byte is written
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_an_undefined_metric_is_printed_not_a_traceback():
    """Regression: a nan evaluation (stored as the string 'nan' in losses.jsonl) crashed the end-of-train
    summary with "Unknown format code 'g' for object of type 'str'"."""
    from gankit.cli import format_scores

    assert format_scores({"fid": 12.3456, "hq": "nan"}) == "fid 12.35, hq nan"
