"""Parallel sweeps, Pareto frontier, figures and the self-contained HTML report."""
import base64
import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import numpy as np
import pytest

import evsim
from evsim import topologies
from evsim.analysis import figures as F
from evsim.analysis.energy import energy_table
from evsim.analysis.mapping import CoreMesh, map_cells, traffic
from evsim.workflow.report import write_report
from evsim.workflow.sweep import pareto_front, run_sweep

QUOTAS = np.geomspace(2e-5, 2e-3, 8)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    summary = run_sweep("heat1d", QUOTAS, out, cells=40, t_end=0.4)
    return out, summary


def test_sweep_of_8_quotas_in_parallel(sweep_dir):
    out, s = sweep_dir
    pts = s["points"]
    assert len(pts) == 8 and [p["quota"] for p in pts] == pytest.approx(list(QUOTAS))
    assert s["executor"] == "ProcessPoolExecutor(2)"
    pids = {p["worker_pid"] for p in pts}
    assert len(pids) == 2 and os.getpid() not in pids          # ran in two worker processes
    rmse = np.array([p["rmse_semidiscrete"] for p in pts])
    spikes = np.array([p["spikes"] for p in pts])
    assert np.all(np.diff(rmse) > 0) and np.all(np.diff(spikes) < 0)  # coarser q: fewer spikes, larger error
    # first order: RMSE ~ q and spikes ~ 1/q over two decades
    assert np.polyfit(np.log(QUOTAS), np.log(rmse), 1)[0] == pytest.approx(1.0, abs=0.15)
    assert np.polyfit(np.log(QUOTAS), np.log(spikes), 1)[0] == pytest.approx(-1.0, abs=0.1)
    assert all(p["ledger_residual"] == 0 for p in pts)
    assert s["pareto"] == list(range(8))                         # a pure trade-off: all optimal
    assert (out / "pareto.png").stat().st_size > 10_000
    on_disk = json.loads((out / "sweep.json").read_text())
    assert on_disk["points"][3]["spikes"] == pts[3]["spikes"]
    assert (out / "sweep.csv").read_text().count("\n") == 9


def test_pareto_front_by_hand():
    pts = [dict(rmse=1, spikes=10, energy_loihi=5), dict(rmse=2, spikes=5, energy_loihi=5),
           dict(rmse=2, spikes=10, energy_loihi=5), dict(rmse=1, spikes=10, energy_loihi=5),
           dict(rmse=3, spikes=1, energy_loihi=9)]
    assert pareto_front(pts) == [0, 1, 3, 4]                      # 2 is dominated by 0; 0 and 3 tie
    assert pareto_front(pts, ("rmse", "energy_loihi")) == [0, 3]


def test_sweep_other_parameters_and_executors(tmp_path):
    with ThreadPoolExecutor(2) as ex:
        s = run_sweep("heat1d", [1e-3], None, executor=ex, cells=[10, 20], t_end=0.2)
    assert [p["cells"] for p in s["points"]] == [10, 20] and s["executor"] == "ThreadPoolExecutor"
    with pytest.raises(ValueError, match="unknown sweep parameter"):
        run_sweep("heat1d", [1e-3], None, executor=ex, colour=[1])
    with pytest.raises(ValueError, match="positive"):
        run_sweep("heat1d", [0.0], None)


def test_dask_client_plugs_in():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        s = run_sweep("heat1d", [1e-3, 2e-3], None, executor=client, cells=10, t_end=0.2)
    assert s["executor"].startswith("dask") and len(s["points"]) == 2
    assert s["points"][0]["spikes"] > s["points"][1]["spikes"] > 0


class _Checker(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.external, self.errors = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        for key in ("src", "href"):
            if a.get(key) and not a[key].startswith("data:"):
                self.external.append(a[key])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def _check_html(path, n_images):
    text = path.read_text()
    c = _Checker()
    c.feed(text)
    assert c.errors == [] and c.stack == [], "unbalanced tags"
    assert c.external == []                                     # self-contained
    assert len(c.images) == n_images
    for src in c.images:
        head, data = src.split(",", 1)
        raw = base64.b64decode(data)
        assert raw[:8] == b"\x89PNG\r\n\x1a\n" or raw[:6] == b"GIF89a"
    return text


def _chromium_dom(path, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return None
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--dump-dom", path.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_sweep_report_opens_in_chromium(sweep_dir, tmp_path):
    out, s = sweep_dir
    page = write_report(out)
    text = _check_html(page, 1)
    assert "sweep of heat1d" in text and text.count('class="pareto"') == 8
    dom = _chromium_dom(page, tmp_path)
    if dom is None:
        pytest.skip("chromium not installed; HTML validated with html.parser")
    assert 'data-images-ok="1"' in dom and 'data-images-broken="0"' in dom
    # the self-check can fail: a corrupt figure is reported as broken
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "summary.json").write_text(json.dumps({"problem": "x"}))
    (bad / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    dom = _chromium_dom(write_report(bad), tmp_path)
    assert 'data-images-ok="0"' in dom and 'data-images-broken="1"' in dom


def test_run_figures_and_report(tmp_path):
    g = topologies.grid_2d(8, 1.0, 0.1)
    x = topologies.cell_positions(g)
    r = evsim.simulate(g, np.sin(np.pi * x[:, 0]) * (1 + x[:, 1]), quota=1e-3, t_end=0.1,
                       record=np.linspace(0, 0.1, 6), spike_log=True)
    m = map_cells(g, CoreMesh(2, 2, 16))
    t = traffic(r, m)
    F.savefig(F.spike_raster(r), tmp_path / "raster.png")
    F.savefig(F.cell_traffic(r), tmp_path / "cells.png")
    F.savefig(F.edge_traffic(r), tmp_path / "edges.png")
    F.savefig(F.link_traffic(t), tmp_path / "links.png")
    table = energy_table(r, mapping=m)
    F.savefig(F.energy_bars(table), tmp_path / "energy.png")
    gif = F.animate_potential(r, tmp_path / "potential.gif")
    from PIL import Image
    with Image.open(gif) as im:
        assert im.n_frames == 6
    summary = {"problem": "toy", "spikes": r.spikes, "energy": table, "traffic": t.summary()}
    (tmp_path / "summary.json").write_text(json.dumps(summary, default=float))
    text = _check_html(write_report(tmp_path), 6)
    assert "synaptic_ops [J]" in text and "loihi" in text
    assert "Energy from event counts" not in text
    r.save(tmp_path / "result.npz")          # a saved run adds its energy section (2 more figures)
    text = _check_html(write_report(tmp_path), 8)
    assert "Energy from event counts" in text
    assert f"{energy_table(r)['loihi']['total']:.6g}" in text
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing")
    with pytest.raises(ValueError, match="spike_log"):
        F.spike_raster(evsim.simulate(g, np.ones(64), quota=1e-2, t_end=0.01))


def test_cli_sweep_and_report(tmp_path, capsys):
    from evsim.cli import main
    out = tmp_path / "cli"
    rc = main(["sweep", "heat1d", "--quotas", "1e-3", "2e-3", "--cells", "10", "--t-end", "0.2",
               "--mesh", "4x1", "--hop-latency", "1e-3", "--bandwidth", "50", "--workers", "1",
               "--out", str(out), "--report"])
    assert rc == 0
    s = json.loads((out / "sweep.json").read_text())
    assert [p["mesh"] for p in s["points"]] == ["4x1", "4x1"]   # (2x1 would cut at the symmetry line: no flux)
    assert all(p["hops_per_packet"] > 0 and p["ledger_residual"] == 0 for p in s["points"])
    assert (out / "report.html").exists()
