"""``phasegate init`` and ``phasegate config``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phasegate.checks.base import Check, CheckContext, CheckOutcome, registered_checks
from phasegate.cli import cli
from phasegate.commands.init import default_config_text
from phasegate.config import Config, default_phases
from phasegate.config_loader import load, load_config
from phasegate.personas.base import (
    Persona,
    PersonaContext,
    PersonaResult,
    PersonaTask,
    registered_personas,
)
from phasegate.toml_locate import toml_loads


class _Dummy(Check):
    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome()


class _DummyPersona(Persona):
    kind = "scaffold"

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        return PersonaResult()


@pytest.fixture(autouse=True)
def defaults_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stand-ins for default checks/personas not installed yet (the file names them all)."""
    checks = registered_checks()
    for phase in default_phases():
        for cc in phase.checks:
            if cc.kind_name not in checks:
                monkeypatch.setitem(checks, cc.kind_name, _Dummy)
    if "scaffold" not in registered_personas():
        monkeypatch.setitem(registered_personas(), "scaffold", _DummyPersona)
    yield


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_init_round_trip_gives_exactly_the_defaults(tmp_path: Path) -> None:
    result = run("init", str(tmp_path), "--agent", "none")
    assert result.exit_code == 0, result.output
    path = tmp_path / "phasegate.toml"
    assert path.read_text(encoding="utf-8") == default_config_text()
    loaded = load(tmp_path)
    assert loaded.source == path
    assert loaded.config == Config()
    assert loaded.config.model_dump() == Config().model_dump()


def test_init_file_documents_every_key(tmp_path: Path) -> None:
    text = default_config_text()
    # every top-level and table key has its description in a comment
    for name, field in Config.model_fields.items():
        assert field.description, name
        assert field.description.split()[0] in text, name
    for line in ("[timeouts]", "[artifacts]", "[[phases]]", "[[phases.checks]]"):
        assert line in text
    assert '# interpreter = ".venv/bin/python"' in text
    assert "#   wieght" not in text and "#   weight (optional number)" in text
    # the comment lines are TOML comments: the data is exactly the defaults
    assert toml_loads(text)["thresholds"] == [0.6, 0.75, 0.85]


def test_init_refuses_to_overwrite_then_backs_up_with_force(tmp_path: Path) -> None:
    path = tmp_path / "phasegate.toml"
    path.write_text("thresholds = [0.1]\n", encoding="utf-8")
    refused = run("init", str(tmp_path))
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert path.read_text(encoding="utf-8") == "thresholds = [0.1]\n"

    forced = run("init", str(tmp_path), "--force")
    assert forced.exit_code == 0, forced.output
    assert load_config(tmp_path) == Config()
    backups = list((tmp_path / ".phasegate" / "backups").iterdir())
    assert len(backups) == 1
    assert backups[0].name.startswith("phasegate.toml.")
    assert backups[0].read_text(encoding="utf-8") == "thresholds = [0.1]\n"

    run("init", str(tmp_path), "--force")
    assert len(list((tmp_path / ".phasegate" / "backups").iterdir())) == 2


def test_init_notes_pyproject_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.phasegate]\nthresholds = [0.2]\n")
    result = run("init", str(tmp_path), "--agent", "none")
    assert result.exit_code == 0
    assert "takes precedence" in result.stdout


def test_config_schema(tmp_path: Path) -> None:
    result = run("config", str(tmp_path), "--schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema == Config.model_json_schema()
    assert "thresholds" in schema["properties"]


def test_config_show_toml_and_json(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text("thresholds = [0.3, 0.4]\n[timeouts]\ncheck = 7\n")
    shown = run("config", str(tmp_path), "--show")
    assert shown.exit_code == 0
    assert shown.stdout.startswith(f"# effective configuration (from {tmp_path.resolve()}")
    data = toml_loads(shown.stdout)
    assert data["thresholds"] == [0.3, 0.4]
    assert data["timeouts"]["check"] == 7
    assert len(data["phases"]) == len(default_phases())
    # the shown TOML is itself a valid configuration equal to the effective one
    assert Config.model_validate(data) == load_config(tmp_path)

    as_json = run("config", str(tmp_path), "--show", "--format", "json")
    assert as_json.exit_code == 0
    assert Config.model_validate(json.loads(as_json.stdout)) == load_config(tmp_path)

    default = run("config", str(tmp_path))
    assert default.stdout == shown.stdout


def test_config_show_reports_errors(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text("thresholds = [0.3]\ncolour = 1\n")
    result = run("config", str(tmp_path), "--show")
    assert result.exit_code == 2
    assert f"{tmp_path.resolve() / 'phasegate.toml'}:2:1: colour: unknown key" in result.stderr
    assert run("config", str(tmp_path), "--show", "--schema").exit_code == 2
