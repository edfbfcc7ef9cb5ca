"""Rendering :class:`~phasegate.report.data.ReportData` as one self-contained HTML page.

No script, no external stylesheet, font or image: inline CSS and inline SVG only, so the
file opens offline, attaches to a CI run, and passes a strict Content-Security-Policy
(``default-src 'none'; style-src 'unsafe-inline'``) which the page itself declares.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timezone
from html import escape

from phasegate.model import Evidence
from phasegate.report.data import (
    FindingGroup,
    IterationMetrics,
    PhaseMetrics,
    ReportData,
    TraceRow,
)
from phasegate.report.svg import (
    Mark,
    ScorePoint,
    Span,
    bar_chart,
    format_duration,
    score_chart,
    timeline_chart,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1f2328; background: #f6f8fa; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
header { background: #fff; border-bottom: 1px solid #d0d7de; padding: 20px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de;
  padding-bottom: 4px; }
h3 { font-size: 15px; margin: 0 0 8px; }
.meta { color: #57606a; margin: 2px 0; }
.requirement { font-size: 16px; margin: 8px 0 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 14px;
  min-width: 140px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { color: #57606a; font-size: 12px; }
.panel { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: 14px;
  margin: 0 0 14px; overflow-x: auto; }
.phase-head { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
.phase-body { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.phase-body table { flex: 1 1 460px; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; font-size: 12px;
  font-weight: 600; color: #fff; background: #6e7781; }
.badge.completed, .badge.passed { background: #1a7f37; }
.badge.failed, .badge.blocked, .badge.regressed, .badge.error { background: #cf222e; }
.badge.stalled, .badge.retry, .badge.waiting, .badge.warning { background: #9a6700; }
.badge.in_progress, .badge.running, .badge.info { background: #0969da; }
.badge.skipped, .badge.pending, .badge.hint { background: #8c959f; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2;
  vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { white-space: nowrap; }
td.gap { background: #ffebe9; color: #a40e26; font-weight: 600; }
tr.gap-row td:first-child { border-left: 3px solid #cf222e; }
code, .path { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; }
ul.plain { margin: 0; padding-left: 16px; }
.muted { color: #57606a; }
.warnings { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px;
  padding: 8px 14px; }
details > summary { cursor: pointer; font-weight: 600; margin: 4px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.charts > div { flex: 1 1 480px; }
svg.chart { display: block; max-width: 100%; height: auto; }
footer { color: #57606a; font-size: 12px; margin: 32px 0 8px; }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _ts(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _badge(status: str) -> str:
    return f'<span class="badge {_e(status)}">{_e(status.replace("_", " "))}</span>'


def _score(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _opt(v: int | None) -> str:
    return "—" if v is None else str(v)


def _header(data: ReportData) -> str:
    s = data.session
    return (
        "<header>"
        f"<h1>phasegate report · session <code>{_e(s.id)}</code> {_badge(s.status)}</h1>"
        f'<p class="requirement">{_e(s.requirement) or "<em>no requirement recorded</em>"}</p>'
        f'<p class="meta">workspace <span class="path">{_e(data.workspace)}</span></p>'
        f'<p class="meta">started {_ts(s.created_at)} · last update {_ts(s.updated_at)} · '
        f"report generated {_ts(data.generated_at)}</p>"
        "</header>"
    )


def _cards(data: ReportData) -> str:
    t = data.totals
    cards = [
        (f"{t.phases_completed}/{t.phases}", "phases completed"),
        (str(t.iterations), "persona iterations"),
        (str(t.persona_runs), "persona runs"),
        (str(t.gate_evaluations), "gate evaluations"),
        (str(t.open_findings), "open findings"),
        (format_duration(data.time.total_s), "session time"),
    ]
    inner = "".join(
        f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>'
        for v, k in cards
    )
    return f'<section class="cards" id="summary">{inner}</section>'


def _warnings(data: ReportData) -> str:
    if not data.warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in data.warnings)
    return f'<section class="warnings" id="warnings"><ul class="plain">{items}</ul></section>'


def _timeline(data: ReportData) -> str:
    lanes = [ph.title for ph in data.phases]
    title_of = {ph.name: ph.title for ph in data.phases}
    t0 = data.session.created_at or 0.0
    if data.timeline:
        t0 = min(t0, data.timeline[0].ts) if t0 else data.timeline[0].ts
    spans: list[Span] = []
    for ph in data.phases:
        for it in ph.iterations:
            start = (it.started_at or t0) - t0
            label = (
                f"{ph.title} iteration {it.number}: score {it.score:.2f} / {it.threshold:.2f}, "
                f"{it.outcome}, {format_duration(it.duration_s)}"
            )
            spans.append(Span(ph.title, start, start + it.duration_s, label, it.outcome))
    marks = [
        Mark(
            title_of.get(e.phase or "", ""),
            e.offset_s,
            f"+{format_duration(e.offset_s)} {e.summary}",
        )
        for e in data.timeline
        if e.phase
        and e.kind
        in ("phase_started", "phase_completed", "phase_stalled", "phase_blocked", "phase_regressed")
    ]
    chart = timeline_chart("Session timeline: iterations per phase over time", lanes, spans, marks)
    rows = "".join(
        f'<tr><td class="num">+{_e(format_duration(e.offset_s))}</td><td>{_e(e.phase or "")}</td>'
        f"<td><code>{_e(e.kind)}</code></td><td>{_e(e.summary)}</td></tr>"
        for e in data.timeline
    )
    events = (
        f"<details><summary>{len(data.timeline)} journal events</summary>"
        '<table><thead><tr><th class="num">time</th><th>phase</th><th>event</th><th>what</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></details>"
        if data.timeline
        else '<p class="muted">The journal has no events.</p>'
    )
    return (
        '<section id="timeline"><h2>Requirement and session timeline</h2>'
        f'<div class="panel"><p>Requirement: <strong>{_e(data.session.requirement)}</strong></p>'
        f"{chart}{events}</div></section>"
    )


def _personas_cell(it: IterationMetrics) -> str:
    if not it.personas:
        return '<span class="muted">none (evaluation only)</span>'
    items = []
    for p in it.personas:
        state = "" if p.ok else f' <span class="badge error">failed</span> {_e(p.error or "")}'
        reason = f' <span class="muted">— {_e(p.reason)}</span>' if p.reason else ""
        items.append(
            f"<li><strong>{_e(p.persona)}</strong> {format_duration(p.duration_s)}{state}{reason}"
            "</li>"
        )
    return f'<ul class="plain">{"".join(items)}</ul>'


def _phase(ph: PhaseMetrics) -> str:
    points = [
        ScorePoint(
            iteration=it.number,
            score=it.score,
            threshold=it.threshold,
            passed=it.passed,
            outcome=it.outcome,
            detail=", ".join(p.persona for p in it.personas) or "evaluation only",
        )
        for it in ph.iterations
    ]
    chart = (
        score_chart(f"{ph.title}: gate score against threshold per iteration", points)
        if points
        else ""
    )
    rows = "".join(
        f'<tr><td class="num">{"eval" if it.number == 0 else it.number}</td>'
        f'<td class="num">{it.score:.2f}</td><td class="num">{it.threshold:.2f}</td>'
        f"<td>{_badge(it.outcome)}</td><td>{_personas_cell(it)}</td>"
        f'<td class="num">{_opt(it.findings_fixed)}</td>'
        f'<td class="num">{_opt(it.findings_new)}</td>'
        f'<td class="num">{it.findings_count}</td>'
        f"<td>{_e(', '.join(it.failed_checks)) or '—'}</td>"
        f'<td class="num">{format_duration(it.duration_s)}</td></tr>'
        for it in ph.iterations
    )
    table = (
        "<table><thead><tr>"
        '<th class="num">iteration</th><th class="num">score</th><th class="num">threshold</th>'
        "<th>outcome</th><th>personas</th>"
        '<th class="num">fixed</th><th class="num">new</th><th class="num">left</th>'
        '<th>failed checks</th><th class="num">time</th>'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if ph.iterations
        else '<p class="muted">Not started.</p>'
    )
    message = f'<p class="muted">{_e(ph.message)}</p>' if ph.message else ""
    return (
        f'<div class="panel phase" id="phase-{_e(ph.name)}">'
        f'<div class="phase-head"><h3>{_e(ph.title)}</h3>{_badge(ph.status)}'
        f'<span class="muted">best {_score(ph.best_score)} · '
        f"{ph.persona_iterations} persona iterations · {format_duration(ph.duration_s)}</span>"
        f'</div>{message}<div class="phase-body">{chart}{table}</div></div>'
    )


def _phases(data: ReportData) -> str:
    body = "".join(_phase(ph) for ph in data.phases) or (
        '<p class="muted">No phase has run yet.</p>'
    )
    return f'<section id="phases"><h2>Phases</h2>{body}</section>'


def _time(data: ReportData) -> str:
    title_of = {ph.name: ph.title for ph in data.phases}
    per_phase = [(title_of.get(k, k), v) for k, v in data.time.per_phase.items()]
    charts = [
        ("Time per phase", per_phase),
        ("Time per persona", list(data.time.per_persona.items())),
        ("Time per check (all iterations)", list(data.time.per_check.items())),
    ]
    inner = "".join(f"<div><h3>{_e(t)}</h3>{bar_chart(t, items)}</div>" for t, items in charts)
    return (
        f'<section id="time"><h2>Time spent</h2><div class="panel charts">{inner}</div></section>'
    )


def _cell(values: list[str], gap: bool, *, paths: bool = False) -> str:
    if gap:
        return '<td class="gap">missing</td>'
    cls = ' class="path"' if paths else ""
    items = "".join(f"<li{cls}>{_e(v)}</li>" for v in values)
    return f'<td><ul class="plain">{items}</ul></td>'


def _trace_row(r: TraceRow) -> str:
    row_cls = ' class="gap-row"' if r.gaps else ""
    loc = f'<div class="muted path">{_e(r.location)}</div>' if r.location else ""
    return (
        f'<tr{row_cls}><td class="id"><strong>{_e(r.id)}</strong></td>'
        f"<td>{_e(r.title)}{loc}</td>"
        f"{_cell(r.design, 'design' in r.gaps)}{_cell(r.code, 'code' in r.gaps, paths=True)}"
        f"{_cell(r.tests, 'tests' in r.gaps, paths=True)}</tr>"
    )


def _traceability(data: ReportData) -> str:
    t = data.traceability
    note = f'<p class="muted">{_e(t.note)}</p>' if t.note else ""
    if not t.rows:
        body = "" if t.note else '<p class="muted">No requirement ids found.</p>'
    else:
        n = len(t.rows)
        body = (
            f"<p>{n} requirements · traced into the design: {t.traced_to_design}/{n} · "
            f"to code: {t.traced_to_code}/{n} · to tests: {t.traced_to_tests}/{n}</p>"
            "<table><thead><tr><th>id</th><th>requirement</th><th>design section</th>"
            "<th>code</th><th>tests</th></tr></thead><tbody>"
            + "".join(_trace_row(r) for r in t.rows)
            + "</tbody></table>"
        )
    return (
        '<section id="traceability"><h2>Traceability matrix</h2>'
        f'<div class="panel">{note}{body}</div></section>'
    )


_HOW = {
    "ran": "ran",
    "cached": "from the cache",
    "skipped": "skipped",
    "not_run": "could not run",
}


def _evidence(ev: Evidence | None) -> str:
    """One line: how the result was obtained, by what, with what exit, at which commit;
    the commands it ran below it."""
    if ev is None:
        return ""
    parts = [_HOW.get(ev.how, ev.how)]
    if ev.rule:
        judge = ev.rule
        if ev.tool_version:
            judge += f"; {ev.tool_version}" if "," in judge else f" {ev.tool_version}"
        parts[0] += f" ({_e(judge)})" if ev.rule != "in-process" else " in-process"
    if ev.exit_codes:
        codes = ", ".join("none" if c is None else str(c) for c in ev.exit_codes)
        parts.append(f"exit {_e(codes)}")
    if ev.timed_out:
        parts.append("<strong>timed out</strong>")
    if ev.duration_s:
        parts.append(_e(format_duration(ev.duration_s)))
    if ev.commit:
        where = f"commit <code>{_e(ev.commit[:10])}</code>"
        parts.append(where + (" + uncommitted changes" if ev.dirty else ""))
    commands = "".join(f"<li><code>{_e(shlex.join(c))}</code></li>" for c in ev.commands)
    listed = f'<ul class="plain muted">{commands}</ul>' if commands else ""
    return f'<p class="muted evidence">evidence: {" · ".join(parts)}</p>{listed}'


def _finding_group(g: FindingGroup) -> str:
    status = (
        "error" if g.error else ("skipped" if g.skipped else ("passed" if g.passed else "failed"))
    )
    extra = ""
    if g.error:
        extra = f'<p class="muted">{_e(g.error)}</p>'
    elif g.skipped:
        extra = f'<p class="muted">{_e(g.skipped)}</p>'
    rows = "".join(
        f'<tr><td class="path">{_e(f.path)}:{f.line}:{f.character}</td>'
        f"<td>{_badge(f.severity)}</td><td>{_e(f.message)}</td><td>{_e(f.owner)}</td></tr>"
        for f in g.findings
    )
    table = (
        "<table><thead><tr><th>where</th><th>severity</th><th>message</th><th>owner</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
        if g.findings
        else ""
    )
    blocking = " · blocking" if g.blocking else ""
    origin = "as the session last scored it" if g.source == "session" else "evaluated now"
    return (
        f'<details open class="finding-group"><summary><code>{_e(g.check)}</code> '
        f"{_badge(status)} {_plural(len(g.findings), 'finding')} · score {g.score:.2f}{blocking} · "
        f'<span class="muted">{origin}</span>'
        f"</summary>{extra}{_evidence(g.evidence)}{table}</details>"
    )


def _findings(data: ReportData) -> str:
    of = data.open_findings
    note = f'<p class="muted">{_e(of.note)}</p>' if of.note else ""
    by_phase: dict[str, list[FindingGroup]] = {}
    for g in of.groups:
        by_phase.setdefault(g.phase, []).append(g)
    title_of = {ph.name: ph.title for ph in data.phases}
    blocks = "".join(
        f'<div class="panel"><h3>{_e(title_of.get(phase, phase))}</h3>'
        + "".join(_finding_group(g) for g in groups)
        + "</div>"
        for phase, groups in by_phase.items()
    )
    if not blocks:
        blocks = '<div class="panel"><p>No open findings.</p></div>'
    return f'<section id="findings"><h2>Open findings ({of.total})</h2>{note}{blocks}</section>'


def render_html(data: ReportData) -> str:
    """The whole report page."""
    title = f"phasegate report · {data.session.id}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"{_header(data)}<main>{_cards(data)}{_warnings(data)}{_timeline(data)}"
        f"{_phases(data)}{_time(data)}{_traceability(data)}{_findings(data)}"
        f"<footer>phasegate report schema {_e(data.schema_)} · "
        f"generated {_ts(data.generated_at)}</footer></main></body></html>\n"
    )
