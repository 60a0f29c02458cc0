"""gankit compare: spec checking, an end-to-end tiny study (runs, skips, resumes a killed and an interrupted
run, writes csv/json/html), the statistics, the Python API and the CLI."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gankit
from gankit.study import SpecError, read_spec
from gankit.study.plan import claim_directory, plan, prepare
from gankit.study.spec import parse_budget, parse_spec, spec_names

TINY = {"model.generator.hidden": [16], "model.discriminator.hidden": [16], "train.batch_size": 32,
        "train.log_every": 10, "train.sample_every": 30, "train.checkpoint_every": 30, "train.n_grid": 200,
        "train.tensorboard": False, "train.gif": False}


def tiny_spec(**kw) -> dict:
    spec = {"name": "tiny", "seeds": 2, "budget": {"steps": 60}, "eval_every": 30, "eval_n": 300, "final_n": 300,
            "overrides": dict(TINY), "entries": ["gan-ring", "lsgan-ring"]}
    spec.update(kw)
    return spec


def quiet(*a, **k):
    pass


# ----------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, needles", [
    ({"entries": ["gan-ring", "nosuch-ring"]}, ["entry 2", "nosuch-ring", "Did you mean"]),
    ({"entries": [{"recipe": "gan-ring", "overides": {}}]}, ["entry 1", "overides", "Did you mean 'overrides'"]),
    ({"entires": []}, ["Unknown key 'entires'", "Did you mean 'entries'"]),
    ({"metrics": ["fidd"]}, ["Unknown metric 'fidd'"]),
    ({"metrics": ["fid"]}, ["does not apply to 'ring'"]),
    ({"budget": {"epochs": 3}}, ["budget kind 'epochs'"]),
    ({"budget": None}, ["one `budget` shared by every entry"]),
    ({"seeds": 0}, ["seeds must be"]),
    ({"entries": ["gan-ring", {"recipe": "lsgan-ring", "overrides": {"train.steps": 99}}]},
     ["entry 2 (lsgan-ring)", "train.steps is the study's"]),
    ({"entries": ["gan-ring", {"recipe": "lsgan-ring", "overrides": {"train.batch_size": 64}}]},
     ["not comparable", "lsgan-ring: 64", "{images: N}"]),
    ({"entries": ["gan-ring", {"recipe": "lsgan-ring", "overrides": {"model.n_critc": 2}}]},
     ["entry 2 (lsgan-ring)", "n_critc"]),
    ({"entries": ["gan-ring", {"recipe": "gan-ring"}]}, ["share the label 'gan-ring'"]),
    ({"entries": ["gan-ring", {"recipe": "lsgan-ring", "overrides": {"data.name": "grid"}}]},
     ["different datasets", "lsgan-ring: grid"]),
])
def test_a_bad_spec_is_refused_before_training_naming_the_entry(tmp_path, change, needles):
    with pytest.raises(SpecError) as e:
        gankit.compare(tiny_spec(**change), tmp_path / "study", log=quiet)
    for needle in needles:
        assert needle in str(e.value), (needle, str(e.value))
    assert not (tmp_path / "study").exists()   # nothing was started


def test_a_metric_that_does_not_fit_mnist_is_refused():
    with pytest.raises(SpecError, match="'modes' does not apply to 'mnist'"):
        parse_spec({"budget": {"steps": 10}, "metrics": ["modes"], "entries": ["gan-mnist"]})


def test_an_output_directory_of_another_study_or_of_anything_else_is_refused(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "study.json").write_text(json.dumps({"name": "someone-else"}))
    with pytest.raises(gankit.GankitError, match="holds the study 'someone-else', not 'tiny'"):
        gankit.compare(tiny_spec(), tmp_path / "other", log=quiet)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("mine")
    with pytest.raises(gankit.GankitError, match="not empty and holds no study"):
        gankit.compare(tiny_spec(), tmp_path / "junk", log=quiet)
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "study.json").write_text('{"name": "tin')   # torn by a full disk, say
    with pytest.raises(gankit.GankitError, match="study.json' is damaged"):
        gankit.compare(tiny_spec(), tmp_path / "damaged", log=quiet)


def test_budgets_read_as_steps_images_or_time():
    assert (parse_budget("5000").kind, parse_budget("5000").amount) == ("steps", 5000)
    assert (parse_budget("320kimages").kind, parse_budget("320kimages").amount) == ("images", 320000)
    assert (parse_budget("10m").kind, parse_budget("10m").amount) == ("time", 600.0)
    assert parse_budget({"images": 640}).overrides(64) == ["train.steps=10"]
    with pytest.raises(SpecError):
        parse_budget({"steps": -3})


def test_the_bundled_specs_are_valid():
    assert {"objectives-ring", "objectives-mnist", "improved-mnist", "multigen-lines"} <= set(spec_names())
    for name in spec_names():
        spec = read_spec(name)
        assert spec.description and len(spec.seeds) >= 3, name


def test_the_committed_search_specs_are_valid():
    # benchmarks/searches/*.yaml are hyper-parameter screens (one seed by design), benchmarks/studies/*.yaml
    # studies run by hand: a renamed option must fail here, not an hour into the search
    bench = Path(__file__).parents[1] / "benchmarks"
    searches = sorted(bench.glob("searches/*.yaml")) + sorted(bench.glob("studies/*.yaml"))
    assert searches
    for path in searches:
        spec = read_spec(str(path))
        assert spec.description and spec.entries, path.name
        for entry in spec.entries:
            assert spec.run_config(entry, spec.seeds[0]).model.name, (path.name, entry.label)


# ----------------------------------------------------------------------------------------- end to end
def test_a_tiny_study_runs_reports_and_skips_what_is_done(tmp_path):
    out = tmp_path / "study"
    lines = []
    res = gankit.compare(tiny_spec(), out, workers=2, log=lines.append)
    assert res.complete and "4 to train" in lines[0]
    runs = res.results["runs"]
    assert [(r["label"], r["seed"], r["status"]) for r in runs] == [
        ("gan-ring", 0, "finished"), ("lsgan-ring", 0, "finished"), ("gan-ring", 1, "finished"),
        ("lsgan-ring", 1, "finished")]
    # every run is an ordinary run directory
    d = out / runs[0]["run_dir"]
    assert gankit.info(d)["status"] == "finished" and gankit.info(d)["step"] == 60
    assert json.loads((d / "metrics.json").read_text())["n"] == 300
    # tables
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 4 and {"modes", "high_quality", "seed", "status"} <= set(rows[0])
    data = json.loads((out / "results.json").read_text())
    s = data["summary"]["high_quality"]["gan-ring"]
    assert s["n"] == 2 and s["values"] == [float(r["high_quality"]) for r in rows if r["label"] == "gan-ring"]
    assert data["curves"]["gan-ring"]["eval_high_quality"]["x"] == [30, 60]
    page = (out / "report.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count("data:image/png;base64,") >= 6
    assert "Welch" in page and "gan-ring" in page and "lsgan-ring" in page
    assert "gan-ring" in str(res.table) and "<table" in res.table._repr_html_()
    # a second invocation trains nothing and re-uses the evaluations
    stamp = (d / "metrics.json").stat().st_mtime_ns
    lines.clear()
    again = gankit.compare(tiny_spec(), out, workers=2, log=lines.append)
    assert "4 done" in lines[0] and not any(line.startswith("[") for line in lines)
    assert (d / "metrics.json").stat().st_mtime_ns == stamp
    assert again.results["summary"] == res.results["summary"]
    calls = again.results["made"]["invocations"]
    assert [c["by_action"] for c in calls] == [{"train": 4}, {"done": 4}] and "Invocations" in again.report.read_text()
    # runs copied into a new folder (a screen's seeds taken into a longer study) are kept there with --force
    bigger = tmp_path / "bigger"
    shutil.copytree(out / "runs", bigger / "runs")
    with pytest.raises(gankit.GankitError, match="--force to use it"):
        gankit.compare(tiny_spec(seeds=3), bigger, log=quiet)
    claim_directory(bigger, parse_spec(tiny_spec(seeds=3)), force=True)
    assert {(p.label, p.seed): p.action for p in plan(parse_spec(tiny_spec(seeds=3)), bigger)} == {
        ("gan-ring", 0): "done", ("lsgan-ring", 0): "done", ("gan-ring", 1): "done", ("lsgan-ring", 1): "done",
        ("gan-ring", 2): "train", ("lsgan-ring", 2): "train"}
    # a changed entry re-runs only its own runs (the old ones kept under superseded/); a longer budget resumes
    changed = tiny_spec(entries=["gan-ring", {"recipe": "lsgan-ring", "overrides": {"model.optim_d.lr": 1e-4}}])
    actions = {(p.label, p.seed): p.action for p in plan(parse_spec(changed), out)}
    assert actions == {("gan-ring", 0): "done", ("gan-ring", 1): "done", ("lsgan-ring", 0): "train",
                       ("lsgan-ring", 1): "train"}
    longer = tiny_spec(budget={"steps": 90})
    assert {p.action for p in plan(parse_spec(longer), out)} == {"resume"}
    gankit.compare(changed, out, log=quiet)
    assert len(list((out / "superseded" / "lsgan-ring").iterdir())) == 2
    # a record (a committed study in a new checkout: its checkpoints are not in git) counts as done, figures kept
    for f in d.glob("checkpoint*.pt"):
        f.unlink()
    record = {(p.label, p.seed): p for p in plan(parse_spec(changed), out)}[("gan-ring", 0)]
    assert record.action == "done" and "record" in record.reason
    kept = gankit.compare(changed, out, log=quiet).results["summary"]["high_quality"]["gan-ring"]
    assert kept["values"] == res.results["summary"]["high_quality"]["gan-ring"]["values"]
    with pytest.raises(gankit.GankitError, match="record of a finished run.*gankit train .*config.yaml"):
        gankit.info(d)
    # ... but it cannot be resumed to a longer budget: trained anew, the record moved aside, not deleted
    grown = {(p.label, p.seed): p for p in plan(parse_spec(longer), out)}[("gan-ring", 0)]
    assert grown.action == "train" and "cannot be resumed" in grown.reason
    prepare(grown, out)
    assert len(list((out / "superseded" / "gan-ring").iterdir())) == 1 and not (d / "metrics.json").exists()


def test_a_run_made_before_an_option_existed_still_counts_as_done(tmp_path):
    # A study committed by an older gankit: its runs recorded a fingerprint of a config without the options
    # added since. Their saved config.yaml, read by today's code, is the spec's config: not re-trained.
    import yaml

    out, spec = tmp_path / "study", tiny_spec(seeds=1, entries=["gan-ring"], eval_every=None)
    gankit.compare(spec, out, log=quiet)
    d = out / "runs" / "gan-ring" / "seed0"
    saved = yaml.safe_load((d / "config.yaml").read_text())
    meta = json.loads((d / "study-run.json").read_text())

    def older(config: dict, recorded: str = "0123456789abcdef") -> str:
        (d / "config.yaml").write_text(yaml.safe_dump(config))
        (d / "study-run.json").write_text(json.dumps({**meta, "fingerprint": recorded}))
        [p] = plan(parse_spec(spec), out)
        return p.action

    before = json.loads(json.dumps(saved))
    for key in ("penalty_batch_norm", "penalty_one_sided", "g_ema"):   # options later than the first studies
        assert key in before["model"]
        del before["model"][key]
    assert older(before) == "done"
    assert older({**saved, "model": {**saved["model"], "penalty_batch_norm": True}}) == "train"   # not a default
    assert older({**saved, "model": {**saved["model"], "optim_d": {**saved["model"]["optim_d"], "lr": 0.1}}}) == "train"
    assert older({**saved, "model": {**saved["model"], "removed_option": 1}}) == "train"   # today's code refuses it
    (d / "config.yaml").write_text("model: [unreadable")
    [p] = plan(parse_spec(spec), out)
    assert p.action == "train" and "changed" in p.reason


def _compare_process(spec_path: Path, out: Path, *extra: str) -> subprocess.Popen:
    # SIGINT as a terminal would deliver it: a suite started in the background (`nohup make test &`) runs with
    # SIGINT ignored, which its children inherit, and Python then leaves it ignored.
    return subprocess.Popen([sys.executable, "-m", "gankit.cli", "compare", str(spec_path), "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(predicate, timeout=90.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return True
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_killed_worker_and_an_interrupted_study_resume_exactly(tmp_path):
    import yaml

    spec = tiny_spec(seeds=1, budget={"steps": 1500}, eval_every=None, entries=["gan-ring"])
    spec["overrides"].update({"train.checkpoint_every": 50, "train.sample_every": 1500, "train.log_every": 50})
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    ref = gankit.compare(spec, tmp_path / "reference", log=quiet)        # uninterrupted
    ref_run = tmp_path / "reference" / "runs" / "gan-ring" / "seed0"

    # SIGKILL the worker mid-run: the run is reported as failed, and the next invocation resumes it.
    out = tmp_path / "killed"
    run = out / "runs" / "gan-ring" / "seed0"
    proc = _compare_process(path, out)
    _wait_for(lambda: (run / "checkpoint.pt").exists() and (run / "status.json").exists())
    pid = json.loads((run / "status.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    text, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, text
    assert "ended with signal 9" in text and "resumes it" in text
    first = json.loads((out / "results.json").read_text())["runs"][0]
    assert first["status"] == "failed" and "signal 9" in first["error"]
    assert "signal 9" in (out / "report.html").read_text()
    res = gankit.compare(spec, out, log=quiet)
    assert res.results["runs"][0]["status"] == "finished"
    assert res.results["runs"][0]["metrics"] == ref.results["runs"][0]["metrics"]
    assert _losses(run) == _losses(ref_run)

    # Ctrl-C (SIGINT) stops the study cleanly, each run checkpointed, and the same command continues it.
    out2 = tmp_path / "interrupted"
    run2 = out2 / "runs" / "gan-ring" / "seed0"
    proc = _compare_process(path, out2)
    _wait_for(lambda: (run2 / "checkpoint.pt").exists())
    proc.send_signal(signal.SIGINT)
    text, _ = proc.communicate(timeout=120)
    log = (run2 / "study.log").read_text() if (run2 / "study.log").exists() else "(no study.log)"
    assert proc.returncode == 130, (text, log[-3000:])
    assert "interrupted" in text and "run the same command again" in text
    assert gankit.info(run2)["status"] == "interrupted"
    res2 = gankit.compare(spec, out2, log=quiet)
    assert res2.results["runs"][0]["metrics"] == ref.results["runs"][0]["metrics"]
    assert _weights(run2) == _weights(ref_run)
    # (losses.jsonl also holds the row of the partial log window the interrupted session flushed)


def _weights(run_dir: Path) -> list:
    import torch

    nets = torch.load(run_dir / "checkpoint.pt", weights_only=True)["model"]["nets"]
    return [(k, n, v.tolist()) for k in sorted(nets) for n, v in nets[k].items()]


def _losses(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "time"}
            for line in (run_dir / "losses.jsonl").read_text().splitlines()]


def test_a_failed_run_is_reported_and_does_not_stop_the_others(tmp_path):
    # A learning rate this large makes the GAN's losses non-finite within a few steps.
    spec = tiny_spec(seeds=1, entries=["gan-ring", {"recipe": "lsgan-ring", "label": "diverges",
                                                    "overrides": {"model.optim_d.lr": 1e30, "model.optim_g.lr": 1e30}}])
    res = gankit.compare(spec, tmp_path / "s", log=quiet)
    by = {r["label"]: r for r in res.results["runs"]}
    assert by["gan-ring"]["status"] == "finished"
    assert by["diverges"]["status"] == "failed" and "became" in by["diverges"]["error"]
    assert "diverges" in (tmp_path / "s" / "report.html").read_text()
    # reported again, not retried, on the next invocation
    assert {p.label: p.action for p in plan(parse_spec(spec), tmp_path / "s")}["diverges"] == "failed"


def test_the_cli_shorthand_and_list(tmp_path, capsys):
    from gankit.cli import main

    assert main(["compare", "--list"]) == 0
    assert "objectives-ring" in capsys.readouterr().out
    assert main(["compare", "gan-ring", "lsgan-ring", "--seeds", "2"]) == 2
    assert "needs --budget" in capsys.readouterr().err
    assert main(["compare", "objectives-rng"]) == 2
    assert "neither a recipe nor a study spec. Did you mean 'objectives-ring'?" in capsys.readouterr().err
    assert main(["compare", "objectives-ring", "--seeds", "2"]) == 2
    assert "--seeds belong to the recipes form" in capsys.readouterr().err
    code = main(["compare", "gan-ring", "lsgan-ring", "--seeds", "1", "--budget", "40", "--out", str(tmp_path / "c"),
                 "--metrics", "modes", "--workers", "2"])
    text = capsys.readouterr().out
    assert code == 0 and "| gan-ring |" in text and "| lsgan-ring |" in text
    made = json.loads((tmp_path / "c" / "results.json").read_text())["made"]
    assert made["command"].startswith("gankit compare gan-ring") or made["command"].startswith("gankit.compare")
