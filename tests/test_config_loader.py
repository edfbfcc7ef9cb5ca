"""Configuration loading: where it comes from, merging, and errors at the exact line."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import Check, CheckContext, CheckOutcome, registered_checks
from phasegate.config import DEFAULT_ROLES, Config, default_phases
from phasegate.config_loader import (
    ConfigError,
    ConfigIssue,
    find_config,
    format_key,
    load,
    load_config,
    parse_config_text,
)
from phasegate.personas.base import (
    Persona,
    PersonaContext,
    PersonaResult,
    PersonaTask,
    registered_personas,
)


class LevelOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(1, ge=0, description="How strict.")
    words: list[str] = Field(default_factory=list)


class CfgCheck(Check):
    id = "CFG-A"
    Options: ClassVar[type[BaseModel]] = LevelOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome()


class CfgPlain(Check):
    id = "CFG-B"

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome()


class UrlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    retries: int = 2


class CfgPersona(Persona):
    kind = "cfgtest"
    Options: ClassVar[type[BaseModel]] = UrlOptions

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        return PersonaResult()


class _Dummy(Check):
    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome()


@pytest.fixture(autouse=True)
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Test checks/personas, plus stand-ins for any default check not installed yet."""
    checks = registered_checks()
    monkeypatch.setitem(checks, "CFG-A", CfgCheck)
    monkeypatch.setitem(checks, "CFG-B", CfgPlain)
    for phase in default_phases():
        for cc in phase.checks:
            if cc.kind_name not in checks:
                monkeypatch.setitem(checks, cc.kind_name, _Dummy)
    personas = registered_personas()
    monkeypatch.setitem(personas, "cfgtest", CfgPersona)
    if "scaffold" not in personas:
        monkeypatch.setitem(personas, "scaffold", CfgPersona)
    yield


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def issues_of(root: Path) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load_config(root)
    return info.value.issues


def one_issue(root: Path) -> ConfigIssue:
    issues = issues_of(root)
    assert len(issues) == 1, issues
    return issues[0]


# -- where the configuration comes from --------------------------------------------------
def test_no_file_gives_defaults(tmp_path: Path) -> None:
    assert find_config(tmp_path) is None
    loaded = load(tmp_path)
    assert loaded.source is None
    assert loaded.config == Config()


def test_pyproject_without_table_is_ignored(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n[tool.ruff]\nline-length = 90\n')
    assert find_config(tmp_path) is None
    assert load_config(tmp_path) == Config()


def test_pyproject_table_is_used(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "pyproject.toml",
        """
        [project]
        name = "x"

        [tool.phasegate]
        thresholds = [0.5, 0.9]

        [tool.phasegate.timeouts]
        check = 12
        """,
    )
    assert find_config(tmp_path) == p
    loaded = load(tmp_path)
    assert loaded.source == p
    assert loaded.config.thresholds == [0.5, 0.9]
    assert loaded.config.timeouts.check == 12
    assert loaded.config.timeouts.tests == Config().timeouts.tests
    assert loaded.config.phases == default_phases()


def test_phasegate_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.phasegate]\nthresholds = [0.1]\n")
    p = write(tmp_path, "phasegate.toml", "thresholds = [0.2]\n")
    assert find_config(tmp_path) == p
    assert load_config(tmp_path).thresholds == [0.2]


# -- merging -----------------------------------------------------------------------------
def test_partial_config_keeps_default_phases_and_personas(tmp_path: Path) -> None:
    write(tmp_path, "phasegate.toml", "thresholds = [0.5, 0.6]\n")
    cfg = load_config(tmp_path)
    assert cfg.thresholds == [0.5, 0.6]
    assert cfg.phases == Config().phases
    assert cfg.personas == Config().personas
    assert cfg.max_phase_iterations == 3


def test_phases_replace_the_default_list(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "only"
        personas = ["qa_engineer"]

        [[phases.checks]]
        id = "CFG-A"
        options = { level = 3 }
        """,
    )
    cfg = load_config(tmp_path)
    assert [p.name for p in cfg.phases] == ["only"]
    assert cfg.phases[0].checks[0].options == {"level": 3}


def test_personas_merge_by_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [personas.qa_engineer]
        kind = "cfgtest"
        options = { url = "http://localhost:1" }

        [personas.reviewer]
        kind = "cfgtest"
        role = "Reviews."
        options = { url = "http://localhost:2" }
        """,
    )
    cfg = load_config(tmp_path)
    assert set(cfg.personas) == set(DEFAULT_ROLES) | {"reviewer"}
    qa = cfg.personas["qa_engineer"]
    assert qa.kind == "cfgtest"
    assert qa.role == DEFAULT_ROLES["qa_engineer"]  # keys not set keep the default
    assert cfg.personas["devops_engineer"] == Config().personas["devops_engineer"]


# -- errors ------------------------------------------------------------------------------
def test_syntax_error_position(tmp_path: Path) -> None:
    p = write(tmp_path, "phasegate.toml", "thresholds = [0.5]\n\nmin_improvement = = 3\n")
    issue = one_issue(tmp_path)
    assert (issue.file, issue.line, issue.column) == (p, 3, 19)
    assert "TOML syntax" in issue.message
    assert str(issue).startswith(f"{p}:3:19: ")


def test_syntax_error_at_end_of_file(tmp_path: Path) -> None:
    write(tmp_path, "phasegate.toml", "thresholds = [0.5\n")
    issue = one_issue(tmp_path)
    assert issue.line == 2
    assert "TOML syntax" in issue.message


NESTED = """
# a comment
thresholds = [0.6]

[timeouts]
check = 30

[[phases]]
name = "one"

[[phases.checks]]
id = "CFG-A"

[[phases]]
name = "two"
checks = [{ id = "CFG-B" }]

[[phases]]
name = "three"

[[phases.checks]]
id = "CFG-A"
enabled = true
wieght = 2.0
"""


def test_unknown_key_in_third_phase_first_check(tmp_path: Path) -> None:
    p = write(tmp_path, "phasegate.toml", NESTED)
    issue = one_issue(tmp_path)
    assert issue.file == p
    assert issue.key == "phases[2].checks[0].wieght"
    assert issue.line == 23
    assert issue.column == 1
    assert "did you mean 'weight'" in issue.message
    assert str(issue) == f"{p}:23:1: phases[2].checks[0].wieght: {issue.message}"


def test_unknown_key_in_inline_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "one"
        checks = [
          { id = "CFG-A" },
          { id = "CFG-B", blockng = true },
        ]
        """,
    )
    issue = one_issue(tmp_path)
    assert issue.key == "phases[0].checks[1].blockng"
    assert (issue.line, issue.column) == (5, 19)


def test_unknown_top_level_and_dotted_keys(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        thresholds = [0.6]
        timeouts.check = 5
        timeouts.tset = 5
        colour = "blue"
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.key, i.line, i.column) for i in issues] == [
        ("timeouts.tset", 3, 10),
        ("colour", 4, 1),
    ]


def test_wrong_type_points_at_the_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        max_phase_iterations = 3

        [artifacts]
        sources = "src/*.py"

        [[phases]]
        name = "x"
          [[phases.checks]]
          id = "CFG-B"
          weight = "heavy"
        """,
    )
    issues = issues_of(tmp_path)
    by_key = {i.key: i for i in issues}
    assert by_key["artifacts.sources"].line == 4
    assert by_key["phases[0].checks[0].weight"].line == 10
    assert by_key["phases[0].checks[0].weight"].column == 3
    assert "'heavy'" in by_key["phases[0].checks[0].weight"].message


def test_out_of_range_value_in_array(tmp_path: Path) -> None:
    write(tmp_path, "phasegate.toml", "min_improvement = 0.1\nthresholds = [0.5, 1.5]\n")
    issue = one_issue(tmp_path)
    assert (issue.key, issue.line) == ("thresholds", 2)
    assert "1.5" in issue.message


def test_missing_key_falls_back_to_enclosing_table(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "a"

        [[phases]]
        title = "No name"
        """,
    )
    issue = one_issue(tmp_path)
    assert issue.key == "phases[1].name"
    assert issue.line == 4  # the [[phases]] header of the second phase
    assert "missing" in issue.message


def test_duplicate_phase_and_check_ids(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "a"
        checks = [{ id = "CFG-A" }, { id = "CFG-A" }]

        [[phases]]
        name = "a"
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.key, i.line) for i in issues] == [
        ("phases[0].checks[1].id", 3),
        ("phases[1].name", 6),
    ]


def test_unknown_check_kind_lists_known_ones(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "a"

        [[phases.checks]]
        id = "MINE"
        kind = "CFG-AA"

        [[phases.checks]]
        id = "NOPE"
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.key, i.line) for i in issues] == [
        ("phases[0].checks[0].kind", 6),
        ("phases[0].checks[1].id", 9),
    ]
    assert "did you mean 'CFG-A'" in issues[0].message
    assert "CFG-B" in issues[0].message  # the known kinds are listed
    assert "defaults to the id" in issues[1].message


def test_check_options_validated_at_the_option_key(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "a"

        [[phases.checks]]
        id = "CFG-A"
        options = { level = -1 }

        [[phases.checks]]
        id = "X"
        kind = "CFG-A"
        [phases.checks.options]
        words = ["a"]
        levle = 2

        [[phases.checks]]
        id = "CFG-B"
        options = { any = 1 }
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.key, i.line) for i in issues] == [
        ("phases[0].checks[0].options.level", 6),
        ("phases[0].checks[1].options.levle", 13),
        ("phases[0].checks[2].options.any", 17),
    ]
    assert "did you mean 'level'" in issues[1].message
    assert "takes no keys" in issues[2].message


def test_persona_kind_and_options(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [personas.agent]
        kind = "cfgtest"
        options = { url = "http://x", retries = "many" }

        [personas.other]
        kind = "nonesuch"

        [personas.third]
        kind = "cfgtest"
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.key, i.line) for i in issues] == [
        ("personas.agent.options.retries", 3),
        ("personas.other.kind", 6),
        ("personas.third.options.url", 8),
    ]
    assert "cfgtest" in issues[1].message  # known kinds listed
    assert "missing" in issues[2].message


def test_unknown_persona_references_are_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        [[phases]]
        name = "a"
        personas = ["qa_engineer", "qa_engineeer", "reviewer"]

        [[phases.checks]]
        id = "CFG-B"
        owner = "nobody"

        [personas.reviewer]
        kind = "cfgtest"
        options = { url = "http://x" }
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.key, i.line) for i in issues] == [
        ("phases[0].personas[1]", 3),
        ("phases[0].checks[0].owner", 7),
    ]
    assert "did you mean 'qa_engineer'" in issues[0].message


def test_errors_in_pyproject_use_its_lines(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "pyproject.toml",
        """
        [project]
        name = "x"
        version = "1"

        [tool.ruff]
        line-length = 100

        [tool.phasegate]
        thresholds = [0.7]
        max_global_iterations = 0

        [[tool.phasegate.phases]]
        name = "p"

        [[tool.phasegate.phases.checks]]
        id = "CFG-A"
        wieght = 1
        """,
    )
    issues = issues_of(tmp_path)
    assert [(i.file, i.key, i.line) for i in issues] == [
        (p, "max_global_iterations", 10),
        (p, "phases[0].checks[0].wieght", 17),
    ]


def test_pyproject_tool_phasegate_not_a_table(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n\n[tool]\nphasegate = 3\n')
    issue = one_issue(tmp_path)
    assert issue.line == 5
    assert "table" in issue.message


def test_broken_pyproject_mentioning_phasegate_reports_syntax(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.phasegate]\nthresholds = [\n")
    issue = one_issue(tmp_path)
    assert "TOML syntax" in issue.message


def test_config_error_str_lists_every_issue(tmp_path: Path) -> None:
    p = write(tmp_path, "phasegate.toml", "a = 1\nb = 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{p}:1:1: a: unknown key 'a'")
    assert lines[1].startswith(f"{p}:2:1: b: unknown key 'b'")


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_bytes(b"thresholds = [0.5]\n# \xff\n")
    issue = one_issue(tmp_path)
    assert "UTF-8" in issue.message


def test_parse_config_text_for_unsaved_buffers(tmp_path: Path) -> None:
    cfg = parse_config_text("thresholds = [0.4]\n", tmp_path / "phasegate.toml")
    assert cfg.thresholds == [0.4]
    with pytest.raises(ConfigError):
        parse_config_text("[tool.phasegate]\nbad = 1\n", tmp_path / "x.toml", pyproject=True)


@pytest.mark.parametrize(
    ("loc", "key"),
    [
        (("phases", 1, "checks", 0, "wieght"), "phases[1].checks[0].wieght"),
        (("personas", "qa", "kind"), "personas.qa.kind"),
        (("site", "a.b", 0), 'site."a.b"[0]'),
        ((), ""),
    ],
)
def test_format_key(loc: tuple[Any, ...], key: str) -> None:
    assert format_key(loc) == key


def test_invalid_persona_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        "phasegate.toml",
        """
        thresholds = [0.5]

        [personas."../evil"]
        kind = "cfgtest"
        options = { url = "http://x" }
        """,
    )
    issue = one_issue(tmp_path)
    assert (issue.key, issue.line) == ('personas."../evil"', 3)
    assert "invalid persona name" in issue.message


def test_every_kind_of_error_shows_in_one_pass(tmp_path: Path) -> None:
    """A file with a schema error and unknown check kinds/options gets all of them at
    once, not one kind of error per fix."""
    write(
        tmp_path,
        "phasegate.toml",
        'thresholds = [2.0]\nbogus = 1\n\n[[phases]]\nname = "x"\n\n'
        '[[phases.checks]]\nid = "NOPE-1"\n\n'
        '[[phases.checks]]\nid = "IMPL-LINT"\noptions = { nope = 1 }\n',
    )
    found = [(i.line, i.key) for i in issues_of(tmp_path)]
    assert found == [
        (1, "thresholds"),
        (2, "bogus"),
        (8, "phases[0].checks[0].id"),
        (12, "phases[0].checks[1].options.nope"),
    ]
