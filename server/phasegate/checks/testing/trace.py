"""TEST-TRACE: every requirement id is referenced by at least one test.

A test file references ``REQ-001`` by a marker (``@pytest.mark.req("REQ-001")``), in a
docstring, or in a comment — any occurrence of the id in a test file counts. Spec Kit and
Kiro ids are scoped by feature folder (:mod:`phasegate.features`): a test's mention of
``FR-001`` counts for the feature the test names (``specs/001-auth``, ``001-auth``,
Kiro's ``Feature: csv-export``) or whose ``tasks.md`` names the test file, for the only
feature that defines ``FR-001``, or for the one it qualifies (``001-auth/FR-001``); a
mention that several features could claim counts for none. A task of a feature's
``tasks.md`` that names an existing test file and cites ids (``T012 Contract test for
FR-001 in tests/contract/test_users.py``; Kiro's ``_Requirements: 1.2_``) traces those ids
to that test (:mod:`phasegate.tasks`).

An id no test references is a finding on its line in the requirements document, naming
its feature; a requirement its document marks as removed is not asked for. Score: share
of requirement ids referenced by a test. Not applicable when no test file matches
``artifacts.tests`` and the workspace's sources are all in other languages than Python,
or it has tests in another language (``*_test.go``, ``*.test.ts``, ``tests/*.rs``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Finding, Range, Severity
from phasegate.tasks import TASKS_GLOBS
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.documents import Requirement
    from phasegate.features import RequirementScopes
    from phasegate.workspace import Workspace


class TestTraceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(
        default_factory=lambda: list(TASKS_GLOBS),
        description="Globs of the task lists (Spec Kit, Kiro) whose test tasks trace the "
        "ids they cite to the test files they name.",
    )


class TestTrace(Check):
    __test__ = False  # not a pytest test class

    id = "TEST-TRACE"
    new_code_rule = "documents"
    title = "Requirements traced to tests"
    description = (
        "Every requirement id is referenced by at least one test (marker, docstring or "
        "comment). Spec Kit and Kiro ids are scoped by feature folder: a mention counts for "
        "the feature the test names or whose tasks.md names it, for the only feature that "
        "defines the id, or for the one it qualifies (`001-auth/FR-001`); a task that names "
        "an existing test file and cites ids traces them to that test. Each unreferenced id "
        "is a finding on its definition, naming its feature (requirements marked removed "
        "are skipped). Score: share of ids referenced. Not applicable when no test file "
        "matches `artifacts.tests` and the sources are all in other languages than Python "
        "or the tests are in another language."
    )
    scope = "project"
    default_owner = "qa_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING
    Options = TestTraceOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.tests, *config.artifacts.requirements, *TASKS_GLOBS]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        from phasegate.documents import id_prefixes, id_regex, load_requirement_docs
        from phasegate.features import requirement_scopes, scope_of, withdrawn
        from phasegate.languages import no_python_reason
        from phasegate.tasks import PathIndex, parse_tasks

        opts = ctx.options
        assert isinstance(opts, TestTraceOptions)
        ws = ctx.workspace
        docs = load_requirement_docs(ws, ctx.config)
        if not any(d.requirements for d in docs):
            return CheckOutcome(score=1.0)
        scopes = requirement_scopes(docs)
        prefixes = id_prefixes(ctx.config)
        pattern = id_regex(prefixes)
        tests = ctx.config.artifacts.tests
        files = ctx.input_files()
        test_files = [f for f in files if matches(f, tests)]
        if not test_files:
            reason = no_python_reason(ws) or _other_language_tests(ws)
            if reason is not None:
                return CheckOutcome(score=1.0, not_applicable=reason)

        # Task lists: the test files each feature names, and the ids its test tasks trace.
        index = PathIndex(test_files)
        linked: dict[str, set[str]] = {}
        referenced: set[tuple[str, str]] = set()
        for path in files if test_files else ():
            if path in test_files or not matches(path, opts.tasks):
                continue
            text = ws.read_text(path)
            feature = scope_of(path)
            if not text or not feature:
                continue
            tdoc = parse_tasks(text, path, prefixes)
            for written in tdoc.files:
                hit = index.match(written)
                if hit is not None:
                    linked.setdefault(hit, set()).add(feature)
            fscope = None
            for task in tdoc.tasks:
                if not task.cited or not any(index.match(p) for p in task.files):
                    continue
                if fscope is None:
                    fscope = scopes.file_scope(path, text)
                for ref in task.cited:
                    key = scopes.resolve(ref, fscope).key
                    if key is not None:
                        referenced.add(key)

        ambiguous: dict[tuple[str, str], list[str]] = {}
        for path in test_files:
            text = ws.read_text(path)
            if not text:
                continue
            for ref, res in scopes.references(path, text, pattern, linked.get(path, ())):
                if res.key is not None:
                    referenced.add(res.key)
                for c in res.candidates:
                    ambiguous.setdefault((c, ref.id), []).append(
                        f"{path}:{ref.line + 1} mentions {ref.id}, but "
                        + scopes.hint(ref.id, res.candidates)
                    )

        findings: list[Finding] = []
        seen: set[tuple[str, str]] = set()
        for doc in docs:
            for req in doc.requirements:
                key = scopes.key(req)
                if key in seen or withdrawn(req):
                    continue
                seen.add(key)
                if key in referenced:
                    continue
                findings.append(
                    ctx.finding(
                        req.path,
                        _message(scopes, req, key[0], ambiguous.get(key, [])),
                        Range.lines(req.line, req.character, req.end_character),
                    )
                )
        total = len(seen)
        return CheckOutcome(findings=findings, score=1.0 - len(findings) / total)


# Test files of other languages: a workspace whose tests are all of these has nothing for
# the (Python) test globs to find.
_OTHER_TESTS: tuple[str, ...] = (
    "*_test.go", "*.test.ts", "*.test.tsx", "*.test.js", "*.test.jsx", "*.test.mjs",
    "*.spec.ts", "*.spec.tsx", "*.spec.js", "*.spec.jsx", "**/tests/**/*.rs", "*_spec.rb",
    "*Test.java", "*Test.kt", "*Tests.swift", "*Tests.cs", "*_test.dart", "*_test.exs",
)  # fmt: skip


def _other_language_tests(ws: Workspace) -> str | None:
    """Why the check has nothing to judge when tests exist only in other languages."""
    found = ws.glob(_OTHER_TESTS)
    if not found:
        return None
    return (
        f"the tests are not Python (e.g. {found[0]}): set `artifacts.tests` to trace "
        "requirements to them"
    )


def _message(scopes: RequirementScopes, req: Requirement, scope: str, notes: list[str]) -> str:
    rid = req.id
    if not scope:
        return (
            f"{rid} is not referenced by any test "
            f'(add @pytest.mark.req("{rid}") or mention it in a test docstring)'
        )
    feature = scopes.features[scope]
    # The plain id resolves from any test when no other scope defines it.
    write = rid if scopes.defined_in(rid) == [scope] else f"{scope}/{rid}"
    msg = (
        f"{rid} of feature {scope} is not referenced by any test (mention {write} in a "
        f"test, or cite {rid} in a task of {feature.folder}/tasks.md that names the test file)"
    )
    if notes:
        more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
        msg += f"; {notes[0]}{more}"
    return msg
