"""The settings a session begins with, read from the configuration file as plain TOML,
are those of the validated configuration; and the first checkpoint written without the
checkpoint models is the one they would write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phasegate.config import Config, default_phases
from phasegate.config_loader import ConfigError, load
from phasegate.model import PhaseState, SessionState
from phasegate.session_begin import (
    DEFAULT_PHASE_NAMES,
    SessionSettings,
    begin_session,
    first_checkpoint,
    read_settings,
)
from phasegate.store import SessionStore

REPO = Path(__file__).resolve().parent.parent

PHASES = """\
[[phases]]
name = "design"
[[phases.checks]]
id = "DES-EXISTS"

[[phases]]
name = "build_it"
title = "Build"
[[phases.checks]]
id = "IMPL-SYNTAX"
"""

# (file name, text): every one a valid configuration
VALID = [
    ("phasegate.toml", "thresholds = [0.5]\n"),
    ("phasegate.toml", PHASES),
    ("phasegate.toml", PHASES + '\n[new_code]\nsince = "origin/main"\n'),
    ("phasegate.toml", '[new_code]\nbaseline = "base.sarif"\n'),
    ("phasegate.toml", "[new_code]\nsessions = false\n"),
    ("phasegate.toml", "[new_code]\nsessions = true\nsmall_change_lines = 5\n"),
    ("pyproject.toml", '[project]\nname = "x"\n\n[tool.phasegate]\nthresholds = [0.7]\n'),
    (
        "pyproject.toml",
        "[tool.phasegate.new_code]\nsessions = false\n\n"
        + PHASES.replace("[[phases", "[[tool.phasegate.phases"),
    ),
    ("pyproject.toml", '[project]\nname = "not-configured"\n'),
]


@pytest.mark.parametrize(("name", "text"), VALID)
def test_plain_settings_are_the_validated_ones(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert read_settings(tmp_path) == SessionSettings.of(load(tmp_path).config)


def test_the_bundled_example_and_no_configuration(tmp_path: Path) -> None:
    example = REPO / "examples/taskboard"
    assert read_settings(example) == SessionSettings.of(load(example).config)
    assert read_settings(tmp_path) == SessionSettings.of(Config())


def test_default_phase_names() -> None:
    assert tuple(p.name for p in default_phases()) == DEFAULT_PHASE_NAMES


@pytest.mark.parametrize(
    "text",
    [
        "thresholds = [",  # not TOML
        "phases = 3\n",
        '[[phases]]\ntitle = "no name"\n',
        "[[phases]]\nname = 7\n",
        'new_code = "yes"\n',
        "[new_code]\nsessions = 1\n",
        "[new_code]\nsince = 3\n",
    ],
)
def test_what_plain_toml_cannot_read_is_left_to_validation(tmp_path: Path, text: str) -> None:
    (tmp_path / "phasegate.toml").write_text(text)
    assert read_settings(tmp_path) is None


def test_a_pyproject_whose_phasegate_is_no_table_is_left_to_validation(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool]\nphasegate = 3\n")
    assert read_settings(tmp_path) is None
    with pytest.raises(ConfigError):
        load(tmp_path)


def test_an_unreadable_file_is_left_to_validation(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_bytes(b"thresholds = [0.5]\n\xff\n")
    assert read_settings(tmp_path) is None
    with pytest.raises(ConfigError):
        load(tmp_path)


@pytest.mark.parametrize("since", [None, "0123456789abcdef0123456789abcdef01234567"])
def test_the_first_checkpoint_is_the_models_own(since: str | None) -> None:
    plain = first_checkpoint("s1", "Add numbers — and more", ["design", "build"], since)
    state = SessionState.model_validate(plain)
    assert state.model_dump(mode="json") == plain
    made = SessionState(
        id="s1",
        requirement="Add numbers — and more",
        phases=[PhaseState(name="design"), PhaseState(name="build")],
        new_code_since=since,
        seq=1,
        created_at=plain["created_at"],
        updated_at=plain["updated_at"],
    )
    assert json.loads(made.model_dump_json(indent=1)) == plain
    assert list(json.loads(made.model_dump_json())) == list(plain)


def test_begin_writes_a_checkpoint_the_store_reads(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    begun = begin_session(store, SessionSettings(("a", "b"), False), "  Do it ", "s1")
    try:
        assert store.get_active() == "s1"
        loaded = SessionStore(tmp_path).load("s1")
        assert loaded.model_dump() == begun.state.model_dump()
        assert loaded.requirement == "Do it" and [p.name for p in loaded.phases] == ["a", "b"]
        assert loaded.seq == 1 and loaded.new_code_since is None
    finally:
        store.unlock("s1")
