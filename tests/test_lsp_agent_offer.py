"""The editor's first session offers an installed coding agent for the code phases.

The real language server (pytest-lsp), stand-in agent CLIs on ``PATH`` that read their
task as the real ones do (see test_agent_personas), and the commands the VS Code client
calls before its first session: ``phasegate.agentOffer`` then ``phasegate.useAgent``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from test_agent_personas import DONE, MINIMAL_CONFIG, STUB, VENV_BIN, write_standins
from test_lsp_helpers import start

from phasegate.model import PhaseState, SessionState
from phasegate.store import SessionStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="stand-ins are scripts")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text(STUB, encoding="utf-8")
    (root / "phasegate.toml").write_text(MINIMAL_CONFIG, encoding="utf-8")
    return root


async def test_first_session_offers_the_agent_and_it_does_the_work(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = write_standins(tmp_path / "bin", ("claude",))
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), VENV_BIN, os.defpath]))
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "log.jsonl"))
    async with start(ws) as s:
        await s.settle()
        answer = await s.command("phasegate.agentOffer")
        offer = answer["offer"]
        assert offer is not None, answer
        assert offer["agent"]["name"] == "claude"
        assert offer["agent"]["path"] == str(bin_dir / "claude")
        assert offer["personas"] == ["backend_developer"]
        assert "Claude Code" in offer["message"]

        used = await s.command("phasegate.useAgent", {"agent": "claude"})
        assert used["changed"] is True and used["personas"] == ["backend_developer"]
        assert used["backup"] == str(ws / "phasegate.toml.phasegate-backup")
        text = (ws / "phasegate.toml").read_text(encoding="utf-8")
        assert text.startswith(MINIMAL_CONFIG) and "[personas.backend_developer]" in text
        assert (await s.command("phasegate.agentOffer"))["offer"] is None  # taken

        await s.command("phasegate.startSession", {"requirement": "add two numbers"})
        # the agent, not the scaffold, was the implementation phase's persona
        assert (ws / "calc.py").read_text(encoding="utf-8") == DONE
        status = await s.command("phasegate.status")
        assert status["session"] is not None


async def test_no_offer_without_an_agent_or_after_the_first_session(
    ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join([VENV_BIN, os.defpath]))
    async with start(ws) as s:
        await s.settle()
        none = await s.command("phasegate.agentOffer")
        assert none["offer"] is None and "no coding agent" in none["reason"]

    bin_dir = write_standins(tmp_path / "bin", ("codex",))
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), VENV_BIN, os.defpath]))
    SessionStore(ws).create(
        SessionState(id="earlier", requirement="an earlier one", phases=[PhaseState(name="x")])
    )
    async with start(ws) as s:
        await s.settle()
        later = await s.command("phasegate.agentOffer")
        assert later["offer"] is None and "sessions already" in later["reason"]


async def test_use_agent_refuses_bad_arguments(ws: Path) -> None:
    from test_lsp_commands import expect_error

    async with start(ws) as s:
        await s.settle()
        await expect_error(s.command("phasegate.useAgent", {"agent": "nobody"}), -32602)
        await expect_error(s.command("phasegate.useAgent", {"agent": 3}), -32602)
        await expect_error(
            s.command("phasegate.useAgent", {"agent": "claude", "personas": "x"}), -32602
        )
    assert (ws / "phasegate.toml").read_text(encoding="utf-8") == MINIMAL_CONFIG
