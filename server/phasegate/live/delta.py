"""What changed in the live results since a face last reported them.

A face that reports changes rather than states (``phasegate watch``) keeps a
:class:`DeltaTracker`: it notes the display paths the core says changed
(:meth:`LiveListener.show`) and, when the checks are done, :meth:`DeltaTracker.take`
compares what those paths show now with what it reported, and every gate with its last
reported state.

* A finding is the same finding when its check, file, code, message, severity and (in
  new-code mode) baseline state are the same: a finding that only moved to another line
  is neither added nor removed. Among equal findings, those at the same place are paired
  first, so the ones reported added or removed are the ones that appeared or went away.
* A gate is reported when its status or score changed; ``None`` is a gate with no result
  yet (or no longer configured). A check of a reported gate is reported when its status
  (``passed``, ``failed``, ``error``, ``skipped``, ``not_applicable``) or the reason it
  has no verdict changed.

The first :meth:`~DeltaTracker.take` reports everything as added: applying every delta
in turn gives the current state.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from phasegate.live.results import LiveResults
from phasegate.model import Finding, GateResult

GateStatus = Literal["passed", "failed", "not scored"]


@dataclass(frozen=True)
class Shown:
    """One finding as a face shows it, with the check that found it."""

    check: str  # "<phase>:<id>"
    phase: str
    finding: Finding


@dataclass(frozen=True)
class GateState:
    status: GateStatus
    score: float | None  # None: not scored (every check skipped)
    threshold: float

    @classmethod
    def of(cls, gate: GateResult | None) -> GateState | None:
        if gate is None:
            return None
        if gate.checks and all(r.skipped is not None for r in gate.checks):
            return cls("not scored", None, gate.threshold)
        return cls("passed" if gate.passed else "failed", gate.score, gate.threshold)


@dataclass(frozen=True)
class GateChange:
    phase: str
    before: GateState | None
    after: GateState | None


@dataclass(frozen=True)
class CheckState:
    status: str  # CheckResult.status
    reason: str | None  # why it has no verdict (could not run, skipped, not applicable)


@dataclass(frozen=True)
class CheckChange:
    check: str  # "<phase>:<id>"
    phase: str
    id: str
    before: CheckState | None
    after: CheckState | None


@dataclass
class FileDelta:
    path: str  # the findings' own path (workspace-relative)
    added: list[Shown] = field(default_factory=list)
    removed: list[Shown] = field(default_factory=list)


@dataclass
class Delta:
    files: list[FileDelta]
    gates: list[GateChange]
    checks: list[CheckChange]
    findings: int  # findings shown now, in total
    gates_now: dict[str, GateState | None]  # every reported gate's state now

    @property
    def empty(self) -> bool:
        return not self.files and not self.gates and not self.checks


def _key(s: Shown) -> tuple[object, ...]:
    f = s.finding
    return (s.check, f.code, f.path, f.message, int(f.severity), f.baseline_state)


def _place(s: Shown) -> tuple[int, int, int, int]:
    r = s.finding.range
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def _extra(more: list[Shown], fewer: list[Shown]) -> list[Shown]:
    """The ``len(more) - len(fewer)`` items of ``more`` that ``fewer`` lacks: those at a
    place ``fewer`` has none at first, in order."""
    places = Counter(_place(s) for s in fewer)
    fresh: list[Shown] = []
    paired: list[Shown] = []
    for s in more:
        p = _place(s)
        if places[p] > 0:
            places[p] -= 1
            paired.append(s)
        else:
            fresh.append(s)
    return (fresh + paired)[: len(more) - len(fewer)]


def diff(old: list[Shown], new: list[Shown]) -> tuple[list[Shown], list[Shown]]:
    """(added, removed) from ``old`` to ``new`` (see the module)."""
    before: dict[tuple[object, ...], list[Shown]] = defaultdict(list)
    after: dict[tuple[object, ...], list[Shown]] = defaultdict(list)
    for s in old:
        before[_key(s)].append(s)
    for s in new:
        after[_key(s)].append(s)
    added: list[Shown] = []
    removed: list[Shown] = []
    for k in before.keys() | after.keys():
        o, n = before.get(k, []), after.get(k, [])
        if len(n) > len(o):
            added += _extra(n, o)
        elif len(o) > len(n):
            removed += _extra(o, n)
    return added, removed


def _order(s: Shown) -> tuple[object, ...]:
    return (s.finding.path, _place(s), s.check, s.finding.message)


class DeltaTracker:
    """What a face last reported: findings per display path, each gate's state."""

    def __init__(self) -> None:
        self._shown: dict[str, list[Shown]] = {}
        self._gates: dict[str, GateState | None] = {}
        self._checks: dict[str, tuple[str, str, CheckState]] = {}  # key -> (phase, id, state)
        self._dirty: set[str] = set()
        self._everything = True  # compare every path (nothing was reported yet)

    def note(self, paths: Iterable[str]) -> None:
        """These display paths may show other findings now."""
        self._dirty.update(paths)

    def reset(self) -> None:
        """The live results were rebuilt: compare every path at the next take."""
        self._everything = True

    def take(self, live: LiveResults | None, gates: dict[str, GateResult | None]) -> Delta:
        """The changes since the last take, which they become the reported state of.
        ``gates``: every gate to report (phase -> its gate now, None without a result)."""
        if self._everything:
            paths = set(self._shown) | self._dirty
            paths |= set(live.display_paths()) if live is not None else set()
        else:
            paths = self._dirty
        self._dirty = set()
        self._everything = False
        by_file: dict[str, FileDelta] = {}
        for dp in sorted(paths):
            now = [
                Shown(rc.key, rc.phase, f)
                for rc, f in (live.findings_for(dp) if live is not None else [])
            ]
            added, removed = diff(self._shown.get(dp, []), now)
            if now:
                self._shown[dp] = now
            else:
                self._shown.pop(dp, None)
            for s in added:
                by_file.setdefault(s.finding.path, FileDelta(s.finding.path)).added.append(s)
            for s in removed:
                by_file.setdefault(s.finding.path, FileDelta(s.finding.path)).removed.append(s)
        for fd in by_file.values():
            fd.added.sort(key=_order)
            fd.removed.sort(key=_order)
        states = {phase: GateState.of(g) for phase, g in gates.items()}
        changes = [
            GateChange(phase, self._gates.get(phase), states.get(phase))
            for phase in [*states, *(p for p in self._gates if p not in states)]
            if self._gates.get(phase) != states.get(phase)
        ]
        self._gates = states
        checks: dict[str, tuple[str, str, CheckState]] = {
            f"{g.phase}:{r.id}": (g.phase, r.id, CheckState(r.status, r.reason))
            for g in gates.values()
            if g is not None
            for r in g.checks
        }
        check_changes: list[CheckChange] = []
        for key in [*checks, *(k for k in self._checks if k not in checks)]:
            old, new = self._checks.get(key), checks.get(key)
            before = old[2] if old is not None else None
            after = new[2] if new is not None else None
            if before != after:
                entry = new if new is not None else old
                assert entry is not None
                phase, check_id, _state = entry
                check_changes.append(CheckChange(key, phase, check_id, before, after))
        self._checks = checks
        return Delta(
            files=[by_file[p] for p in sorted(by_file)],
            gates=changes,
            checks=check_changes,
            findings=sum(len(v) for v in self._shown.values()),
            gates_now=dict(states),
        )
