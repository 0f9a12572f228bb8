"""``nurture report --html``: one self-contained page (inline SVG, no network) with charts."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["render_html"]

_COLOURS = {
    "cold": "#7aa6d8",
    "warm": "#f0b34a",
    "hot": "#e0523f",
    "email": "#4c78a8",
    "sms": "#59a14f",
    "call": "#e15759",
    "content": "#b07aa1",
    "open_rate": "#4c78a8",
    "click_rate": "#f28e2b",
    "reply_rate": "#59a14f",
}
_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1100px;color:#1f2933;background:#fafafa}h1{margin-bottom:0}p.meta{color:#6b7280;margin-top:4px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:16px 20px;margin:18px 0}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{padding:4px 8px;text-align:right;
border-bottom:1px solid #f0f0f0}th:first-child,td:first-child{text-align:left}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-size:11px;fill:#374151}
svg.chart{max-width:100%;height:auto}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


#: What a legend says for each key (a person reads words, not field names).
_LABELS = {"open_rate": "opened", "click_rate": "clicked", "reply_rate": "replied"}


def _legend(keys: Sequence[str]) -> str:
    items = "".join(
        f'<span><i style="background:{_COLOURS.get(k, "#999")}"></i>'
        f"{_e(_LABELS.get(k, k.replace('_', ' ')))}</span>"
        for k in keys
    )
    return f'<div class="legend">{items}</div>'


def _stacked_rows(chart_id: str, rows: list[tuple[str, dict[str, int]]], keys: list[str]) -> str:
    """Horizontal stacked bars, one row per label."""
    width, label_w, row_h = 900, 110, 26
    top = max((sum(values.get(k, 0) for k in keys) for _, values in rows), default=0) or 1
    parts = []
    for index, (label, values) in enumerate(rows):
        y = index * row_h + 4
        parts.append(f'<text x="0" y="{y + 15}">{_e(label)}</text>')
        x = float(label_w)
        for key in keys:
            span = (width - label_w - 60) * values.get(key, 0) / top
            if span > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{span:.1f}" height="{row_h - 8}" '
                    f'fill="{_COLOURS.get(key, "#999")}"><title>{_e(label)} {_e(key)}: '
                    f"{values.get(key, 0)}</title></rect>"
                )
            x += span
        total = sum(values.get(k, 0) for k in keys)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{total}</text>')
    height = len(rows) * row_h + 8
    return (
        f'<svg id="{chart_id}" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'role="img">{"".join(parts)}</svg>{_legend(keys)}'
    )


def _stacked_columns(
    chart_id: str, columns: list[tuple[str, dict[str, int]]], keys: list[str]
) -> str:
    """Vertical stacked bars, one column per label (dates)."""
    width, height, bottom = 1000, 220, 30
    top = max((sum(v.get(k, 0) for k in keys) for _, v in columns), default=0) or 1
    step = min((width - 40) / max(len(columns), 1), 60)  # one day is a bar, not the page
    parts = [
        f'<line x1="30" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#ccc"/>',
        f'<text x="0" y="12">{top}</text>',
    ]
    for index, (label, values) in enumerate(columns):
        x = 34 + index * step
        y = float(height - bottom)
        for key in keys:
            span = (height - bottom - 16) * values.get(key, 0) / top
            if span > 0:
                y -= span
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                    f'height="{span:.1f}" fill="{_COLOURS.get(key, "#999")}"><title>{_e(label)} '
                    f"{_e(key)}: {values.get(key, 0)}</title></rect>"
                )
        if index % max(1, len(columns) // 10) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 12}">{_e(label[5:])}</text>')
    return (
        f'<svg id="{chart_id}" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'role="img">{"".join(parts)}</svg>{_legend(keys)}'
    )


def _histograms(chart_id: str, series: dict[str, list[int]]) -> str:
    """Small multiples: one row of ten score buckets per stage."""
    width, row_h, label_w = 900, 60, 110
    top = max((max(values) for values in series.values() if values), default=0) or 1
    bucket_w = (width - label_w) / 10
    parts = []
    for row, (stage, values) in enumerate(series.items()):
        base = row * row_h + row_h - 10
        parts.append(f'<text x="0" y="{base - 20}">{_e(stage)}</text>')
        for index, count in enumerate(values):
            span = (row_h - 18) * count / top
            x = label_w + index * bucket_w
            colour = (
                _COLOURS["hot"]
                if index >= 7
                else _COLOURS["warm"]
                if index >= 4
                else (_COLOURS["cold"])
            )
            parts.append(
                f'<rect x="{x:.1f}" y="{base - span:.1f}" width="{bucket_w - 4:.1f}" '
                f'height="{span:.1f}" fill="{colour}"><title>{_e(stage)} {index * 10}–'
                f"{index * 10 + 9}: {count}</title></rect>"
            )
        parts.append(f'<line x1="{label_w}" y1="{base}" x2="{width}" y2="{base}" stroke="#ddd"/>')
    axis = "".join(
        f'<text x="{label_w + i * bucket_w:.1f}" y="{len(series) * row_h + 12}">{i * 10}</text>'
        for i in range(10)
    )
    height = len(series) * row_h + 18
    return (
        f'<svg id="{chart_id}" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'role="img">{"".join(parts)}{axis}</svg>'
    )


def _rates(chart_id: str, sequences: list[dict[str, Any]]) -> str:
    """Open, click and reply rates per step (grouped bars)."""
    rows = [
        (f"{s['sequence']}/{step['step']}", step)
        for s in sequences
        for step in s["steps"]
        if step["sent"]
    ]
    keys = ["open_rate", "click_rate", "reply_rate"]
    width, label_w, row_h = 900, 260, 38
    parts = []
    for index, (label, step) in enumerate(rows):
        y = index * row_h + 4
        parts.append(f'<text x="0" y="{y + 14}">{_e(label)}</text>')
        for offset, key in enumerate(keys):
            value = step.get(key) or 0.0
            span = (width - label_w - 60) * value
            words = _LABELS[key]
            parts.append(
                f'<rect x="{label_w}" y="{y + offset * 11}" width="{span:.1f}" height="9" '
                f'fill="{_COLOURS[key]}"><title>{_e(label)} {words}: {value:.1%}</title></rect>'
                f'<text x="{label_w + span + 4:.1f}" y="{y + offset * 11 + 9}" '
                f'font-size="10">{value:.0%} {words}</text>'
            )
    height = max(len(rows), 1) * row_h + 8
    return (
        f'<svg id="{chart_id}" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'role="img">{"".join(parts)}</svg>{_legend(keys)}'
    )


def _step_table(sequences: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>sequence / step</th><th>sent</th><th>delivered</th><th>opened</th>"
        "<th>clicked</th><th>replied</th><th>meetings</th><th>unsubscribed</th>"
        "<th>deferred</th><th>failed</th></tr>"
    )
    rows = []
    for sequence in sequences:
        exits = ", ".join(f"{k} {v}" for k, v in sequence["exits"].items()) or "none"
        rows.append(
            f'<tr><td colspan="10"><b>{_e(sequence["sequence"])}</b> — active '
            f"{sequence['active']}, completed {sequence['completed']}, exits: "
            f"{_e(exits)}</td></tr>"
        )
        for step in sequence["steps"]:
            cells = "".join(
                f"<td>{step[k]}</td>"
                for k in (
                    "sent",
                    "delivered",
                    "opened",
                    "clicked",
                    "replied",
                    "meetings",
                    "unsubscribed",
                    "deferred",
                    "failed",
                )
            )
            rows.append(
                f"<tr><td>&nbsp;&nbsp;{_e(step['step'])} ({_e(step['channel'])})</td>{cells}</tr>"
            )
    return f"<table>{head}{''.join(rows)}</table>"


def _conversion_row(step: dict[str, Any]) -> str:
    rate = "—" if step["rate"] is None else f"{step['rate']:.1%}"
    days = "—" if step["median_days_in_from"] is None else str(step["median_days_in_from"])
    return (
        f"<tr><td>{_e(step['from'])} → {_e(step['to'])}</td><td>{step['reached']}</td>"
        f"<td>{rate}</td><td>{days}</td></tr>"
    )


def render_html(
    data: dict[str, Any], *, title: str = "nurture report", generated_at: datetime | None = None
) -> str:
    """The report as one HTML page: funnel, touches per day by channel, score distribution
    by stage, step performance, and the numbers behind them."""
    moment = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    funnel_rows = [
        (row["stage"], {t: row[t] for t in ("cold", "warm", "hot")})
        for row in data["funnel"]["rows"]
    ]
    days = [
        (row["date"], {k: v for k, v in row.items() if k != "date"})
        for row in data["touches_per_day"]
    ]
    conversion = "".join(_conversion_row(step) for step in data["conversion"]["steps"])
    body = f"""
<h1>{_e(title)}</h1>
<p class="meta">{data["funnel"]["total"]} contacts{_forgotten(data)} · generated {moment}
{" · since " + _e(data["since"]) if data.get("since") else ""}</p>
<section><h2>Funnel by stage and temperature</h2>
{_stacked_rows("chart-funnel", funnel_rows, ["cold", "warm", "hot"])}</section>
<section><h2>Conversion</h2><table><tr><th>step</th><th>reached</th><th>rate</th>
<th>median days in the earlier stage</th></tr>{conversion}</table></section>
<section><h2>Touches per day by channel</h2>
{_stacked_columns("chart-touches", days, ["email", "sms", "call", "content"])}</section>
<section><h2>Score distribution by stage</h2>
{_histograms("chart-scores", data["score_distribution"])}</section>
<section><h2>Step performance</h2>{_rates("chart-steps", data["sequences"])}
{_step_table(data["sequences"])}</section>
"""
    script = """
<script>
document.addEventListener("DOMContentLoaded", function () {
  var charts = document.querySelectorAll("svg.chart");
  document.body.setAttribute("data-charts", String(charts.length));
  charts.forEach(function (chart) {
    if (!chart.querySelector("rect")) { console.error("empty chart: " + chart.id); }
  });
});
</script>"""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}{script}</body></html>"
    )


def _forgotten(data: dict[str, Any]) -> str:
    count = data.get("forgotten") or 0
    return f" (of them {count} forgotten, counted anonymously)" if count else ""
