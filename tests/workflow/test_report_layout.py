"""The HTML report's layout: every table sits in a horizontally scrolling container, missing
values read as a dash (never "None", "nan", "{}" or "[]"), dictionaries inside rows are
nested tables, and in headless Chromium a 1,400-px window holds the whole page."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from evsim.workflow.report import render_report, write_report

DASH = "\u2014"

SUMMARY = {
    "problem": "toy", "reference": "exact", "spikes": 123456, "rmse": 1.5e-4, "missing": None,
    "not_a_number": math.nan, "empty_dict": {}, "empty_list": [], "nested": {"a": 1, "b": {"c": None}},
    "energy": {"loihi": {"energy": {"synaptic_ops": 1e-6}, "total": 2e-6}},
    "rows": [{"model": f"model {i}", "value": i * 0.1, "only_some": 7 if i == 0 else None,
              "detail": {"k": i}, **{f"wide_column_{j}": 1.23456789e-5 * j for j in range(40)}}
             for i in range(3)],
    "long_list": [0.123456789 * k for k in range(200)],
}


class _Cells(HTMLParser):
    """Texts of the innermost ``td`` cells and, per ``table``, whether its parent is the wrap."""

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.cells: list[str] = []
        self.table_parents: list[str] = []
        self._text: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "table":
            self.table_parents.append(self.stack[-1][1] if self.stack and self.stack[-1][0] == "div" else "")
        if tag == "td":
            self._text.append([])
        self.stack.append((tag, cls))

    def handle_endtag(self, tag):
        while self.stack:
            top, _ = self.stack.pop()
            if top == tag:
                break
        if tag == "td":
            self.cells.append("".join(self._text.pop()).strip())

    def handle_data(self, data):
        if self._text:
            self._text[-1].append(data)


@pytest.fixture
def report_dir(tmp_path):
    (tmp_path / "summary.json").write_text(json.dumps(SUMMARY))
    return tmp_path


def test_tables_scroll_in_a_container_and_missing_values_are_dashes(report_dir):
    text = render_report(report_dir)
    p = _Cells()
    p.feed(text)
    assert p.table_parents and all(parent == "table-wrap" for parent in p.table_parents)
    assert "div.table-wrap { max-width: 100%; overflow-x: auto; }" in text
    for bad in ("None", "nan", "{}", "[]"):
        assert bad not in p.cells, bad
    assert p.cells.count(DASH) >= 6      # None, NaN, {}, [], an absent column value, a nested None
    assert "wide_column_39" in text and ">k<" in text      # dicts in rows become nested tables


def test_sweep_points_render_without_none(tmp_path):
    sweep = {"problem": "heat1d", "swept": {}, "fixed": {"engine": "compiled"}, "pareto": [0],
             "points": [{"quota": 1e-4, "mesh": None, "mapping": None, "bandwidth": math.inf,
                         "spikes": 1000, "rmse": 1e-3}]}
    (tmp_path / "sweep.json").write_text(json.dumps(sweep))
    p = _Cells()
    p.feed(render_report(tmp_path))
    assert "None" not in p.cells and "{}" not in p.cells
    assert p.cells.count(DASH) == 3 and "inf" in p.cells


def test_report_fits_a_1400_px_window(report_dir, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed")
    page = write_report(report_dir)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chrome-profile'}", "--window-size=1400,2000",
           "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    width = int(done.stdout.split('data-page-width="', 1)[1].split('"', 1)[0])
    assert width <= 1400
