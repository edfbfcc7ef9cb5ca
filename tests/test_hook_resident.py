"""The agent hook asks the process that keeps the workspace live (``phasegate watch``, the
language server) on the workspace's local socket, and answers alone when it cannot.

Real processes throughout: ``phasegate watch`` started as a user starts it, the hook run
as the agent runs it, the socket spoken to with :mod:`phasegate.localsock`."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_hook import CONFIG, STUB, payload, run_hook

from phasegate import localsock

pytestmark = pytest.mark.skipif(not localsock.supported(), reason="no Unix sockets")


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "orders.py").write_text(STUB)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "start")
    return root.resolve()


def ping(root: Path) -> dict[str, Any] | None:
    return localsock.ask(root, {"op": "ping"})


def start_watch(root: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROJECT_DIR")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasegate", "watch", str(root), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while (p := ping(root)) is None or p.get("pid") != proc.pid:
        if proc.poll() is not None:
            raise AssertionError(f"watch exited: {proc.stderr.read() if proc.stderr else ''!r}")
        assert time.monotonic() < deadline, "watch never answered on the socket"
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


@pytest.fixture
def watch(workspace: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_watch(workspace)
    try:
        yield proc
    finally:
        stop(proc)


def edit_event(root: Path, rel: str) -> dict[str, Any]:
    path = root / rel
    return payload(
        "claude-post-tool-use-write.json",
        cwd=str(root),
        tool_input={"file_path": str(path), "content": path.read_text()},
    )


def context(proc: subprocess.CompletedProcess[str]) -> str:
    if not proc.stdout.strip():
        return ""
    out = json.loads(proc.stdout)
    return str(out["hookSpecificOutput"]["additionalContext"])


def answered(root: Path) -> int:
    p = ping(root)
    assert p is not None
    return int(p["answered"])


def forget_memo(root: Path) -> None:
    (root / ".phasegate" / "hooks" / "memo.json").unlink(missing_ok=True)


def test_watch_answers_the_hook_with_what_the_hook_computes_alone(
    workspace: Path, watch: subprocess.Popen[bytes]
) -> None:
    rel = "pkg/orders.py"
    first = run_hook(workspace, edit_event(workspace, rel))  # builds the hook's check index
    assert "IMPL-STUB" in context(first)
    before = answered(workspace)
    with open(workspace / rel, "a") as fh:
        fh.write("\n\ndef later() -> None:\n    pass\n")
    resident = run_hook(workspace, edit_event(workspace, rel))
    assert answered(workspace) == before + 1  # the watch answered this one
    text = context(resident)
    assert "pkg/orders.py:4:5: IMPL-STUB" in text
    assert "`later`" in text  # the new stub, found by the watch in the edited content

    stop(watch)
    assert ping(workspace) is None
    assert not (localsock.socket_path(workspace) or Path("/nonexistent")).exists()
    forget_memo(workspace)
    alone = run_hook(workspace, edit_event(workspace, rel))
    assert alone.stdout == resident.stdout  # one verdict, whoever computes it


def test_a_clean_file_gets_no_answer_through_the_socket(
    workspace: Path, watch: subprocess.Popen[bytes]
) -> None:
    rel = "pkg/clean.py"
    (workspace / rel).write_text('"""Clean."""\n\n\ndef one() -> int:\n    return 1\n')
    run_hook(workspace, edit_event(workspace, "pkg/orders.py"))  # the index
    before = answered(workspace)
    proc = run_hook(workspace, edit_event(workspace, rel))
    assert proc.stdout == ""
    assert answered(workspace) == before + 1


def test_another_trust_is_refused_and_the_hook_answers_alone(
    workspace: Path, watch: subprocess.Popen[bytes]
) -> None:
    rel = "pkg/orders.py"
    run_hook(workspace, edit_event(workspace, rel), "--untrusted")
    with open(workspace / rel, "a") as fh:
        fh.write("# touched\n")
    before = answered(workspace)
    proc = run_hook(workspace, edit_event(workspace, rel), "--untrusted")
    assert "IMPL-STUB" in context(proc)
    assert answered(workspace) == before  # refused: the watch is trusted, the hook not


def test_a_changed_configuration_is_read_again_by_the_resident_process(
    workspace: Path, watch: subprocess.Popen[bytes]
) -> None:
    rel = "pkg/orders.py"
    assert "IMPL-STUB" in context(run_hook(workspace, edit_event(workspace, rel)))
    cfg = workspace / "phasegate.toml"
    cfg.write_text(cfg.read_text().replace('id = "IMPL-STUB"', 'id = "IMPL-STUB"\nenabled = false'))
    with open(workspace / rel, "a") as fh:
        fh.write("# touched\n")
    proc = run_hook(workspace, edit_event(workspace, rel))
    assert "IMPL-STUB" not in context(proc)


def test_a_killed_watch_leaves_a_socket_that_is_ignored_then_replaced(workspace: Path) -> None:
    proc = start_watch(workspace)
    path = localsock.socket_path(workspace)
    assert path is not None
    stop(proc, signal.SIGKILL)
    assert path.exists()  # nobody cleaned up
    assert ping(workspace) is None
    rel = "pkg/orders.py"
    assert "IMPL-STUB" in context(run_hook(workspace, edit_event(workspace, rel)))
    again = start_watch(workspace)  # the stale socket is removed, a new one bound
    try:
        p = ping(workspace)
        assert p is not None and p["pid"] == again.pid
    finally:
        stop(again)


def test_a_second_live_process_leaves_the_first_one_answering(
    workspace: Path, watch: subprocess.Popen[bytes]
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROJECT_DIR")}
    second = subprocess.Popen(
        [sys.executable, "-m", "phasegate", "watch", str(workspace)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert second.stdout is not None
        second.stdout.readline()  # its first report: it is up
        p = ping(workspace)
        assert p is not None and p["pid"] == watch.pid
    finally:
        stop(second)
    p = ping(workspace)
    assert p is not None and p["pid"] == watch.pid  # the second did not remove its socket


def test_requests_from_other_code_or_for_another_root_are_refused(
    workspace: Path, watch: subprocess.Popen[bytes]
) -> None:
    path = localsock.socket_path(workspace)
    assert path is not None

    def raw(doc: dict[str, Any]) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(str(path))
            s.sendall(localsock.encode(doc))
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        out = localsock.decode(data)
        assert out is not None
        return out

    base = {"protocol": localsock.PROTOCOL, "code": localsock.code_stamp(), "op": "ping"}
    assert raw({**base, "root": str(workspace)})["ok"] is True
    assert raw({**base, "root": "/elsewhere"}) == {"ok": False, "reason": "another workspace"}
    other = raw({**base, "root": str(workspace), "code": "0" * 40})
    assert other == {"ok": False, "reason": "other phasegate code"}
    bad = raw({**base, "root": str(workspace), "op": "findings", "paths": "x", "trusted": True})
    assert bad["ok"] is False
    # garbage and probes do not take it down
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        s.sendall(b"not json\n")
    assert ping(workspace) is not None


def test_the_socket_folder_must_be_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = localsock.socket_dir(create=True)
    assert folder == runtime / "phasegate"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    folder.chmod(0o755)  # others could enter: not used, by either side
    assert localsock.socket_dir(create=True) is None
    assert localsock.socket_path(tmp_path) is None
    assert localsock.ask(tmp_path, {"op": "ping"}) is None
