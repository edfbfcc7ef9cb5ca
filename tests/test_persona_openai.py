"""The openai persona against a local server speaking the real chat-completions protocol."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from llm_server import Reply, llm_server

from phasegate.checks.base import Check, CheckContext, register_check
from phasegate.config import CheckConfig, Config, PersonaConfig, PhaseConfig
from phasegate.model import Finding
from phasegate.personas.base import PersonaContext, PersonaResult, PersonaTask, make_persona
from phasegate.remediate import remediate
from phasegate.workspace import Workspace


class NoTodo(Check):
    """Fails on every line containing TODO (a file-scope check owned by the developer)."""

    id = "NO-TODO"
    scope = "file"
    default_owner = "backend_developer"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        text = ctx.workspace.read_text(path) or ""
        return [
            ctx.finding(path, "TODO left in the code", line=i)
            for i, line in enumerate(text.splitlines())
            if "TODO" in line
        ]


register_check("NO-TODO", NoTodo)

APP = "def add(a, b):\n    return a + b  # TODO check types\n"
FIXED = "def add(a: int, b: int) -> int:\n    return a + b\n"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (but ``.phasegate/``) with its bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel.startswith("ws/.phasegate") or rel.startswith(".phasegate"):
            continue
        if p.is_symlink():
            out[rel] = b"->" + os.readlink(p).encode()
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def make_config(base_url: str, **options: object) -> Config:
    opts = {"base_url": base_url, "model": "test-model", "max_retries": 0, "timeout": 10}
    opts.update(options)
    return Config(
        phases=[
            PhaseConfig(
                name="implementation",
                personas=["backend_developer"],
                checks=[CheckConfig(id="NO-TODO")],
            )
        ],
        personas={"backend_developer": PersonaConfig(kind="openai", role="dev", options=opts)},
    )


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text(APP)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the workspace\n")
    return root


def run_persona(root: Path, config: Config, *, trusted: bool = True) -> PersonaResult:
    ws = Workspace(root)
    persona = make_persona("backend_developer", config)
    task = PersonaTask(
        session_id="s1",
        requirement="Add numbers",
        phase="implementation",
        phase_title="Implementation",
        persona="backend_developer",
        role="dev",
        iteration=2,
        reason="rework: owner of NO-TODO",
        feedback=[NoTodo().check_file(_ctx(ws, config), "app.py")[0]],
        artifacts=["*.py"],
        workspace=str(ws.root),
    )
    ctx = PersonaContext(workspace=ws, config=config, timeout=30, trusted=trusted)
    return asyncio.run(persona.run(task, ctx))


def _ctx(ws: Workspace, config: Config) -> CheckContext:
    from phasegate.runner import GateRunner

    return GateRunner(ws, config).checks("implementation")[0].ctx


def answer(*edits: dict[str, str], summary: str = "done") -> str:
    return json.dumps({"edits": list(edits), "summary": summary})


def test_good_answer_fixes_the_failing_check_and_the_gate_passes(ws: Path) -> None:
    with llm_server(Reply(content=answer({"path": "app.py", "content": FIXED}))) as srv:
        config = make_config(srv.base_url)
        result = asyncio.run(remediate(Workspace(ws), config, session_id="fix1"))
    assert [p.status for p in result.phases] == ["completed"]
    assert result.phases[0].initial.passed is False
    assert result.final_gates[0].passed is True
    assert (ws / "app.py").read_text() == FIXED
    assert [(c.path, c.kind) for c in result.changes] == [("app.py", "modified")]
    # The request is the real wire protocol: model, messages, JSON mode, no streaming.
    (req,) = srv.requests
    assert req["model"] == "test-model"
    assert req["response_format"] == {"type": "json_object"}
    assert req.get("stream") in (None, False)
    system, user = req["messages"]
    assert system["role"] == "system" and '"edits"' in system["content"]
    assert "app.py:2:1: NO-TODO TODO left in the code" in user["content"]
    assert APP in user["content"]  # the file's contents are sent
    # The previous content is backed up in the session.
    backup = ws / ".phasegate/sessions/fix1/backups" / result.label / "files/app.py"  # type: ignore[operator]
    assert backup.read_text() == APP


def test_fenced_json_and_search_replace(ws: Path) -> None:
    body = answer({"path": "app.py", "search": "  # TODO check types", "replace": ""})
    with llm_server(Reply(content=f"Here you go:\n```json\n{body}\n```\n")) as srv:
        res = run_persona(ws, make_config(srv.base_url))
    assert res.ok, res.error
    assert res.files_changed == ["app.py"]
    assert (ws / "app.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert res.message == "done"


def test_new_file_in_new_directory(ws: Path) -> None:
    content = answer({"path": "pkg/sub/mod.py", "content": "X = 1\n"})
    with llm_server(Reply(content=content)) as srv:
        res = run_persona(ws, make_config(srv.base_url))
    assert res.ok, res.error
    assert (ws / "pkg/sub/mod.py").read_text() == "X = 1\n"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(content="this is not json"), "not valid JSON"),
        (Reply(content='{"edits": [{"path": "app.py"}]}'), "expected shape"),
        (Reply(content=answer({"path": "../../etc/passwd", "content": "x"})), "'..' is refused"),
        (Reply(content=answer({"path": "/etc/passwd", "content": "x"})), "absolute"),
        (Reply(content=answer({"path": "C:/x.py", "content": "x"})), "absolute"),
        (Reply(content=answer({"path": ".git/config", "content": "x"})), "off limits"),
        (Reply(content=answer({"path": "a/.phasegate/x", "content": "x"})), "off limits"),
        (Reply(content=answer({"path": "esc/secret.txt", "content": "pwned"})), "symlink"),
        (Reply(content=answer({"path": "esc/new.txt", "content": "pwned"})), "symlink"),
        (Reply(content=answer({"path": "app.py", "search": "nope", "replace": "x"})), "not found"),
        (Reply(content=answer({"path": "gone.py", "search": "a", "replace": "b"})), "not exist"),
        (Reply(status=500, error="the model crashed"), "HTTP 500: the model crashed"),
        (Reply(status=429, error="slow down"), "HTTP 429: slow down"),
        (Reply(content=None), "empty"),
        (Reply(content=answer({"path": "app.py", "content": "x"}), finish_reason="length"), "cut"),
    ],
)
def test_bad_answers_write_nothing(ws: Path, reply: Reply, error: str) -> None:
    (ws / "esc").symlink_to(ws.parent / "outside")
    before = tree(ws.parent)
    with llm_server(reply) as srv:
        res = run_persona(ws, make_config(srv.base_url))
    assert not res.ok
    assert error in (res.error or "")
    assert res.files_changed == []
    assert tree(ws.parent) == before  # nothing inside or outside the workspace was written
    assert not (ws / ".phasegate/sessions").exists()  # no backup: nothing was touched


def test_one_bad_edit_rejects_the_whole_answer(ws: Path) -> None:
    before = tree(ws.parent)
    content = answer(
        {"path": "good.py", "content": "OK = 1\n"},
        {"path": "app.py", "content": FIXED},
        {"path": "../outside/secret.txt", "content": "pwned"},
    )
    with llm_server(Reply(content=content)) as srv:
        res = run_persona(ws, make_config(srv.base_url))
    assert not res.ok and "refused" in (res.error or "")
    assert tree(ws.parent) == before


def test_failure_while_staging_rolls_everything_back(ws: Path) -> None:
    before = tree(ws.parent)
    # app.py is a file, so app.py/x.py cannot be created: the first edit must not land.
    content = answer(
        {"path": "new/dir/good.py", "content": "OK = 1\n"},
        {"path": "app.py/x.py", "content": "X = 1\n"},
    )
    with llm_server(Reply(content=content)) as srv:
        res = run_persona(ws, make_config(srv.base_url))
    assert not res.ok and "could not apply" in (res.error or "")
    assert tree(ws.parent) == before
    assert not (ws / "new").exists()


def test_timeout(ws: Path) -> None:
    before = tree(ws.parent)
    with llm_server(Reply(content=answer(), delay=5)) as srv:
        res = run_persona(ws, make_config(srv.base_url, timeout=0.5))
    assert not res.ok
    assert "no answer within 0.5s" in (res.error or "")
    assert tree(ws.parent) == before


def test_retries_on_429_then_succeeds(ws: Path) -> None:
    good = Reply(content=answer({"path": "app.py", "content": FIXED}))
    with llm_server(Reply(status=429, error="slow down"), good) as srv:
        res = run_persona(ws, make_config(srv.base_url, max_retries=1))
    assert res.ok, res.error
    assert len(srv.requests) == 2
    assert (ws / "app.py").read_text() == FIXED


def test_server_without_json_mode_is_asked_again_without_it(ws: Path) -> None:
    good = answer({"path": "app.py", "content": FIXED})
    with llm_server(Reply(content=good, reject_response_format=True), Reply(content=good)) as srv:
        res = run_persona(ws, make_config(srv.base_url))
    assert res.ok, res.error
    assert "response_format" in srv.requests[0]
    assert "response_format" not in srv.requests[1]


def test_api_key_from_env_or_dummy(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_TEST_KEY", "sk-secret-123")
    with llm_server(Reply(content=answer()), Reply(content=answer())) as srv:
        assert run_persona(ws, make_config(srv.base_url, api_key_env="PG_TEST_KEY")).ok
        assert run_persona(ws, make_config(srv.base_url, api_key_env="PG_UNSET_KEY")).ok
    assert srv.headers[0]["authorization"] == "Bearer sk-secret-123"
    assert srv.headers[1]["authorization"].startswith("Bearer ")
    assert "sk-secret-123" not in srv.headers[1]["authorization"]


def test_truncated_file_may_not_be_rewritten_whole(ws: Path) -> None:
    (ws / "big.py").write_text("# TODO\n" + "x = 1\n" * 100)
    before = tree(ws.parent)
    content = answer({"path": "big.py", "content": "x = 1\n"})
    with llm_server(Reply(content=content)) as srv:
        res = run_persona(ws, make_config(srv.base_url, max_file_bytes=50))
    assert not res.ok and "truncated" in (res.error or "")
    assert "[truncated: first 50 of" in srv.requests[0]["messages"][1]["content"]
    assert tree(ws.parent) == before


def test_untrusted_workspace_sends_nothing(ws: Path) -> None:
    with llm_server(Reply(content=answer({"path": "app.py", "content": FIXED}))) as srv:
        res = run_persona(ws, make_config(srv.base_url), trusted=False)
    assert not res.ok and "untrusted" in (res.error or "")
    assert srv.requests == []
    assert (ws / "app.py").read_text() == APP


def test_options_are_validated() -> None:
    config = make_config("http://127.0.0.1:1/v1", temperature=5)
    with pytest.raises(ValueError, match="temperature"):
        make_persona("backend_developer", config)
