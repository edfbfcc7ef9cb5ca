"""The ready-made agent persona of docs/personas.md, run for real: Aider.

The configuration is taken from the documentation as it is written, and Aider itself
(installed by ``scripts/install-e2e-deps.sh`` in a virtual environment of its own) does
the work. Only its model is local: the chat-completions server of ``llm_server.py``,
which answers like a model would, in Aider's "whole file" edit format. The test then
checks what phasegate promises around an agent: the findings reach it as its task, the
gate passes on what it wrote, and ``phasegate undo`` puts every file back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_env import tool_or_skip
from llm_server import Reply, llm_server

ROOT = Path(__file__).resolve().parents[1]
PERSONAS_DOC = ROOT / "docs" / "personas.md"

pytestmark = pytest.mark.slow

STUB = "def add(a, b):\n    pass\n"
DONE = "def add(a, b):\n    return a + b\n"
# How a model answers in Aider's "whole" edit format: the file name, then the whole file.
WHOLE_FILE_ANSWER = f"calc.py\n```python\n{DONE}```\n"


def documented_config(heading: str) -> str:
    """The TOML block that follows the paragraph starting with ``heading``."""
    text = PERSONAS_DOC.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}")
    m = re.compile(r"```toml\n(.*?)```", re.S).search(text, start)
    assert m, f"no TOML block after {heading!r} in {PERSONAS_DOC}"
    return m.group(1)


def tree(root: Path) -> dict[str, bytes]:
    """Every file outside .git/ and .phasegate/ -> its bytes."""
    out: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and rel.parts[0] not in (".git", ".phasegate"):
            out[rel.as_posix()] = p.read_bytes()
    return out


def phasegate(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_documented_aider_persona_fixes_a_stub_and_undo_restores(tmp_path: Path) -> None:
    aider = tool_or_skip("PHASEGATE_E2E_AIDER", "Aider")
    persona = documented_config("Aider (")
    assert '"aider"' in persona and "--no-auto-commits" in persona
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "calc.py").write_text(STUB)
    (ws / "phasegate.toml").write_text(
        '[[phases]]\nname = "implementation"\npersonas = ["backend_developer"]\n\n'
        '[[phases.checks]]\nid = "IMPL-STUB"\n\n' + persona
    )
    home = tmp_path / "home"
    home.mkdir()
    git_env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    subprocess.run(["git", "init", "-q", "."], cwd=ws, check=True)
    subprocess.run(["git", "add", "-A"], cwd=ws, check=True)
    subprocess.run(
        ["git", "commit", "-qm", "stub"], cwd=ws, check=True, env={**os.environ, **git_env}
    )
    before = tree(ws)

    with llm_server(Reply(content=WHOLE_FILE_ANSWER)) as model:
        env = {
            **os.environ,
            **git_env,
            "HOME": str(home),
            "PATH": f"{Path(aider).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            # which model Aider talks to, and quiet: these are Aider's own settings
            "AIDER_MODEL": "openai/phasegate-test",
            "OPENAI_API_BASE": model.base_url,
            "OPENAI_API_KEY": "test-key",
            "AIDER_EDIT_FORMAT": "whole",
            "AIDER_STREAM": "false",
            "AIDER_ANALYTICS": "false",
            "AIDER_CHECK_UPDATE": "false",
            "AIDER_SHOW_RELEASE_NOTES": "false",
            "AIDER_SHOW_MODEL_WARNINGS": "false",
        }
        res = phasegate("remediate", "--phase", "implementation", ".", cwd=ws, env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        assert (ws / "calc.py").read_text() == DONE
        # the task Aider was given carries the finding, at its file and line
        assert len(model.requests) == 1
        prompt = "\n".join(str(m.get("content")) for m in model.requests[0]["messages"])
        assert "calc.py" in prompt and "`add` is a stub" in prompt

    after = tree(ws)
    created = sorted(set(after) - set(before))
    assert all(p.startswith(".aider") for p in created), created  # its history files

    undone = phasegate("undo", ".", cwd=ws, env=env)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert tree(ws) == before
