"""The report page's Jinja2 templates: autoescaped, strict, and the page they make.

Every text of the report data, set to markup, comes out as that text and nothing else;
the page keeps the exact markup it had when it was built from strings (the snippets
below are what that renderer wrote), including the spaces where template lines join.
"""

from __future__ import annotations

import itertools
import types
from html.parser import HTMLParser
from importlib.resources import files
from typing import Any, Literal, Union, get_args, get_origin

import jinja2
import pytest
from pydantic import BaseModel

from phasegate.model import Evidence
from phasegate.report.data import (
    FindingGroup,
    IterationMetrics,
    OpenFinding,
    OpenFindings,
    PersonaMetrics,
    PhaseMetrics,
    ReportData,
    SessionInfo,
    TimeMetrics,
    Totals,
    Traceability,
    TraceRow,
)
from phasegate.report.html import (
    MACROS_TEMPLATE,
    PAGE_TEMPLATE,
    _finding_group,
    environment,
    render_html,
)

TEMPLATES = files("phasegate.report") / "templates"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Collect:
    parser = _Collect()
    parser.feed(page)
    parser.close()
    return parser


# -- the environment ------------------------------------------------------------------------


def test_environment_autoescapes_and_refuses_undefined_names() -> None:
    env = environment()
    assert env.autoescape is True
    assert env.undefined is jinja2.StrictUndefined
    for name in (PAGE_TEMPLATE, MACROS_TEMPLATE):
        assert env.get_template(name).filename is not None
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ nope }}").render()
    assert env.from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"


def test_templates_are_package_resources() -> None:
    names = {p.name for p in TEMPLATES.iterdir()}
    assert {"report.html.j2", "macros.html.j2", "report.css"} <= names


# -- every text is escaped ------------------------------------------------------------------

_counter = itertools.count()


def _payload() -> str:
    n = next(_counter)
    return f"<blink id=\"p{n}\">p{n} &amp; 'q'</blink>"


def _value(annotation: Any) -> Any:
    """A value of ``annotation`` whose every string is a fresh markup payload."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        return _value(next(a for a in args if a is not type(None)))
    if origin is Literal:
        return args[0]
    if origin is list:
        return [_value(args[0]), _value(args[0])]
    if origin is dict:
        return {_value(args[0]): _value(args[1])}
    if annotation is str:
        return _payload()
    if annotation is bool:
        return False  # failed: badges, errors and "failed" persona lines are shown
    if annotation is int:
        return 1
    if annotation is float:
        return 1.5
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation)
    raise AssertionError(f"no value for {annotation!r}")


def _model(cls: type[BaseModel]) -> Any:
    values = {name: _value(field.annotation) for name, field in cls.model_fields.items()}
    return cls.model_validate(values)


def hostile_report() -> ReportData:
    data = _model(ReportData)
    assert isinstance(data, ReportData)
    # the timeline's phases and the findings' phases name the report's phases
    for entry, phase in zip(data.timeline, data.phases, strict=True):
        entry.phase = phase.name
    data.open_findings.groups[0].phase = data.phases[0].name
    data.open_findings.groups[0].evidence = Evidence(
        how="ran", rule=_payload(), tool_version=_payload(), commands=[[_payload(), "x y"]]
    )
    data.open_findings.groups[1].error = None
    data.open_findings.groups[1].skipped = _payload()
    data.traceability.rows[0].gaps = []  # its design, code and tests are listed
    return data


def test_every_text_of_the_report_is_escaped_once() -> None:
    data = hostile_report()
    page = render_html(data)
    parsed = parse(page)
    assert "blink" not in parsed.tags
    assert "<blink" not in page
    text = "".join(parsed.text)
    shown = [m for m in _shown_texts(data) if m in text]
    # each payload is found as text: escaped once (none: a tag; twice: "&amp;#39;")
    assert shown == list(_shown_texts(data)), set(_shown_texts(data)) - set(shown)


def _shown_texts(data: ReportData) -> list[str]:
    """The texts the page shows as they are (SVG labels are quoted within other text)."""
    s = data.session
    ph = data.phases[0]
    it = ph.iterations[0]
    p = it.personas[0]
    row = data.traceability.rows[0]
    g0, g1 = data.open_findings.groups
    f = g0.findings[0]
    assert g0.evidence is not None and g0.evidence.rule is not None
    return [
        s.id,
        s.requirement,
        s.status,
        data.workspace,
        *data.warnings,
        data.timeline[0].kind,
        data.timeline[0].summary,
        ph.title,
        ph.message,
        ph.status,
        it.outcome,
        p.persona,
        p.reason,
        p.error or "",
        *it.failed_checks,
        data.traceability.note,
        row.id,
        row.title,
        row.location,
        *row.design,
        *row.code,
        *row.tests,
        g0.check,
        g0.error or "",
        g1.skipped or "",
        g0.evidence.rule,
        f.path,
        f.severity,
        f.message,
        f.owner,
        data.open_findings.note,
        data.schema_,
    ]


def test_a_line_break_in_the_data_is_kept() -> None:
    data = hostile_report()
    data.session.requirement = "first line\nsecond line"
    page = render_html(data)
    assert '<p class="requirement">first line\nsecond line</p>' in page


# -- the page as it was ---------------------------------------------------------------------


def small_report() -> ReportData:
    ev = Evidence(
        how="ran",
        rule="pytest, coverage",
        tool_version="8.0",
        commands=[["python", "-m", "pytest", "a b"]],
        exit_codes=[1, None],
        timed_out=True,
        duration_s=1.5,
        commit="0123456789abcdef",
        dirty=True,
    )
    group = FindingGroup(
        phase="impl",
        check="X",
        source="evaluated",
        passed=False,
        score=0.5,
        blocking=True,
        findings=[
            OpenFinding(
                path="a.py", line=3, character=1, severity="warning", message="m", owner="o"
            ),
            OpenFinding(path="b.py", line=1, character=2, severity="error", message="n"),
        ],
        evidence=ev,
    )
    persona = PersonaMetrics(persona="writer", reason="why", ok=False, error="boom", duration_s=1)
    iteration = IterationMetrics(
        number=1,
        score=0.5,
        threshold=0.75,
        passed=False,
        outcome="retry",
        personas=[persona],
        findings_count=2,
        findings_fixed=1,
        failed_checks=["A", "B"],
        duration_s=2.0,
    )
    phase = PhaseMetrics(
        name="impl",
        title="Implementation",
        status="in_progress",
        message="msg",
        persona_iterations=1,
        duration_s=2.0,
        iterations=[iteration],
    )
    row = TraceRow(
        id="REQ-1", title="T", location="r.md:3", design=["D"], tests=["t.py"], gaps=["code"]
    )
    return ReportData(
        generated_at=0,
        workspace="w",
        session=SessionInfo(id="s", requirement="", status="running"),
        totals=Totals(),
        phases=[phase],
        time=TimeMetrics(),
        timeline=[],
        traceability=Traceability(rows=[row], traced_to_design=1, traced_to_tests=1),
        open_findings=OpenFindings(total=2, groups=[group]),
    )


# What the string-built renderer wrote for small_report() (entities as markupsafe writes
# them: &#39; for ', where html.escape wrote &#x27;).
SNIPPETS = [
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta http-equiv='
    '"Content-Security-Policy" content="default-src &#39;none&#39;; style-src '
    '&#39;unsafe-inline&#39;; img-src data:"><meta name="viewport" content="width=device-width,'
    ' initial-scale=1"><title>phasegate report · s</title><style>\n:root {',
    "</style></head><body><header><h1>phasegate report · session <code>s</code> <span class="
    '"badge running">running</span></h1><p class="requirement"><em>no requirement recorded</em>'
    '</p><p class="meta">workspace <span class="path">w</span></p><p class="meta">started — · '
    "last update — · report generated 1970-01-01 00:00:00 UTC</p></header><main><section "
    'class="cards" id="summary"><div class="card"><div class="v">0/0</div><div class="k">'
    "phases completed</div></div>",
    '<p class="muted">The journal has no events.</p></div></section><section id="phases"><h2>'
    'Phases</h2><div class="panel phase" id="phase-impl"><div class="phase-head"><h3>'
    'Implementation</h3><span class="badge in_progress">in progress</span><span class="muted">'
    'best — · 1 persona iterations · 2.00 s</span></div><p class="muted">msg</p><div class='
    '"phase-body"><svg ',
    '<tbody><tr><td class="num">1</td><td class="num">0.50</td><td class="num">0.75</td><td>'
    '<span class="badge retry">retry</span></td><td><ul class="plain"><li><strong>writer'
    '</strong> 1.00 s <span class="badge error">failed</span> boom <span class="muted">— why'
    '</span></li></ul></td><td class="num">1</td><td class="num">—</td><td class="num">2</td>'
    '<td>A, B</td><td class="num">2.00 s</td></tr></tbody></table></div></div></section>'
    '<section id="time"><h2>Time spent</h2><div class="panel charts"><div><h3>Time per phase'
    "</h3><svg ",
    '<section id="traceability"><h2>Traceability matrix</h2><div class="panel"><p>1 '
    "requirements · traced into the design: 1/1 · to code: 0/1 · to tests: 1/1</p><table>"
    "<thead><tr><th>id</th><th>requirement</th><th>design section</th><th>code</th><th>tests"
    '</th></tr></thead><tbody><tr class="gap-row"><td class="id"><strong>REQ-1</strong></td>'
    '<td>T<div class="muted path">r.md:3</div></td><td><ul class="plain"><li>D</li></ul></td>'
    '<td class="gap">missing</td><td><ul class="plain"><li class="path">t.py</li></ul></td>'
    '</tr></tbody></table></div></section><section id="findings"><h2>Open findings (2)</h2>'
    '<div class="panel"><h3>Implementation</h3><details open class="finding-group">',
    "<footer>phasegate report schema phasegate-report/1 · generated 1970-01-01 00:00:00 UTC"
    "</footer></main></body></html>\n",
]
FINDING_GROUP = (
    '<details open class="finding-group"><summary><code>X</code> <span class="badge failed">'
    'failed</span> 2 findings · score 0.50 · blocking · <span class="muted">evaluated now</span>'
    '</summary><p class="muted evidence">evidence: ran (pytest, coverage; 8.0) · exit 1, none · '
    "<strong>timed out</strong> · 1.50 s · commit <code>0123456789</code> + uncommitted changes"
    '</p><ul class="plain muted"><li><code>python -m pytest &#39;a b&#39;</code></li></ul>'
    "<table><thead><tr><th>where</th><th>severity</th><th>message</th><th>owner</th></tr>"
    '</thead><tbody><tr><td class="path">a.py:3:1</td><td><span class="badge warning">warning'
    '</span></td><td>m</td><td>o</td></tr><tr><td class="path">b.py:1:2</td><td><span class='
    '"badge error">error</span></td><td>n</td><td></td></tr></tbody></table></details>'
)


def test_the_page_keeps_its_markup() -> None:
    page = render_html(small_report())
    for snippet in SNIPPETS:
        assert snippet in page
    assert FINDING_GROUP in page
    assert _finding_group(small_report().open_findings.groups[0]) == FINDING_GROUP


def test_template_line_breaks_are_left_out_and_the_stylesheet_is_verbatim() -> None:
    page = render_html(small_report())
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    head, rest = page.split("<style>", 1)
    style, tail = rest.split("</style>", 1)
    assert style == "\n" + css
    assert head.count("\n") == 1  # after <!DOCTYPE html>
    assert tail.count("\n") == 1 and tail.endswith("</html>\n")


def test_evidence_lines() -> None:
    group = small_report().open_findings.groups[0]
    cases: list[tuple[Evidence | None, str]] = [
        (None, ""),
        (Evidence(how="cached"), '<p class="muted evidence">evidence: from the cache</p>'),
        (
            Evidence(how="ran", rule="in-process", tool_version="1"),
            '<p class="muted evidence">evidence: ran in-process</p>',
        ),
        (
            Evidence(how="not_run", rule="ruff", tool_version="0.5", exit_codes=[None]),
            '<p class="muted evidence">evidence: could not run (ruff 0.5) · exit none</p>',
        ),
        (
            Evidence(how="skipped", commit="abc", dirty=False),
            '<p class="muted evidence">evidence: skipped · commit <code>abc</code></p>',
        ),
    ]
    for evidence, expected in cases:
        group.evidence = evidence
        html = _finding_group(group)
        start = html.index("</summary>") + len("</summary>")
        assert html[start:].startswith(expected + "<table>"), (evidence, html[start:][:200])
