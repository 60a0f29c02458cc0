"""The study's report in a real browser (Debian's chromium driven by playwright), and the Ray backend on a
local Ray instance giving the same results as local processes."""
import os
import shutil
from pathlib import Path

import pytest

import gankit
from test_study import quiet, tiny_spec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a closed network needs (no background connections), as root in a container (no sandbox).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def local_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "local"
    return gankit.compare(tiny_spec(), out, workers=2, log=quiet)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: `make setup` installs Debian's chromium where apt works")
def test_the_report_opens_in_chromium_without_errors_with_its_tables_and_images(local_study):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            errors, requests = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(local_study.report.resolve().as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "gankit study tiny"
            assert errors == []
            assert all(u.startswith(("file:", "data:")) for u in requests), requests   # self-contained
            tables = page.eval_on_selector_all("table.metric", "ts => ts.map(t => [t.dataset.metric, t.rows.length])")
            assert dict(tables)["high_quality"] == 3 and dict(tables)["modes"] == 3   # header + 2 entries
            entries = page.eval_on_selector_all("table.summary tr td.l", "tds => tds.map(t => t.textContent)")
            assert entries == ["gan-ring", "lsgan-ring"]
            images = page.eval_on_selector_all("img", "is => is.map(i => [i.alt, i.complete && i.naturalWidth > 0])")
            assert len(images) >= 8 and all(ok for _, ok in images), [a for a, ok in images if not ok]
            assert any("samples" in a for a, _ in images) and any("curve" in a for a, _ in images)
        finally:
            browser.close()


def test_the_ray_backend_gives_the_results_of_local_processes(local_study, tmp_path):
    ray = pytest.importorskip("ray", reason="`make setup` installs ray")
    address = os.environ.get("RAY_ADDRESS")   # a cluster given by the environment; otherwise a local instance
    ray.init(address=address, num_cpus=None if address else 2, include_dashboard=False, log_to_driver=False)
    try:
        res = gankit.compare(tiny_spec(), tmp_path / "ray", workers=2, backend="ray", log=quiet)
    finally:
        ray.shutdown()
    assert [r["status"] for r in res.results["runs"]] == ["finished"] * 4
    assert [r["metrics"] for r in res.results["runs"]] == [r["metrics"] for r in local_study.results["runs"]]
    assert "ray" in res.results["made"]["backend"]
    assert Path(res.report).exists()


def test_an_unknown_backend_or_an_unreachable_cluster_is_refused_at_once(tmp_path):
    import socket
    import time

    with pytest.raises(gankit.GankitError, match="Unknown backend 'slurm'"):
        gankit.compare(tiny_spec(), tmp_path / "x", backend="slurm", log=quiet)
    with socket.socket() as s:   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    with pytest.raises(gankit.GankitError, match=f"Cannot reach the Ray cluster at 127.0.0.1:{port}"):
        gankit.compare(tiny_spec(), tmp_path / "y", backend="ray", address=f"127.0.0.1:{port}", log=quiet)
    assert time.time() - t0 < 10 and not (tmp_path / "y").exists()
    with pytest.raises(gankit.GankitError, match="HOST:PORT"):
        gankit.compare(tiny_spec(), tmp_path / "z", backend="ray", address="nonsense", log=quiet)
