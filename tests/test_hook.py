"""``phasegate hook`` driven as the agents drive it: a subprocess given a recorded event
payload (tests/data/hooks, see its README) on standard input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phasegate.model import PhaseState, SessionState
from phasegate.store import SessionStore

DATA = Path(__file__).resolve().parent / "data" / "hooks"

CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "IMPL-STUB"

[[phases.checks]]
id = "IMPL-LINT"
"""

CLEAN = '''\
"""A clean module."""


def add(a: int, b: int) -> int:
    return a + b
'''

STUB = '''\
"""A module with a stub."""


def total(items: list[int]) -> int:
    raise NotImplementedError
'''


def payload(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def run_hook(
    root: Path, event: dict[str, Any] | bytes, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROJECT_DIR")}
    raw = event if isinstance(event, bytes) else json.dumps(event).encode()
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "hook", *args],
        input=raw.decode(),
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # never a traceback, never a message on stderr
    return proc


def answer(proc: subprocess.CompletedProcess[str]) -> dict[str, Any] | None:
    out = proc.stdout.strip()
    return json.loads(out) if out else None


def log_lines(root: Path) -> list[str]:
    path = root / ".phasegate" / "hooks" / "hook.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "clean.py").write_text(CLEAN)
    return root


def write_event(root: Path, rel: str, text: str) -> dict[str, Any]:
    """A Claude Code Write of ``text`` to ``rel`` (the file is written first, as the
    tool does before PostToolUse)."""
    path = root / rel
    path.write_text(text)
    return payload(
        "claude-post-tool-use-write.json",
        cwd=str(root),
        tool_input={"file_path": str(path), "content": text},
        tool_response={"filePath": str(path), "success": True},
    )


def start_session(root: Path, since: str | None = None) -> None:
    store = SessionStore(root)
    store.create(
        SessionState(
            id="s-test",
            requirement="total the items",
            phases=[PhaseState(name="implementation")],
            current_phase="implementation",
            new_code_since=since,
        )
    )
    store.set_active("s-test")


# -- after an edit ---------------------------------------------------------------------------
def test_write_of_a_stub_names_impl_stub_at_its_line(ws: Path) -> None:
    proc = run_hook(ws, write_event(ws, "app/stub.py", STUB))
    out = answer(proc)
    assert out is not None
    context = out["hookSpecificOutput"]["additionalContext"]
    assert out["hookSpecificOutput"]["hookEventName"] == "PostToolUse"
    assert "decision" not in out  # outside new-code mode nothing is new: context only
    assert "app/stub.py:4:5: IMPL-STUB" in context  # `def total` is line 4, 1-based
    assert "[new]" not in context


def test_an_edit_marks_findings_on_the_edited_lines(ws: Path) -> None:
    path = ws / "app" / "stub.py"
    path.write_text(STUB)
    event = payload(
        "claude-post-tool-use-edit.json",
        cwd=str(ws),
        tool_input={
            "file_path": str(path),
            "old_string": "def total(items):",
            "new_string": "def total(items: list[int]) -> int:",
        },
        tool_response={"filePath": str(path), "success": True},
    )
    out = answer(run_hook(ws, event))
    assert out is not None
    assert "[edited line]" in out["hookSpecificOutput"]["additionalContext"]


def test_a_clean_file_gets_no_answer(ws: Path) -> None:
    proc = run_hook(ws, write_event(ws, "app/clean.py", CLEAN))
    assert proc.stdout == ""
    # the second time the answer comes from what the hook kept: still nothing
    proc = run_hook(ws, write_event(ws, "app/clean.py", CLEAN))
    assert proc.stdout == ""
    assert (ws / ".phasegate" / "hooks" / "checks.json").is_file()


def test_a_file_no_check_reads_gets_no_answer(ws: Path) -> None:
    assert run_hook(ws, write_event(ws, "notes.txt", "TODO: everything\n")).stdout == ""
    # with the check index written (by an edit the engine answered), the same
    run_hook(ws, write_event(ws, "app/clean.py", CLEAN))
    assert run_hook(ws, write_event(ws, "data.json", "{}\n")).stdout == ""


def test_the_same_edit_twice_gets_the_same_answer(ws: Path) -> None:
    first = answer(run_hook(ws, write_event(ws, "app/stub.py", STUB)))
    assert (ws / ".phasegate" / "hooks" / "memo.json").is_file()
    second = answer(run_hook(ws, write_event(ws, "app/stub.py", STUB)))
    assert first == second


def test_many_findings_are_capped_with_how_to_see_the_rest(ws: Path) -> None:
    body = "\n\n".join(f"def f{i}() -> None:\n    raise NotImplementedError" for i in range(12))
    out = answer(run_hook(ws, write_event(ws, "app/many.py", body + "\n")))
    assert out is not None
    context = out["hookSpecificOutput"]["additionalContext"]
    assert context.count("IMPL-STUB") == 8
    assert "4 more: run `phasegate validate`." in context


def test_codex_apply_patch_reports_the_patched_file(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    patch = (
        "*** Begin Patch\n*** Update File: app/stub.py\n@@\n"
        "+    raise NotImplementedError\n*** End Patch\n"
    )
    event = payload(
        "codex-post-tool-use-apply-patch.json", cwd=str(ws), tool_input={"command": patch}
    )
    out = answer(run_hook(ws, event))
    assert out is not None
    assert "app/stub.py:4:5: IMPL-STUB" in out["hookSpecificOutput"]["additionalContext"]


def test_cursor_after_file_edit_takes_no_answer(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    event = payload(
        "cursor-after-file-edit.json",
        workspace_roots=[str(ws)],
        file_path=str(ws / "app" / "stub.py"),
    )
    assert run_hook(ws, event).stdout == ""  # afterFileEdit has no output fields


# -- new code -------------------------------------------------------------------------------
def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture
def repo(ws: Path) -> Path:
    (ws / "app" / "legacy.py").write_text(STUB)  # inherited: there before the session
    _git(ws, "init", "-q")
    _git(ws, "add", ".")
    _git(ws, "commit", "-q", "-m", "start")
    start_session(ws, since=_git(ws, "rev-parse", "HEAD"))
    return ws


def test_new_code_a_new_stub_blocks_an_inherited_one_does_not(repo: Path) -> None:
    legacy = repo / "app" / "legacy.py"
    event = write_event(repo, "app/legacy.py", legacy.read_text())
    out = answer(run_hook(repo, event))
    assert out is not None and "decision" not in out
    context = out["hookSpecificOutput"]["additionalContext"]
    assert "(0 new, 1 inherited; new code: since the session's start" in context

    out = answer(run_hook(repo, write_event(repo, "app/fresh.py", STUB)))
    assert out is not None
    assert out["decision"] == "block"
    assert "app/fresh.py:4:5: IMPL-STUB" in out["reason"]
    assert "[new]" in out["reason"]


def test_no_block_gives_context_even_for_new_findings(repo: Path) -> None:
    out = answer(run_hook(repo, write_event(repo, "app/fresh.py", STUB), "--no-block"))
    assert out is not None and "decision" not in out
    assert "[new]" in out["hookSpecificOutput"]["additionalContext"]


# -- stop ------------------------------------------------------------------------------------
def stop_event(root: Path, active: bool, session: str = "agent-1") -> dict[str, Any]:
    return payload("claude-stop.json", cwd=str(root), stop_hook_active=active, session_id=session)


def test_stop_with_a_failing_gate_is_blocked(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    out = answer(run_hook(ws, stop_event(ws, active=False)))
    assert out is not None
    assert out["decision"] == "block"
    assert "implementation" in out["reason"]
    assert "app/stub.py:4:5: IMPL-STUB" in out["reason"]
    assert "phasegate validate" in out["reason"]
    assert "1 of 3" in out["reason"]


def test_stop_hook_active_after_the_cap_is_allowed_and_waits_for_a_person(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    start_session(ws)
    decisions = []
    for active in (False, True, True):
        out = answer(run_hook(ws, stop_event(ws, active=active)))
        assert out is not None
        decisions.append(out.get("decision"))
    assert decisions == ["block", "block", "block"]
    out = answer(run_hook(ws, stop_event(ws, active=True)))
    assert out is not None and "decision" not in out  # allowed
    assert "waits for a person" in out["systemMessage"]
    waiting = json.loads((ws / ".phasegate" / "hooks" / "waiting.json").read_text())
    assert waiting["session"] == "s-test" and waiting["gates"] == ["implementation"]
    # the session's own journal says so too (status, the report and the editor read it)
    (event,) = [e for e in SessionStore(ws).read_events("s-test") if e.kind == "agent_waiting"]
    assert event.phase == "implementation" and event.data["agent"] == "claude"
    assert event.data["gates"] == ["implementation"] and event.data["blocks"] == 3
    assert "IMPL-STUB" in event.data["reason"]
    assert any("refused (3/3)" in line for line in log_lines(ws))
    # a new stop (not a continuation) is judged afresh
    assert answer(run_hook(ws, stop_event(ws, active=False)))["decision"] == "block"  # type: ignore[index]


def test_a_fresh_stop_resets_the_count_and_sessions_count_apart(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    for _ in range(2):
        assert answer(run_hook(ws, stop_event(ws, active=True)))["decision"] == "block"  # type: ignore[index]
    # another agent session has its own count
    out = answer(run_hook(ws, stop_event(ws, active=True, session="agent-2"), "--max-blocks", "1"))
    assert out is not None and out["decision"] == "block"
    out = answer(run_hook(ws, stop_event(ws, active=True, session="agent-2"), "--max-blocks", "1"))
    assert out is not None and "decision" not in out


def test_stop_with_a_passing_gate_gets_no_answer(ws: Path) -> None:
    assert run_hook(ws, stop_event(ws, active=False)).stdout == ""


def test_cursor_stop_answers_a_followup_until_its_loop_count_reaches_the_cap(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    event = payload("cursor-stop.json", workspace_roots=[str(ws)])
    out = answer(run_hook(ws, event))
    assert out is not None and "IMPL-STUB" in out["followup_message"]
    event["loop_count"] = 3
    assert run_hook(ws, event).stdout == ""  # allowed; Cursor shows nothing more
    event["loop_count"], event["status"] = 0, "aborted"
    assert run_hook(ws, event).stdout == ""


# -- commits -----------------------------------------------------------------------------------
def test_git_commit_is_refused_while_the_gate_fails_with_gate_commits(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    commit = payload(
        "claude-pre-tool-use-bash.json",
        cwd=str(ws),
        tool_input={"command": "git add -A && git commit -m 'done'"},
    )
    assert run_hook(ws, commit).stdout == ""  # not asked to gate commits
    out = answer(run_hook(ws, commit, "--gate-commits"))
    assert out is not None
    hso = out["hookSpecificOutput"]
    assert hso["permissionDecision"] == "deny"
    assert "IMPL-STUB" in hso["permissionDecisionReason"]
    other = payload("claude-pre-tool-use-bash.json", cwd=str(ws))
    assert run_hook(ws, other, "--gate-commits").stdout == ""  # not a commit: no answer

    cursor = payload("cursor-before-shell-execution.json", workspace_roots=[str(ws)], cwd=str(ws))
    out = answer(run_hook(ws, cursor, "--gate-commits"))
    assert out is not None and out["permission"] == "deny" and "IMPL-STUB" in out["agent_message"]


# -- session start ----------------------------------------------------------------------------
def test_session_start_describes_the_session(ws: Path) -> None:
    start_session(ws)
    out = answer(run_hook(ws, payload("claude-session-start.json", cwd=str(ws))))
    assert out is not None
    text = out["hookSpecificOutput"]["additionalContext"]
    assert out["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "s-test" in text and "implementation" in text and "0.90" in text


def test_session_start_without_a_session(ws: Path) -> None:
    out = answer(run_hook(ws, payload("claude-session-start.json", cwd=str(ws))))
    assert out is not None
    assert "no session is active" in out["hookSpecificOutput"]["additionalContext"]


# -- never break the agent's turn ---------------------------------------------------------------
def test_malformed_input_exits_0_and_is_logged(ws: Path) -> None:
    proc = run_hook(ws, (DATA / "malformed.txt").read_bytes())
    assert proc.stdout == ""
    assert any("not JSON" in line for line in log_lines(ws))


def test_unknown_events_and_bad_options_exit_0_and_are_logged(ws: Path) -> None:
    proc = run_hook(ws, {"hook_event_name": "Notification", "cwd": str(ws), "message": "hi"})
    assert proc.stdout == ""
    assert any("ignored event 'Notification'" in line for line in log_lines(ws))
    proc = run_hook(ws, stop_event(ws, active=False), "--no-such-option")
    assert proc.stdout == ""
    assert any("bad options" in line for line in log_lines(ws))


def test_a_configuration_error_exits_0_and_is_logged(ws: Path) -> None:
    (ws / "phasegate.toml").write_text("thresholds = [\n")
    assert run_hook(ws, stop_event(ws, active=False)).stdout == ""
    assert run_hook(ws, write_event(ws, "app/stub.py", STUB)).stdout == ""
    assert any("configuration error" in line for line in log_lines(ws))


def test_a_missing_file_exits_0(ws: Path) -> None:
    event = payload(
        "claude-post-tool-use-write.json",
        cwd=str(ws),
        tool_input={"file_path": str(ws / "gone.py"), "content": ""},
    )
    assert run_hook(ws, event).stdout == ""


def test_an_unusable_state_folder_exits_0(ws: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ws / ".phasegate").symlink_to(elsewhere)
    (ws / "app" / "stub.py").write_text(STUB)
    proc = run_hook(ws, stop_event(ws, active=False))
    assert proc.returncode == 0
    assert not any(elsewhere.iterdir())  # nothing written through the link


def test_a_changed_configuration_is_read_again(ws: Path) -> None:
    (ws / "app" / "stub.py").write_text(STUB)
    assert answer(run_hook(ws, stop_event(ws, active=False)))["decision"] == "block"  # type: ignore[index]
    config = (ws / "phasegate.toml").read_text()
    (ws / "phasegate.toml").write_text(
        config.replace('id = "IMPL-STUB"', 'id = "IMPL-STUB"\nenabled = false')
    )
    assert run_hook(ws, stop_event(ws, active=False)).stdout == ""


def test_outside_a_project_the_hook_does_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "script.py").write_text(STUB)
    assert run_hook(home, write_event(home, "script.py", STUB)).stdout == ""
    assert run_hook(home, stop_event(home, active=False)).stdout == ""
    assert run_hook(home, b"not json").stdout == ""
    assert list(home.iterdir()) == [home / "script.py"]  # no .phasegate made
