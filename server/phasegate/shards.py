"""Validation split across machines: shards (``validate --shard I/N``) and their merge.

A CI matrix runs ``phasegate validate --shard I/N`` on N machines; ``phasegate merge``
combines their outputs into the verdict one ``validate`` would give: the same findings,
check scores, gate scores, pass or fail and exit status.

**What a shard runs** (:func:`plan`, the same on every shard: it depends only on the
configuration and the workspace's files):

* a *file-scope* check (IMPL-SYNTAX, IMPL-STUB, DEP-DOCKERFILE...) is split by file:
  shard ``I`` analyses the input files whose path's stable hash (sha1 of the
  workspace-relative path) modulo N is ``I - 1``; a file goes to the same shard for
  every check, and the share does not depend on listing order or on the machine. The
  shard keeps its files' findings, file by file: the merge scores the check with the
  check's own :meth:`~phasegate.checks.base.Check.score_files` over every file, so the
  score is the single run's. A file-scope check with no input file at all, one that
  reads history (``uses_history``) or one that judges new code itself runs whole, as a
  project check;
* a *project* check runs whole on one shard. The checks are balanced by a known cost
  (:data:`KNOWN_COSTS`: the test suite, a type checker, ``command`` checks, lint; 1
  for the in-process rest), the most costly first, each to the shard with the least
  so far (lowest index on a tie). Checks that share one run of the workspace's test
  suite (TEST-PYTEST and TEST-COVERAGE; TEST-JSTESTS and TEST-JSCOVERAGE) go to the same
  shard, so it runs once.

**What a shard writes** (:func:`run_shard`): a payload (``format: "phasegate-shard"``)
with which shard of how many it is, phasegate's version, a fingerprint of the
configuration, the workspace's commit, the phases, the threshold, whether the workspace
was trusted, the new-code reference, a digest of the plan, and per check: a project
check's whole result (on its shard only), or a file-scope check's findings per file of
the shard's share (with the number and a digest of *all* its input files, so that a
merge can tell that every shard saw the same files). In new-code mode each shard
classifies its own findings (``new``/``unchanged``) and keeps the baseline findings gone
(``absent``) of the files it owns; the merge keeps these.

**The merge** (:func:`merge_shards`) refuses (:class:`ShardMismatch`) shards of
different splits, versions, configurations, commits, phases, thresholds, trust or
new-code references, a shard given twice or missing, shards that saw different input
files, and a configuration in the checkout that is not the shards' one. Then it rebuilds
every gate exactly as :meth:`phasegate.runner.GateRunner.evaluate` does: file-scope
checks scored over the union of the shards' files, judged on new code from the shards'
classification, project checks as their shard found them, gates scored by
:func:`phasegate.runner.score_gate`. A check that could not run on one shard is unknown
in the merge (its error names the shard), never passed.

A file-scope check's findings are assumed to be about the file it analyses (true of
every built-in check): that is what makes per-file classification against a baseline
the same on a shard as in a single run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from phasegate import __version__
from phasegate.cache import ResultCache
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.evidence import IN_PROCESS, MAX_COMMANDS, how_of
from phasegate.model import CheckResult, Evidence, Finding, GateResult, Severity
from phasegate.newcode import NewCode
from phasegate.runner import GateRunner, ResolvedCheck, result_of, score_gate

if TYPE_CHECKING:
    from phasegate.baseline import Baseline
    from phasegate.config import Config
    from phasegate.newcode import NewCodeVerdict

SHARD_FORMAT = "phasegate-shard"
SHARD_VERSION = 1
SARIF_PROPERTY = "phasegate/shard"  # where a SARIF log holds the shard's payload
MAX_SHARDS = 1000

# Relative cost of the checks that run whole, by check kind, for balancing them across
# shards; any other check costs DEFAULT_COST (in-process, reading a few documents).
KNOWN_COSTS: dict[str, float] = {
    "TEST-PYTEST": 100.0,
    "TEST-COVERAGE": 100.0,
    "TEST-JSTESTS": 100.0,
    "TEST-JSCOVERAGE": 100.0,
    "IMPL-TYPES": 60.0,
    "IMPL-TSC": 60.0,
    "IMPL-JSLINT": 10.0,
    "command": 30.0,
    "IMPL-LINT": 10.0,
    "GATE-INTEGRITY": 5.0,
}
DEFAULT_COST = 1.0

Mode = Literal["files", "whole"]


class ShardError(ValueError):
    """A ``--shard`` value that is not ``I/N`` with ``1 <= I <= N``."""


class ShardMismatch(Exception):
    """Shard outputs that cannot be merged into one verdict (the message says why)."""


# -- which shard -------------------------------------------------------------------------
@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` -> ``Shard(2, 3)``; raises :class:`ShardError` with a sentence."""
        left, sep, right = text.strip().partition("/")
        try:
            index, count = int(left), int(right)
        except ValueError:
            index = count = 0
        if not sep or count < 1 or not 1 <= index <= count:
            raise ShardError(f"--shard {text!r}: give I/N, with 1 <= I <= N (e.g. 2/3)")
        if count > MAX_SHARDS:
            raise ShardError(f"--shard {text!r}: at most {MAX_SHARDS} shards")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(key: str, count: int) -> int:
    """The shard (1-based) ``key`` belongs to among ``count``: a stable hash (sha1) of
    the key modulo ``count``: the same on every machine and in every run."""
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


class _Owners:
    """:func:`shard_of` of paths, each hashed once per run (a file is in many checks)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._memo: dict[str, int] = {}

    def __call__(self, path: str) -> int:
        hit = self._memo.get(path)
        if hit is None:
            hit = self._memo[path] = shard_of(path, self.count)
        return hit


def config_fingerprint(config: Config) -> str:
    """A hash of the whole configuration: shards of one merge must share it."""
    data = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()[:20]


def _digest(items: Iterable[str]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode("utf-8", "surrogateescape"))
        h.update(b"\n")
    return h.hexdigest()[:20]


# -- the plan ----------------------------------------------------------------------------
@dataclass
class Planned:
    """One check of the plan: split by file, or run whole on shard ``owner``."""

    rc: ResolvedCheck
    mode: Mode
    owner: int = 0  # whole: the shard that runs it
    files: list[str] = field(default_factory=list)  # files: every input file (sorted)

    @property
    def key(self) -> str:
        return self.rc.key


def _judges_new_code_itself(cls: type[Check]) -> bool:
    return getattr(cls, "judge_new_code", None) is not Check.judge_new_code


def _runs_whole(rc: ResolvedCheck) -> bool:
    cls = rc.cls
    return cls.scope != "file" or cls.uses_history or _judges_new_code_itself(cls)


def _group(rc: ResolvedCheck) -> str:
    """Checks of one group run on one shard: those sharing a run of a test suite (the
    Python one: TEST-PYTEST and TEST-COVERAGE; the JavaScript one: TEST-JSTESTS and
    TEST-JSCOVERAGE)."""
    from phasegate.checks.testing.js_coverage import JsCoverage
    from phasegate.checks.testing.js_tests import JsTests
    from phasegate.checks.testing.pytest_run import SuiteCheck

    if issubclass(rc.cls, (JsTests, JsCoverage)):
        return "js-test-suite"
    return "test-suite" if issubclass(rc.cls, SuiteCheck) else rc.key


def plan(runner: GateRunner, phases: Sequence[str], count: int) -> list[Planned]:
    """Every exit-gate check of ``phases``, in gate order, with where it runs."""
    out: list[Planned] = []
    for phase in phases:
        for rc in runner.checks(phase):
            files = [] if _runs_whole(rc) else rc.ctx.input_files()
            out.append(Planned(rc, "files" if files else "whole", files=files))
    groups: dict[str, list[Planned]] = {}
    for p in out:
        if p.mode == "whole":
            groups.setdefault(_group(p.rc), []).append(p)

    def cost(members: list[Planned]) -> float:
        return max(KNOWN_COSTS.get(m.rc.config.kind_name, DEFAULT_COST) for m in members)

    loads = [0.0] * count
    order = sorted(groups.items(), key=lambda kv: (-cost(kv[1]), kv[0]))
    for _name, members in order:
        least = min(range(count), key=lambda i: (loads[i], i))
        loads[least] += cost(members)
        for m in members:
            m.owner = least + 1
    return out


def plan_digest(planned: Sequence[Planned]) -> str:
    return _digest(f"{p.key}|{p.mode}|{p.owner}" for p in planned)


# -- running a shard ---------------------------------------------------------------------
class ShardCache(ResultCache):
    """The result cache of a shard: forgetting the files of a check that are no longer
    its inputs (:meth:`ResultCache.retain_files`) keeps the other shards' files, so
    running the shards one after the other in one workspace leaves a whole cache."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._others: dict[str, set[str]] = {}

    def keep_also(self, check_key: str, paths: set[str]) -> None:
        self._others[check_key] = paths

    def retain_files(self, check_key: str, keep: set[str]) -> None:
        super().retain_files(check_key, keep | self._others.get(check_key, set()))


@dataclass
class _ShareContext(CheckContext):
    """A check's context whose input files are the shard's share of them."""

    share: list[str] = field(default_factory=list)

    def input_files(self) -> list[str]:
        return list(self.share)


class _Recorder(Check):
    """A check as the runner sees it on a shard: the check itself, remembering the
    per-file findings the runner gives to :meth:`score_files`."""

    def __init__(self, inner: Check) -> None:
        self.inner = inner
        self.per_file: dict[str, list[Finding]] | None = None

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return self.inner.run(ctx)

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        return self.inner.check_file(ctx, path)

    def score_files(self, ctx: CheckContext, per_file: dict[str, list[Finding]]) -> CheckOutcome:
        self.per_file = dict(per_file)
        return self.inner.score_files(ctx, per_file)

    def judge_new_code(
        self, ctx: CheckContext, outcome: CheckOutcome, new_code: NewCode
    ) -> NewCodeVerdict | None:
        return self.inner.judge_new_code(ctx, outcome, new_code)


def _share_view(rc: ResolvedCheck, share: list[str]) -> tuple[ResolvedCheck, _Recorder]:
    values = {f.name: getattr(rc.ctx, f.name) for f in dataclasses.fields(rc.ctx) if f.init}
    recorder = _Recorder(rc.check)
    view = dataclasses.replace(rc, ctx=_ShareContext(**values, share=share), check=recorder)
    return view, recorder


_findings_adapter: Any = None


def _adapter() -> Any:
    global _findings_adapter
    if _findings_adapter is None:
        from pydantic import TypeAdapter

        _findings_adapter = TypeAdapter(list[Finding])
    return _findings_adapter


def findings_to_data(findings: list[Finding]) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = _adapter().dump_python(
        findings, mode="json", exclude_defaults=True
    )
    return data


def findings_from_data(data: Any) -> list[Finding]:
    findings: list[Finding] = _adapter().validate_python(data)
    return findings


def _absent_ranks(
    baseline: Baseline | None, phase: str, check: str, gone: list[Finding]
) -> list[list[int]]:
    """Where each baseline finding gone stands in a single run's ``absent`` list (the
    baseline's findings grouped by fingerprint, groups in the order of the baseline): the
    merge sorts the shards' lists by it."""
    from phasegate.baseline import fingerprint

    known = baseline.entries.get((phase, check), []) if baseline is not None else []
    first: dict[str, int] = {}
    own: dict[tuple[str, str, int], int] = {}
    for i, e in enumerate(known):
        first.setdefault(e.fingerprint, i)
        own.setdefault((e.path, e.message, e.line), i)
    ranks = []
    for f in gone:
        group = first.get(fingerprint(check, f.path, f.message), len(known))
        ranks.append([group, own.get((f.path, f.message, f.range.start.line), group)])
    return ranks


@dataclass
class ShardRun:
    """What a shard found: its payload (what the merge reads) and its results as gates
    (partial, no verdict: for its SARIF log)."""

    payload: dict[str, Any]
    partial: list[GateResult]


def run_shard(
    runner: GateRunner, phases: Sequence[str], threshold: float, shard: Shard
) -> ShardRun:
    """Run shard ``shard`` of the exit gates of ``phases`` (see the module)."""
    planned = plan(runner, phases, shard.count)
    owners = _Owners(shard.count)
    new_code = runner.new_code
    checks: list[dict[str, Any]] = []
    partial: dict[str, list[CheckResult]] = {name: [] for name in phases}
    for p in planned:
        rc = p.rc
        entry: dict[str, Any] = {"phase": rc.phase, "id": rc.config.id, "mode": p.mode}
        checks.append(entry)
        if p.mode == "whole":
            entry["owner"] = p.owner
            if p.owner == shard.index:
                result = runner.run_check(rc)
                entry["result"] = result.model_dump(mode="json")
                partial[rc.phase].append(result)
            continue
        mine = [f for f in p.files if owners(f) == shard.index]
        if isinstance(runner.cache, ShardCache):
            runner.cache.keep_also(rc.key, set(p.files) - set(mine))
        view, recorder = _share_view(rc, mine)
        result = runner.run_check(view)
        entry.update(
            files=len(p.files),
            digest=_digest(p.files),
            analysed=len(mine),
            error=result.error,
            skipped=result.skipped,
            cached=result.cached,
            duration_s=result.duration_s,
            evidence=result.evidence.model_dump(mode="json") if result.evidence else None,
        )
        per_file = recorder.per_file
        if result.error is not None or result.skipped is not None or per_file is None:
            if result.error is None and result.skipped is None:
                entry["error"] = "the check gave no per-file results"
            partial[rc.phase].append(result)
            continue
        flat = [f for fs in per_file.values() for f in fs]
        absent: list[Finding] = []
        if new_code is not None:
            try:
                rule = getattr(rc.cls, "new_code_rule", "lines")
                flat, absent = new_code.classify(rc.phase, rc.config.id, flat, rule)
            except Exception as exc:  # as the runner: judging must not take the shard down
                entry["error"] = f"judging new code failed: {type(exc).__name__}: {exc}"
                partial[rc.phase].append(result)
                continue
            absent = [a for a in absent if owners(a.path) == shard.index]
        out: dict[str, list[dict[str, Any]]] = {}
        at = 0
        for path, fs in per_file.items():
            out[path] = findings_to_data(flat[at : at + len(fs)])
            at += len(fs)
        entry["per_file"] = out
        if new_code is not None:
            ranks = _absent_ranks(new_code.baseline, rc.phase, rc.config.id, absent)
            entry["absent"] = [
                {"finding": data, "rank": rank}
                for data, rank in zip(findings_to_data(absent), ranks, strict=True)
            ]
        partial[rc.phase].append(result.model_copy(update={"findings": flat, "absent": absent}))
    if runner.cache is not None:
        runner.cache.flush()
    config = runner.config
    payload: dict[str, Any] = {
        "format": SHARD_FORMAT,
        "version": SHARD_VERSION,
        "index": shard.index,
        "count": shard.count,
        "phasegate": __version__,
        "config": config_fingerprint(config),
        "commit": runner.workspace_commit()[0],
        "phases": list(phases),
        "threshold": threshold,
        "trusted": runner.trusted,
        "new_code": new_code.label if new_code is not None else None,
        "plan": plan_digest(planned),
        "checks": checks,
    }
    gates = [
        GateResult(phase=name, score=0.0, threshold=threshold, passed=False, checks=results)
        for name, results in partial.items()
    ]
    for gate in gates:
        gate.new_code = payload["new_code"]
    return ShardRun(payload, gates)


def shard_json(root: Path, run: ShardRun) -> dict[str, Any]:
    """The JSON document of ``validate --shard I/N --format json``."""
    return {"workspace": str(root), "shard": run.payload}


def shard_sarif(root: Path, run: ShardRun) -> dict[str, Any]:
    """The SARIF log of ``validate --shard I/N --format sarif``: the shard's findings as
    results (a log code scanning can read), its payload in the run's properties. It has
    no gate scores: a shard has no verdict."""
    from phasegate.sarif import gates_to_sarif

    document = gates_to_sarif(root, run.partial)
    props = document["runs"][0]["properties"]
    props.pop("gates", None)
    props[SARIF_PROPERTY] = run.payload
    return document


# -- merging -----------------------------------------------------------------------------
@dataclass
class ShardInput:
    """One shard's output as read from ``name``."""

    name: str
    payload: dict[str, Any]

    @property
    def index(self) -> int:
        return int(self.payload["index"])

    @property
    def label(self) -> str:
        return f"{self.name} (shard {self.payload['index']}/{self.payload['count']})"


def read_shard(name: str, data: bytes) -> ShardInput:
    """The payload of a shard's JSON or SARIF output; raises :class:`ShardMismatch`."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ShardMismatch(f"{name} is not JSON: {exc}") from None
    payload: Any = None
    if isinstance(doc, dict) and isinstance(doc.get("shard"), dict):
        payload = doc["shard"]
    elif isinstance(doc, dict) and isinstance(doc.get("runs"), list) and doc["runs"]:
        run = doc["runs"][0]
        props = run.get("properties") if isinstance(run, dict) else None
        payload = props.get(SARIF_PROPERTY) if isinstance(props, dict) else None
    if not isinstance(payload, dict) or payload.get("format") != SHARD_FORMAT:
        raise ShardMismatch(
            f"{name} is not the output of `phasegate validate --shard I/N` (--format json or sarif)"
        )
    version = payload.get("version")
    if version != SHARD_VERSION:
        raise ShardMismatch(
            f"{name} is a shard of format version {version!r}; this phasegate "
            f"({__version__}) merges version {SHARD_VERSION}: run the shards and the "
            "merge with one phasegate"
        )
    index, count = payload.get("index"), payload.get("count")
    checks = payload.get("checks")
    if (
        not isinstance(index, int)
        or not isinstance(count, int)
        or not 1 <= index <= count
        or not isinstance(checks, list)
    ):
        raise ShardMismatch(f"{name}: the shard's payload is damaged (index, count, checks)")
    return ShardInput(name, payload)


_SAME: tuple[tuple[str, str], ...] = (
    ("phasegate", "phasegate version"),
    ("config", "configuration"),
    ("commit", "commit"),
    ("phases", "phases (--phase)"),
    ("threshold", "threshold (--iteration)"),
    ("trusted", "trust (--untrusted)"),
    ("new_code", "new-code reference (--since, --baseline)"),
    ("plan", "checks and their shards (the shards saw different input files)"),
)


def check_shards(inputs: Sequence[ShardInput]) -> list[ShardInput]:
    """The shards in index order, after making sure they make one whole: one split,
    every shard exactly once, the same everything else. Raises :class:`ShardMismatch`."""
    if not inputs:
        raise ShardMismatch("no shard to merge")
    first = inputs[0]
    count = first.payload["count"]
    for other in inputs[1:]:
        if other.payload["count"] != count:
            raise ShardMismatch(
                f"{other.label} and {first.label} are shards of different splits: "
                "merge the N outputs of one `validate --shard I/N` run"
            )
    by_index: dict[int, ShardInput] = {}
    for s in inputs:
        if s.index in by_index:
            raise ShardMismatch(
                f"shard {s.index}/{count} is given twice: {by_index[s.index].name} and {s.name}"
            )
        by_index[s.index] = s
    missing = [str(i) for i in range(1, count + 1) if i not in by_index]
    if missing:
        some = ", ".join(f"{i}/{count}" for i in missing)
        raise ShardMismatch(
            f"shard{'s' if len(missing) > 1 else ''} {some} "
            f"{'are' if len(missing) > 1 else 'is'} missing: the merge needs all {count}"
        )
    ordered = [by_index[i] for i in range(1, count + 1)]
    base = ordered[0]
    for s in ordered[1:]:
        for key, what in _SAME:
            if s.payload.get(key) != base.payload.get(key):
                raise ShardMismatch(
                    f"{s.label} and {base.label} differ in their {what}: "
                    f"{s.payload.get(key)!r} and {base.payload.get(key)!r}"
                )
    return ordered


@dataclass
class _Classified(NewCode):
    """New-code judging from findings the shards classified: nothing is classified again
    (the merge has neither the history nor the baseline the shards had). A finding no
    shard classified (one the check's scoring added) counts as new: it holds the line."""

    gone: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)

    def classify(
        self, phase: str, check: str, findings: list[Finding], rule: str = "lines"
    ) -> tuple[list[Finding], list[Finding]]:
        out = [
            f if f.baseline_state is not None else f.model_copy(update={"baseline_state": "new"})
            for f in findings
        ]
        return out, list(self.gone.get((phase, check), []))


def _merged_evidence(result: CheckResult, parts: Sequence[Mapping[str, Any] | None]) -> Evidence:
    evidences = [Evidence.model_validate(p) for p in parts if p is not None]
    how = how_of(result)
    names: list[str] = []
    in_process = False
    for ev in evidences:
        for name in ev.rule.split(", ") if ev.rule else []:
            if name == IN_PROCESS:
                in_process = True
            elif name not in names:
                names.append(name)
    rule = ", ".join(names) if names else (IN_PROCESS if in_process else "")
    if how in ("cached", "skipped"):
        rule = ""
    commands = [c for ev in evidences for c in ev.commands][:MAX_COMMANDS]
    codes = [c for ev in evidences for c in ev.exit_codes][:MAX_COMMANDS]
    dirty = [ev.dirty for ev in evidences if ev.dirty is not None]
    return Evidence(
        how=how,
        rule=rule,
        commands=commands,
        exit_codes=codes,
        tool_version=next((ev.tool_version for ev in evidences if ev.tool_version), None),
        duration_s=round(sum(ev.duration_s for ev in evidences), 6),
        commit=next((ev.commit for ev in evidences if ev.commit), None),
        dirty=any(dirty) if dirty else None,
        inputs_hash=None,  # its inputs were hashed on several machines
        timed_out=any(ev.timed_out for ev in evidences),
    )


def _merge_files(
    rc: ResolvedCheck,
    entries: list[tuple[ShardInput, dict[str, Any]]],
    judge: _Classified | None,
) -> CheckResult:
    key = rc.key
    count = len(entries)
    first_shard, first = entries[0]
    for s, e in entries[1:]:
        if e.get("files") != first.get("files") or e.get("digest") != first.get("digest"):
            raise ShardMismatch(
                f"{key}: {s.label} and {first_shard.label} saw different input files "
                f"({e.get('files')} and {first.get('files')}): run every shard on one checkout"
            )
    duration = sum(float(e.get("duration_s") or 0.0) for _s, e in entries)
    evidence = [e.get("evidence") for _s, e in entries]
    skipped = next((e["skipped"] for _s, e in entries if e.get("skipped")), None)
    if skipped is not None:
        result = rc.skipped_result(skipped)
        result.duration_s = duration
        result.evidence = _merged_evidence(result, evidence)
        return result
    per_file: dict[str, list[Finding]] = {}
    gone: list[tuple[list[int], Finding]] = []
    errors: list[str] = []
    owners = _Owners(count)
    for s, e in entries:
        if e.get("error"):
            errors.append(f"shard {s.index}/{count}: {e['error']}")
            continue
        files = e.get("per_file")
        if not isinstance(files, dict):
            raise ShardMismatch(f"{key}: {s.label} has no per-file results")
        for path, data in files.items():
            if owners(path) != s.index:
                raise ShardMismatch(
                    f"{key}: {s.label} reports {path}, which is shard "
                    f"{owners(path)}/{count}'s: the shards were split differently"
                )
            per_file[path] = findings_from_data(data)
        for item in e.get("absent") or []:
            gone.append((list(item["rank"]), findings_from_data([item["finding"]])[0]))
    total = int(first.get("files") or 0)
    if not errors and len(per_file) != total:
        raise ShardMismatch(
            f"{key}: the shards analysed {len(per_file)} of its {total} input files"
        )
    ordered = {path: per_file[path] for path in sorted(per_file)}
    if errors:
        findings = [f for fs in ordered.values() for f in fs]
        outcome = CheckOutcome(findings=findings, score=0.0, error="; ".join(errors))
    else:
        outcome = rc.check.score_files(rc.ctx, ordered)
    result = result_of(rc, outcome, duration_s=duration)
    result.cached = not errors and all(
        bool(e.get("cached")) for _s, e in entries if int(e.get("analysed") or 0) > 0
    )
    if judge is not None:
        gone.sort(key=lambda item: item[0])
        judge.gone[(rc.phase, rc.config.id)] = [f for _rank, f in gone]
        result = judge.apply(rc, outcome, result)
    result.evidence = _merged_evidence(result, evidence)
    return result


def merge_shards(runner: GateRunner, inputs: Sequence[ShardInput]) -> list[GateResult]:
    """The gates of the single run the shards ``inputs`` are parts of. ``runner`` is a
    runner on the workspace's checkout, with its configuration: what file-scope checks
    are scored with. Raises :class:`ShardMismatch`."""
    shards = check_shards(inputs)
    head = shards[0].payload
    fingerprint = config_fingerprint(runner.config)
    if head["config"] != fingerprint:
        raise ShardMismatch(
            f"the configuration of {runner.workspace.root} is not the one the shards ran "
            "with: merge in a checkout of the commit the shards validated"
        )
    count = len(shards)
    threshold = float(head["threshold"])
    label = head.get("new_code")
    judge: _Classified | None = None
    if label is not None:
        names = {"error": Severity.ERROR, "warning": Severity.WARNING}
        names.update(info=Severity.INFO, hint=Severity.HINT)
        judge = _Classified(
            workspace=runner.workspace,
            blocking=frozenset(names[s] for s in runner.config.new_code.blocking),
            small_change_lines=runner.config.new_code.small_change_lines,
            auto_refresh=False,
        )
    entries: list[list[tuple[ShardInput, dict[str, Any]]]] = []
    for s in shards:
        checks = s.payload["checks"]
        if len(checks) != len(head["checks"]):
            raise ShardMismatch(
                f"{s.label} lists {len(checks)} checks, {shards[0].label} {len(head['checks'])}"
            )
        for i, e in enumerate(checks):
            if i == len(entries):
                entries.append([])
            entries[i].append((s, e))
    results: dict[str, list[CheckResult]] = {name: [] for name in head["phases"]}
    for row in entries:
        _s, e = row[0]
        phase, check_id, mode = e.get("phase"), e.get("id"), e.get("mode")
        key = f"{phase}:{check_id}"
        if phase not in results or any(
            (x.get("phase"), x.get("id"), x.get("mode")) != (phase, check_id, mode) for _, x in row
        ):
            raise ShardMismatch(f"the shards list different checks (at {key})")
        if mode == "whole":
            owner = e.get("owner")
            found = [(s, x) for s, x in row if s.index == owner and "result" in x]
            if not found:
                raise ShardMismatch(
                    f"{key} was assigned to shard {owner}/{count}, whose output has no "
                    "result for it"
                )
            results[phase].append(CheckResult.model_validate(found[0][1]["result"]))
        elif mode == "files":
            rc = _resolve(runner, str(phase), str(check_id))
            results[phase].append(_merge_files(rc, row, judge))
        else:
            raise ShardMismatch(f"{key}: unknown mode {mode!r}")
    gates: list[GateResult] = []
    for name, checks in results.items():
        gate = score_gate(name, checks, threshold)
        gate.duration_s = round(sum(c.duration_s for c in checks), 6)
        if label is not None:
            gate.new_code = label
        gates.append(gate)
    return gates


def _resolve(runner: GateRunner, phase: str, check_id: str) -> ResolvedCheck:
    """The split check ``phase:check_id`` as the checkout's configuration resolves it."""
    try:
        checks = runner.checks(phase)
    except KeyError:
        raise ShardMismatch(f"{phase} is not a phase of this configuration") from None
    except (LookupError, ValueError) as exc:  # a check not installed here, bad options
        raise ShardMismatch(f"cannot score {phase}:{check_id} here: {exc}") from None
    for rc in checks:
        if rc.config.id == check_id:
            return rc
    raise ShardMismatch(f"{phase}:{check_id} is not a check of this configuration")
