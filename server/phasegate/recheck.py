"""Whether the phases a session records as completed still pass, from the result cache.

The engine's answer to "is my completed phase still green?" without running anything:
:func:`recheck_completed` hashes each check's inputs as they are now (a file whose stat
signature is remembered is not even read) and looks the results up in the result cache
the language server, ``validate`` and sessions fill. A completed phase whose gate fails
now — even if every check the cache cannot tell passed — is ``regressed``, the word the
language server shows at once and ``runGates``/``resume`` record; one whose inputs changed
where the cache cannot tell is ``unknown``. Nothing is run and nothing is written.

``phasegate status`` and the report both show phases through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from phasegate.model import CheckResult, GateResult, PhaseStatus, SessionState

if TYPE_CHECKING:
    from phasegate.cache import ResultCache
    from phasegate.checks.base import CheckOutcome
    from phasegate.config import Config
    from phasegate.runner import GateRunner, ResolvedCheck
    from phasegate.workspace import Workspace

CHANGED = "changed since last checked"


@dataclass
class Recheck:
    """What the cache says about a phase the checkpoint records as completed:
    ``regressed`` — its gate fails now (``gate`` is the gate now, ``changed`` the checks
    the cache could not tell, left out); ``unknown`` — inputs changed and the cache cannot
    tell whether it still passes."""

    status: Literal["regressed", "unknown"]
    gate: GateResult | None
    changed: list[str] = field(default_factory=list)
    note: str = ""


def shown_status(ps_status: PhaseStatus, recheck: Recheck | None) -> str:
    """The status a phase is shown with: ``regressed`` when the cache says it fails now."""
    if recheck is not None and recheck.status == "regressed":
        return PhaseStatus.REGRESSED.value
    return ps_status.value


def recheck_completed(
    root: Path, state: SessionState, config: Config | None, *, inputs: set[str] | None = None
) -> dict[str, Recheck]:
    """For each phase the checkpoint records as completed, whether its gate still passes
    on the files as they are now, judged from the result cache alone: a check counts as
    known when the cache holds its result for the current content hash of its inputs
    (file-scope checks: of each input file). Nothing is run and nothing is written.

    Returns, per phase that does not (or may not) pass any more, a :class:`Recheck`:
    ``regressed`` when the gate fails even if every check the cache cannot tell passed,
    ``unknown`` when it could go either way. Phases that still pass are left out.

    ``inputs``, when given, receives every input file (workspace-relative) whose content
    hash was looked up: with the checkpoint, the configuration, the cache and the folders
    listed, what the answer was made from (``phasegate status`` keeps its answer while
    none of them changes)."""
    done = [ps for ps in state.phases if ps.status is PhaseStatus.COMPLETED]
    if not done:
        return {}
    if config is None:
        why = "cannot tell whether it still passes: the configuration has errors"
        return {ps.name: Recheck("unknown", None, [], why) for ps in done}
    from phasegate.cache import ResultCache
    from phasegate.runner import GateRunner, result_of, score_gate
    from phasegate.workspace import STATE_DIR, Workspace

    cache = ResultCache(root / STATE_DIR / "cache")
    workspace = Workspace(root)
    if inputs is None:
        runner = GateRunner(workspace, config, cache=cache)
    else:
        runner = _noting_runner(workspace, config, cache, inputs)
    names = {pc.name for pc in config.phases}
    rechecks: dict[str, Recheck] = {}
    # judged as the session judged it: new code since its start (or as configured)
    problem = _session_new_code(runner, config, state)
    if problem is not None:
        return {ps.name: Recheck("unknown", None, [], problem) for ps in done}
    for ps in done:
        if ps.name not in names:
            continue  # the phase left the configuration: nothing to compare with
        threshold = (
            ps.last_threshold
            if ps.last_threshold is not None
            else config.threshold(max(1, ps.persona_iterations))
        )
        recorded = {r.id: r for r in ps.last_gate.checks} if ps.last_gate else {}
        try:
            rcs = runner.checks(ps.name)
        except Exception as exc:  # a check that cannot be resolved: run/resume say so too
            rechecks[ps.name] = Recheck(
                "unknown", None, [], f"cannot tell whether it still passes: {exc}"
            )
            continue
        known: list[CheckResult] = []
        optimistic: list[CheckResult] = []  # the checks the cache cannot tell: passing
        shown: list[CheckResult] = []  # the checks the cache cannot tell: left out
        changed: list[str] = []
        for rc in rcs:
            outcome = cached_outcome(runner, rc)
            if outcome is not None:
                r = runner.judged(rc, outcome, result_of(rc, outcome, cached=True))
                known.append(r)
                optimistic.append(r)
                shown.append(r)
                continue
            before = recorded.get(rc.config.id)
            if before is not None and (before.skipped or before.error) is not None:
                # left out of the gate when the phase completed (untrusted, could not
                # run; such results are not cached): still left out
                skip = _stand_in(rc, before.skipped or before.error)
                optimistic.append(skip)
                shown.append(skip)
                continue
            changed.append(rc.config.id)
            optimistic.append(_stand_in(rc, None))
            shown.append(_stand_in(rc, f"{CHANGED}: run `phasegate validate` to check it"))
        best_case = score_gate(ps.name, optimistic, threshold)
        if not best_case.passed:
            gate = score_gate(ps.name, shown, threshold).model_copy(update={"passed": False})
            failing = [r.id for r in known if not r.passed]
            rechecks[ps.name] = Recheck(
                "regressed", gate, changed, _regressed_note(gate, failing, changed)
            )
        elif changed:
            rechecks[ps.name] = Recheck("unknown", None, changed, f"{CHANGED}: {_few(changed)}")
    return rechecks


def _noting_runner(
    workspace: Workspace, config: Config, cache: ResultCache, inputs: set[str]
) -> GateRunner:
    """A gate runner that adds to ``inputs`` every file whose content hash it takes."""
    from phasegate.runner import GateRunner

    class NotingRunner(GateRunner):
        def content_hash(self, path: str) -> str:
            inputs.add(path)
            return super().content_hash(path)

    return NotingRunner(workspace, config, cache=cache)


def _session_new_code(runner: GateRunner, config: Config, state: SessionState) -> str | None:
    """Set the new-code reference the session's gates were judged against on ``runner``
    (the configuration's ``[new_code]``, else the commit the session started from), as
    the executor does; a reference that cannot be used now (git gone) returns why the
    phases cannot be told (None when set, or when the whole code is judged)."""
    from phasegate.newcode import NewCodeError, resolve_new_code

    since = None if config.new_code.enabled else state.new_code_since
    if since is None and not config.new_code.enabled:
        return None
    try:
        nc = resolve_new_code(runner.workspace, config, since=since)
    except NewCodeError as exc:
        return f"cannot tell whether it still passes: new code cannot be judged ({exc})"
    if nc is not None:
        nc.auto_refresh = False  # read just now; nothing runs meanwhile
        if since is not None and nc.changes is not None:
            nc.changes.ref = "the session's start"
    runner.set_new_code(nc)
    return None


def _few(ids: list[str], shown: int = 3) -> str:
    more = len(ids) - shown
    return ", ".join(ids[:shown]) + (f" and {more} more" if more > 0 else "")


def _regressed_note(gate: GateResult, failing: list[str], changed: list[str]) -> str:
    why = f"score {gate.score:.2f} < {gate.threshold:.2f}"
    if gate.blocking_failed:
        why += f", blocking {', '.join(gate.blocking_failed)}"
    note = f"completed earlier, fails now ({why}"
    note += f"; failing: {_few(failing)})" if failing else ")"
    if changed:
        note += f"; {CHANGED}: {_few(changed)}"
    return note + "; not recorded yet"


def _stand_in(rc: ResolvedCheck, skipped: str | None) -> CheckResult:
    """A check the cache cannot tell: passing (the best case), or left out (``skipped``)."""
    return rc.skipped_result(skipped)


def cached_outcome(runner: GateRunner, rc: ResolvedCheck) -> CheckOutcome | None:
    """The check's outcome for its inputs as they are now, if the result cache holds it;
    None otherwise. Never runs the check: it hashes the inputs (a file whose stat
    signature is remembered is not even read) and looks them up."""
    cache = runner.cache
    if cache is None:
        return None
    try:
        if rc.cls.scope == "file":
            fp = rc.config_fingerprint()
            per_file = {}
            for path in rc.ctx.input_files():
                hit = cache.get_file(rc.key, fp, path, runner.content_hash(path))
                if hit is None:
                    return None
                per_file[path] = hit
            return rc.check.score_files(rc.ctx, per_file)
        return cache.get_project(rc.key, runner.inputs_hash(rc))
    except Exception:  # unreadable cache or inputs: the cache cannot tell
        return None
