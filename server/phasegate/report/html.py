"""Rendering :class:`~phasegate.report.data.ReportData` as one self-contained HTML page.

No script, no external stylesheet, font or image: inline CSS and inline SVG only, so the
file opens offline, attaches to a CI run, and passes a strict Content-Security-Policy
(``default-src 'none'; style-src 'unsafe-inline'``) which the page itself declares.

The page is a Jinja2 template, ``templates/report.html.j2`` (its pieces are macros in
``templates/macros.html.j2``, its stylesheet ``templates/report.css``), rendered with
autoescaping on: every value the templates print is HTML-escaped unless it is
:class:`~markupsafe.Markup`. The only Markup made here is the SVG of
:mod:`phasegate.report.svg`, which escapes what it draws itself. A line break in a
template's text, with the indentation after it, is left out of the page
(:class:`JoinLines`), so the templates can be indented and the page stays as compact as
it was when it was built from strings.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import TOKEN_DATA, Token, TokenStream
from markupsafe import Markup

from phasegate.report.data import FindingGroup, PhaseMetrics, ReportData
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
PAGE_TEMPLATE = "report.html.j2"
MACROS_TEMPLATE = "macros.html.j2"
# Templates whose text has its line breaks and the indentation after them left out.
JOINED_SUFFIX = ".j2"


class JoinLines(Extension):
    """Leaves out a line break in a ``*.j2`` template's text, and the spaces and tabs
    after it. Only the template's own text changes: what its expressions print (a
    requirement with line breaks, the included stylesheet) is kept as it is."""

    def filter_stream(self, stream: TokenStream) -> Iterable[Token]:
        if not (stream.name or "").endswith(JOINED_SUFFIX):
            return stream
        return _join_lines(stream)


def _join_lines(stream: Iterable[Token]) -> Iterator[Token]:
    for token in stream:
        if token.type == TOKEN_DATA:
            lines = token.value.replace("\r\n", "\n").split("\n")
            value = lines[0] + "".join(line.lstrip(" \t") for line in lines[1:])
            yield Token(token.lineno, token.type, value)
        else:
            yield token


def _ts(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _score(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def _f2(v: float) -> str:
    return f"{v:.2f}"


def _opt(v: int | None) -> str:
    return "—" if v is None else str(v)


def _shlex_join(argv: list[str]) -> str:
    return shlex.join(argv)


@cache
def environment() -> Environment:
    """The report's Jinja2 environment: templates from the package, autoescaping on,
    an undefined name an error."""
    env = Environment(
        loader=PackageLoader("phasegate.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        extensions=[JoinLines],
    )
    env.filters.update(
        duration=format_duration,
        ts=_ts,
        score=_score,
        f2=_f2,
        opt=_opt,
        shlex_join=_shlex_join,
    )
    return env


def _svg(markup: str) -> Markup:
    """An SVG chart from :mod:`phasegate.report.svg`, which escapes what it draws."""
    return Markup(markup)


def _timeline_chart(data: ReportData) -> Markup:
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
        in (
            "phase_started",
            "phase_completed",
            "phase_stalled",
            "phase_blocked",
            "phase_regressed",
            "agent_waiting",
        )
    ]
    return _svg(
        timeline_chart("Session timeline: iterations per phase over time", lanes, spans, marks)
    )


def _phase_chart(ph: PhaseMetrics) -> Markup:
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
    if not points:
        return Markup("")
    return _svg(score_chart(f"{ph.title}: gate score against threshold per iteration", points))


def _time_charts(data: ReportData) -> list[tuple[str, Markup]]:
    title_of = {ph.name: ph.title for ph in data.phases}
    per_phase = [(title_of.get(k, k), v) for k, v in data.time.per_phase.items()]
    charts = [
        ("Time per phase", per_phase),
        ("Time per persona", list(data.time.per_persona.items())),
        ("Time per check (all iterations)", list(data.time.per_check.items())),
    ]
    return [(title, _svg(bar_chart(title, items))) for title, items in charts]


def _findings_by_phase(data: ReportData) -> list[tuple[str, list[FindingGroup]]]:
    """The open finding groups per phase, phases in the order of their first group."""
    by_phase: dict[str, list[FindingGroup]] = {}
    for g in data.open_findings.groups:
        by_phase.setdefault(g.phase, []).append(g)
    return list(by_phase.items())


def _macro(name: str) -> Any:
    return getattr(environment().get_template(MACROS_TEMPLATE).module, name)


def _finding_group(g: FindingGroup) -> str:
    """One check's open findings, as the page shows them (a ``<details>`` block)."""
    return str(_macro("finding_group")(g))


def render_html(data: ReportData) -> str:
    """The whole report page."""
    page = environment().get_template(PAGE_TEMPLATE)
    return page.render(
        data=data,
        csp=CSP,
        timeline_chart=_timeline_chart(data),
        phases=[(ph, _phase_chart(ph)) for ph in data.phases],
        time_charts=_time_charts(data),
        findings_by_phase=_findings_by_phase(data),
        titles={ph.name: ph.title for ph in data.phases},
    )
