"""The parts of the hook face that run without a process: event parsing, the fast
path's pattern matching (it must agree with the engine's), commit detection, text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phasegate.config import Config
from phasegate.hooks import fastpath, protocol, render
from phasegate.hooks.shell import is_git_commit
from phasegate.query import check_specs
from phasegate.workspace import Workspace, matches

DATA = Path(__file__).resolve().parent / "data" / "hooks"

PATHS = [
    "a.py",
    "src/app/models.py",
    "tests/test_app.py",
    "src/tests/test_x.py",
    "test_top.py",
    "pkg/thing_test.py",
    "docs/requirements.md",
    "docs/design.md",
    "specs/001-x/spec.md",
    "specs/001-x/plan.md",
    "README.md",
    "Readme.rst",
    "pyproject.toml",
    "sub/pyproject.toml",
    "Dockerfile",
    "deploy/api.Dockerfile",
    "fixtures/Dockerfile",
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    "sub/.gitlab-ci.yml",
    "CHANGELOG.md",
    "notes.txt",
    "build/x.py",
    "a/b/c/d/e.pyi",
]


def test_the_fast_matcher_agrees_with_the_engine(tmp_path: Path) -> None:
    specs = check_specs(tmp_path, Config())
    for spec in specs:
        inputs = fastpath.Matcher(fastpath.compile_patterns(spec.inputs))
        exclude = fastpath.Matcher(fastpath.compile_patterns(spec.exclude))
        for path in PATHS:
            want = matches(path, spec.inputs) and not (spec.exclude and matches(path, spec.exclude))
            got = inputs(path) and not (spec.exclude and exclude(path))
            assert got == want, (spec.key, path)


@pytest.mark.parametrize(
    "lines",
    [
        ["build/", "*.log", "!keep.log", "/top.py", "docs/**/draft*"],
        ["*", "!*/", "!*.py"],
        ["src/", "!src/keep/"],
    ],
)
def test_the_fast_matcher_agrees_with_gitignore_rules(tmp_path: Path, lines: list[str]) -> None:
    (tmp_path / ".gitignore").write_text("\n".join(lines) + "\n")
    ws = Workspace(tmp_path)
    fast = fastpath.Matcher(fastpath.compile_patterns(lines))
    for path in [
        *PATHS,
        "x.log",
        "keep.log",
        "top.py",
        "a/top.py",
        "docs/a/draft1.md",
        "src/keep/k.py",
    ]:
        assert fast(path) == ws._load_ignore().match_file(path), path


def test_parse_claude_events() -> None:
    raw = (DATA / "claude-post-tool-use-edit.json").read_bytes()
    ev = protocol.parse_event(raw)
    assert ev.agent == "claude" and ev.name == "PostToolUse" and ev.tool_name == "Edit"
    assert ev.edits == [protocol.FileEdit("/path/to/file.txt", ["replacement text"])]
    ev = protocol.parse_event((DATA / "claude-post-tool-use-write.json").read_bytes())
    assert ev.edits == [protocol.FileEdit("/path/to/file.txt", None)]
    ev = protocol.parse_event((DATA / "claude-stop.json").read_bytes())
    assert ev.name == "Stop" and ev.stop_hook_active and ev.session_id == "abc123"
    ev = protocol.parse_event((DATA / "claude-pre-tool-use-bash.json").read_bytes())
    assert ev.command == "psql -c 'SELECT * FROM users'"
    multi = {
        "hook_event_name": "PostToolUse",
        "tool_name": "MultiEdit",
        "tool_input": {"file_path": "/x.py", "edits": [{"old_string": "a", "new_string": "b"}]},
    }
    assert protocol.parse_event(json.dumps(multi).encode()).edits == [
        protocol.FileEdit("/x.py", ["b"])
    ]
    nb = {
        "hook_event_name": "PostToolUse",
        "tool_name": "NotebookEdit",
        "tool_input": {"notebook_path": "/n.ipynb"},
    }
    assert protocol.parse_event(json.dumps(nb).encode()).edits == [protocol.FileEdit("/n.ipynb")]


def test_parse_codex_and_cursor_events() -> None:
    ev = protocol.parse_event((DATA / "codex-post-tool-use-apply-patch.json").read_bytes())
    assert ev.agent == "codex" and ev.edits == [protocol.FileEdit("src/app.py", ["x = 2"])]
    assert protocol.edited_paths(ev) == ["/path/to/project/src/app.py"]
    ev = protocol.parse_event((DATA / "codex-stop.json").read_bytes())
    assert ev.agent == "codex" and ev.name == "Stop" and not ev.stop_hook_active
    ev = protocol.parse_event((DATA / "cursor-after-file-edit.json").read_bytes())
    assert ev.agent == "cursor" and ev.name == "PostToolUse"
    assert ev.edits == [protocol.FileEdit("/path/to/project/src/main.py", ["const foo = 2"])]
    ev = protocol.parse_event((DATA / "cursor-stop.json").read_bytes())
    assert ev.name == "Stop" and ev.loop_count == 0 and ev.status == "completed"
    ev = protocol.parse_event((DATA / "cursor-before-shell-execution.json").read_bytes())
    assert ev.name == "PreToolUse" and ev.command == "git commit -m 'wip'"


def test_patch_edits() -> None:
    patch = (
        "*** Begin Patch\n*** Add File: new.py\n+print(1)\n"
        "*** Update File: old.py\n*** Move to: moved.py\n@@\n-a\n+b\n"
        "*** Delete File: gone.py\n*** End Patch\n"
    )
    assert protocol.patch_edits(patch) == [
        protocol.FileEdit("new.py", None),
        protocol.FileEdit("moved.py", ["b"]),
    ]


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"x": 1}', b"\xff\xfe"])
def test_bad_input_is_refused(raw: bytes) -> None:
    with pytest.raises(protocol.BadEvent):
        protocol.parse_event(raw)


def test_touched_lines() -> None:
    text = "a\nb\nc = 1\nd\n"
    assert protocol.touched_lines(text, ["c = 1\nd"]) == {2, 3}
    assert protocol.touched_lines(text, None) is None
    assert protocol.touched_lines(text, ["  c = 1"]) == {2}  # a patch line, re-indented


@pytest.mark.parametrize(
    ("command", "commit"),
    [
        ("git commit -m x", True),
        ("git -C repo -c user.name=x commit --amend", True),
        ("cd a && FOO=1 git commit -am 'a && b'", True),
        ("bash -c 'git add . && git commit -m x'", True),
        ("git status; git log --grep commit", False),
        ("echo git commit", False),
        ("git commit-tree abc", False),
        ("npm test", False),
    ],
)
def test_git_commit_detection(command: str, commit: bool) -> None:
    assert is_git_commit(command) is commit


def test_post_edit_text_orders_and_caps() -> None:
    def item(line: int, state: str | None = None, touched: bool = False) -> render.Item:
        return render.Item(
            path="a.py",
            line=line,
            col=1,
            end_line=line,
            code="IMPL-LINT",
            message="F401 x",
            severity="warning",
            state=state,
            touched=touched,
            blocking=False,
        )

    items = [item(n) for n in range(1, 11)] + [item(20, "new"), item(30, touched=True)]
    text = render.post_edit_text(items, ["a.py"], new_code="since HEAD (abc)", held=False)
    lines = text.splitlines()
    assert lines[1].startswith("- a.py:20:1:") and lines[1].endswith("[new]")
    assert lines[2].startswith("- a.py:30:1:") and lines[2].endswith("[edited line]")
    assert lines[-1] == "4 more: run `phasegate validate`."
    assert len(lines) == 1 + 8 + 1
