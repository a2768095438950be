"""One self-contained HTML page of a run, an experiment or a sweep.

:func:`write_report` reads a result directory — ``summary.json`` (written by
``evsim run`` and ``evsim experiment``) and/or ``sweep.json`` (``evsim sweep``)
— and writes ``report.html`` next to them: the summary as tables (nested
dictionaries as nested tables, lists of records as tables, energy breakdowns
as one row per profile), the energy breakdown of a saved run (``result.npz``,
computed from its event counts), the sweep points with their Pareto membership, and
every ``.png``/``.gif``/``.svg`` figure of the directory embedded as a base64
``data:`` URI. Every table sits in a container that scrolls horizontally, so
the page keeps the window's width; missing values (None, NaN, empty
dictionaries and lists, a column a row lacks) read as a dash. The page loads
nothing from outside (no external scripts or links); one inline script records
after loading how many images decoded and how wide the page is.
"""
from __future__ import annotations

import base64
import html
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evsim.analysis import figures as F
from evsim.atomic import write_atomic

__all__ = ["write_report", "render_report"]

_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 1300px;
       color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
div.table-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; } span.missing { color: #999; }
div.list { max-width: 60em; }
th { background: #f0f0f0; } tr.pareto td { background: #eef7ee; }
figure { display: inline-block; margin: 0.5em; } figure img { max-width: 520px; border: 1px solid #ddd; }
figcaption { font-size: 0.8em; color: #555; }
"""


#: Inline self-check: after load, the body records how many embedded images
#: decoded (``data-images-ok``) and how many failed (``data-images-broken``),
#: and the page's width in CSS pixels (``data-page-width``: wide tables scroll
#: inside their container, so it stays the window's width), so a headless
#: browser's ``--dump-dom`` shows whether the page rendered and fits.
_SELF_CHECK = """<script>
window.addEventListener("load", function () {
  var ok = 0, bad = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; else bad++; }
  document.body.setAttribute("data-images-ok", ok);
  document.body.setAttribute("data-images-broken", bad);
  document.body.setAttribute("data-page-width", document.documentElement.scrollWidth);
});
</script>"""


#: How a missing value (None, NaN, an empty dict or list, an absent column) is shown.
_MISSING = '<span class="missing">\u2014</span>'


def _fmt(v: Any) -> str:
    """A scalar as text: integers with thin-space thousands, floats to 6 digits, None/NaN as —."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return _MISSING
    if isinstance(v, bool):
        return html.escape(str(v))
    if isinstance(v, int):
        return f"{v:,}".replace(",", "\u2009")
    if isinstance(v, float):
        return html.escape(str(v)) if math.isinf(v) else f"{v:.6g}"
    return html.escape(str(v))


def _is_record_list(v) -> bool:
    return isinstance(v, list) and v and all(isinstance(r, dict) for r in v)


def _is_energy_table(v) -> bool:
    return isinstance(v, dict) and bool(v) and all(isinstance(x, dict) and "total" in x for x in v.values())


def _wrap(table: str) -> str:
    """A table inside a container that scrolls horizontally when the table is wider than the page."""
    return f'<div class="table-wrap">{table}</div>'


def _cell(v: Any) -> str:
    """``<td>`` of any summary value: nested tables for dicts and records, lists joined, — if empty."""
    if v is None or v == "" or (isinstance(v, (dict, list)) and not v):
        return f"<td>{_MISSING}</td>"
    if _is_energy_table(v):
        return f"<td>{_energy_table(v)}</td>"
    if isinstance(v, dict):
        return f"<td>{_kv(v)}</td>"
    if _is_record_list(v):
        return f"<td>{_table(v)}</td>"
    if isinstance(v, list):
        shown = v if len(v) <= 64 else v[:64] + ["..."]
        return '<td><div class="list">' + ", ".join(_fmt(x) for x in shown) + "</div></td>"
    num = isinstance(v, (int, float)) and not isinstance(v, bool)
    return f'<td class="num">{_fmt(v)}</td>' if num else f"<td>{_fmt(v)}</td>"


def _table(rows: list[dict], highlight: set[int] | None = None, index: bool = True) -> str:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    head = ("<th>#</th>" if index else "") + "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = []
    for i, r in enumerate(rows):
        cls = ' class="pareto"' if highlight and i in highlight else ""
        cells = (f'<td class="num">{i}</td>' if index else "") + "".join(_cell(r.get(c)) for c in cols)
        body.append(f"<tr{cls}>{cells}</tr>")
    return _wrap(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _kv(d: dict) -> str:
    """A dictionary as a two-column table; nested values recurse."""
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th>{_cell(v)}</tr>" for k, v in d.items())
    return _wrap(f"<table>{rows}</table>")


def _energy_table(table: dict) -> str:
    """``{profile: {'energy': {kind: J}, 'total': J, ...}}`` as one row per profile."""
    rows = []
    for name, b in table.items():
        row = {"profile": name}
        row.update({f"{k} [J]": v for k, v in b.get("energy", {}).items()})
        row["total [J]"] = b["total"]
        rows.append(row)
    return _table(rows, index=False)


def _figures(directory: Path) -> str:
    items = []
    for p in sorted(directory.iterdir()):
        mime = _MIME.get(p.suffix.lower())
        if mime is None or not p.is_file():
            continue
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        items.append(f'<figure><img alt="{html.escape(p.stem)}" src="data:{mime};base64,{data}">'
                     f"<figcaption>{html.escape(p.name)}</figcaption></figure>")
    return "\n".join(items)


def _png_uri(fig) -> str:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    F.pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _energy_section(path: Path) -> str:
    """Energy breakdown per profile (no core mapping) and per-cell traffic of a saved run."""
    import evsim
    from evsim.analysis.energy import energy_table
    result = evsim.load(path)
    table = energy_table(result)
    imgs = "".join(f'<figure><img alt="{html.escape(name)}" src="{_png_uri(fig)}">'
                   f"<figcaption>{html.escape(name)}</figcaption></figure>"
                   for name, fig in (("energy breakdown", F.energy_bars(table)),
                                     ("per-cell traffic", F.cell_traffic(result))))
    return ("<h2>Energy from event counts</h2><p>Per profile, from the run's exact counts "
            "(synaptic fan-out model, no network-on-chip mapping, no static power).</p>"
            + _energy_table(table) + imgs)


def render_report(directory: str | Path) -> str:
    """The HTML text of the report of ``directory`` (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If the directory does not exist or holds neither ``summary.json`` nor
        ``sweep.json``.
    """
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"{d} is not a directory")
    summary_path, sweep_path = d / "summary.json", d / "sweep.json"
    if not summary_path.exists() and not sweep_path.exists():
        raise FileNotFoundError(f"{d} holds neither summary.json nor sweep.json")
    parts = []
    title = d.name
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        title = summary.get("problem") or summary.get("experiment") or title
        parts.append("<h2>Summary</h2>" + _kv(summary))
    if sweep_path.exists():
        sweep = json.loads(sweep_path.read_text())
        title = f"sweep of {sweep.get('problem', title)}"
        pareto = set(sweep.get("pareto", []))
        info = {k: v for k, v in sweep.items() if k not in ("points", "files")}
        parts.append("<h2>Sweep</h2>" + _kv(info))
        parts.append(f"<h2>Points ({len(sweep.get('points', []))}; Pareto-optimal rows shaded)</h2>"
                     + _table(sweep.get("points", []), pareto))
    if (d / "result.npz").exists():
        parts.append(_energy_section(d / "result.npz"))
    figs = _figures(d)
    if figs:
        parts.append("<h2>Figures</h2>" + figs)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>evsim report: {html.escape(str(title))}</title><style>{_CSS}</style></head>"
            f"<body><h1>evsim report: {html.escape(str(title))}</h1>"
            f"<p>Directory <code>{html.escape(str(d.resolve()))}</code>, written {stamp}.</p>"
            + "\n".join(parts) + _SELF_CHECK + "</body></html>\n")


def write_report(path: str | Path) -> Path:
    """Write ``path/report.html`` (self-contained: figures base64-embedded, written
    atomically) and return its path."""
    d = Path(path)
    return write_atomic(d / "report.html", render_report(d))
