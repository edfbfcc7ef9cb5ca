"""Loading the configuration, with errors reported at the file, line and key at fault.

Where the configuration comes from (:func:`find_config`):

1. ``phasegate.toml`` at the workspace root;
2. else ``pyproject.toml`` at the root when it has a ``[tool.phasegate]`` table;
3. else nothing: the built-in default pipeline (:class:`phasegate.config.Config`).

How a partial configuration merges with the defaults:

* a top-level key that is absent keeps its default (a file with only ``thresholds``
  keeps the five default phases and personas);
* tables (``[timeouts]``, ``[artifacts]``) merge key by key;
* ``phases``, when given, **replaces** the default list of phases as a whole;
* ``personas`` merge by name: a configured name adds a persona or overrides the keys it
  sets of a default one, the other default personas stay.

Every problem found is a :class:`ConfigIssue` (file, 1-based line and column, key path,
message) and :func:`load` raises one :class:`ConfigError` carrying all of them:

* TOML syntax errors, at the position ``tomllib`` reports;
* unknown keys and wrong types, at the line of the key (``phases[2].checks[0].wieght``),
  or of the nearest enclosing table when the key itself is absent (a missing key);
* unknown check kinds, check ``options`` that the check's ``Options`` model rejects,
  unknown persona kinds and persona ``options`` that the persona's ``Options`` rejects;
* personas named by a phase or as a check ``owner`` that are neither configured under
  ``[personas]`` nor one of the default roles: an **error**, since such a name is almost
  always a typo and would otherwise silently run as an unconfigured scaffold persona;
* configurations that would let every gate pass without checking anything: no phase, a
  phase without an enabled check, a phase whose enabled checks all weigh 0 (the schema
  catches explicit weights, this module the checks' own default weights); these are
  reported once the rest of the file is valid, so an unfinished phase does not bury the
  error being fixed; and iteration limits above 1000 (the schema's bounds).

Some choices are legal but most likely mistakes: they are **warnings**
(:attr:`LoadedConfig.warnings`, ``ConfigIssue.severity == "warning"``), which the
commands print on standard error as ``file:line:col: warning: key: message`` and go on:

* thresholds that decrease from one iteration to the next.

Check kinds and persona references are validated for the parts the file configures;
the built-in defaults are the product's own and are not re-validated.
"""

from __future__ import annotations

import difflib
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from phasegate.config import (
    DEFAULT_ROLES,
    ID_PATTERN,
    VACUOUS_GATE,
    CheckConfig,
    Config,
    default_personas,
)

# where the configuration is found (re-exported: the commands and the editor import them here)
from phasegate.rootdir import CONFIG_FILE as CONFIG_FILE
from phasegate.rootdir import PYPROJECT_FILE as PYPROJECT_FILE
from phasegate.rootdir import find_config as find_config
from phasegate.toml_locate import KeyPath, PathPart, TOMLDecodeError, key_positions, locate
from phasegate.toml_locate import toml_loads as _toml_loads

PYPROJECT_PREFIX: KeyPath = ("tool", "phasegate")
_NAME_RE = re.compile(ID_PATTERN)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ConfigIssue:
    """One configuration problem. ``line`` and ``column`` are 1-based."""

    file: Path
    line: int
    column: int
    key: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        if self.severity == "warning":
            where += ": warning"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration is invalid; ``issues`` says where and why."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


@dataclass(frozen=True)
class LoadedConfig:
    """A configuration, the file it came from (``None``: the built-in defaults) and the
    warnings about it (legal but most likely mistakes, see the module docs)."""

    config: Config
    source: Path | None
    warnings: tuple[ConfigIssue, ...] = ()


def format_key(path: typing.Sequence[PathPart]) -> str:
    """``("phases", 1, "checks", 0, "weight")`` -> ``phases[1].checks[0].weight``
    (keys that are not bare TOML keys are quoted)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if _BARE_KEY.match(part) else json.dumps(part, ensure_ascii=False)
            out += f".{name}" if out else name
    return out


# -- loading ---------------------------------------------------------------------------
def load(root: Path) -> LoadedConfig:
    """The workspace's configuration and where it came from. Raises :class:`ConfigError`."""
    source = find_config(Path(root))
    if source is None:
        return LoadedConfig(Config(), None)
    config, warnings = load_file_with_warnings(source)
    return LoadedConfig(config, source, tuple(warnings))


def load_config(root: Path) -> Config:
    """The workspace's configuration (defaults when it has none). Raises :class:`ConfigError`."""
    return load(root).config


def load_file(path: Path) -> Config:
    """Load ``phasegate.toml``, or ``[tool.phasegate]`` of a file named ``pyproject.toml``."""
    return load_file_with_warnings(path)[0]


def load_file_with_warnings(path: Path) -> tuple[Config, list[ConfigIssue]]:
    """:func:`load_file`, and the warnings about the file's configuration."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(path, 1, 1, "", f"not valid UTF-8: {exc.reason}")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(path, 1, 1, "", f"cannot read: {exc.strerror}")]) from None
    return parse_config(text, path, pyproject=path.name == PYPROJECT_FILE)


_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def _syntax_issue(file: Path, text: str, exc: Exception) -> ConfigIssue:
    msg = str(exc)
    m = _TOML_POS.search(msg)
    if m:
        return ConfigIssue(file, int(m[1]), int(m[2]), "", "TOML syntax: " + msg[: m.start()])
    lines = text.split("\n")
    m2 = _TOML_END.search(msg)
    if m2:
        msg = msg[: m2.start()] + " at end of file"
    return ConfigIssue(file, len(lines), len(lines[-1]) + 1, "", "TOML syntax: " + msg)


def parse_config_text(text: str, file: Path, *, pyproject: bool = False) -> Config:
    """Validate configuration ``text`` (e.g. an unsaved editor buffer) read from ``file``.

    With ``pyproject``, the configuration is the ``[tool.phasegate]`` table of the text
    (an absent table gives the defaults). Raises :class:`ConfigError`.
    """
    return parse_config(text, file, pyproject=pyproject)[0]


def parse_config(
    text: str, file: Path, *, pyproject: bool = False
) -> tuple[Config, list[ConfigIssue]]:
    """:func:`parse_config_text`, and the warnings about the configuration."""
    try:
        data = _toml_loads(text)
    except TOMLDecodeError as exc:
        raise ConfigError([_syntax_issue(file, text, exc)]) from None
    prefix: KeyPath = ()
    if pyproject:
        prefix = PYPROJECT_PREFIX
        tool = data.get("tool")
        data = tool.get("phasegate", {}) if isinstance(tool, dict) else {}
    validator = _Validator(file, text, prefix)
    config = validator.validate(data)
    return config, validator.warnings


# -- validation ------------------------------------------------------------------------
def _unwrap_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def model_at(root: type[BaseModel], loc: typing.Sequence[PathPart]) -> type[BaseModel] | None:
    """The pydantic model class found at ``loc`` below ``root`` (None when not a model)."""
    tp: Any = root
    for part in loc:
        tp = _unwrap_optional(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
            continue
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is list and args:
            tp = args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        else:
            return None
    tp = _unwrap_optional(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _suggest(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _known(names: typing.Iterable[str]) -> str:
    listed = sorted(names)
    return ", ".join(listed) if listed else "none installed"


class _Validator:
    def __init__(self, file: Path, text: str, prefix: KeyPath) -> None:
        self.file = file
        self.prefix = prefix
        self.positions = key_positions(text)
        self.issues: list[ConfigIssue] = []
        self.warnings: list[ConfigIssue] = []

    def add(self, loc: typing.Sequence[PathPart], message: str, *, at_parent: bool = False) -> None:
        """Record an issue about the key at ``loc`` (relative to the config table)."""
        full = (*self.prefix, *loc)
        target = full[:-1] if at_parent and full else full
        line, col, _ = locate(self.positions, target)
        issue = ConfigIssue(self.file, line, col, format_key(loc), message)
        if issue not in self.issues:
            self.issues.append(issue)

    def warn(self, loc: typing.Sequence[PathPart], message: str) -> None:
        """Record a warning about the key at ``loc`` (relative to the config table)."""
        line, col, _ = locate(self.positions, (*self.prefix, *loc))
        issue = ConfigIssue(self.file, line, col, format_key(loc), message, "warning")
        if issue not in self.warnings:
            self.warnings.append(issue)

    # -- legal but most likely mistakes --------------------------------------------------
    def lint(self, config: Config, data: dict[str, Any]) -> None:
        if "thresholds" in data:
            t = config.thresholds
            drops = [k for k in range(1, len(t)) if t[k] < t[k - 1]]
            if drops:
                k = drops[0]
                self.warn(
                    ("thresholds",),
                    f"the thresholds decrease ({t[k - 1]:g} at iteration {k}, then {t[k]:g}): "
                    "a later iteration passes with a lower score than an earlier one, and "
                    f"`validate` scores against the last, {t[-1]:g}; make them rise or stay "
                    "level",
                )

    def pydantic_errors(
        self,
        exc: ValidationError,
        root: type[BaseModel],
        base: KeyPath = (),
        *,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        for err in exc.errors(include_url=False):
            if err["type"] in skip:
                continue
            loc: tuple[PathPart, ...] = tuple(err["loc"])
            kind = err["type"]
            msg = str(err["msg"])
            if kind == "extra_forbidden":
                name = str(loc[-1]) if loc else ""
                model = model_at(root, loc[:-1])
                allowed = list(model.model_fields) if model else []
                msg = f"unknown key {name!r}{_suggest(name, allowed)}"
                if allowed:
                    msg += f"; allowed: {', '.join(allowed)}"
                elif model is not None:
                    msg += "; this table takes no keys"
                self.add((*base, *loc), msg)
            elif kind == "missing":
                name = str(loc[-1]) if loc else ""
                self.add((*base, *loc), f"missing required key {name!r}", at_parent=True)
            else:
                if msg.startswith("Value error, "):
                    msg = msg[len("Value error, ") :]
                elif "input" in err and not isinstance(err["input"], (dict, list)):
                    msg += f", got {_short(err['input'])}"
                self.add((*base, *loc), msg)

    # -- raw pre-checks (precise locations for duplicates) -------------------------------
    def duplicates(self, data: dict[str, Any]) -> None:
        phases = data.get("phases")
        if not isinstance(phases, list):
            return
        seen_phase: dict[str, int] = {}
        for i, phase in enumerate(phases):
            if not isinstance(phase, dict):
                continue
            name = phase.get("name")
            if isinstance(name, str):
                if name in seen_phase:
                    self.add(
                        ("phases", i, "name"),
                        f"phase name {name!r} is already used by phases[{seen_phase[name]}]",
                    )
                else:
                    seen_phase[name] = i
            seen_check: dict[str, str] = {}
            for group in ("checks", "entry_checks"):
                checks = phase.get(group)
                if not isinstance(checks, list):
                    continue
                for j, check in enumerate(checks):
                    cid = check.get("id") if isinstance(check, dict) else None
                    if not isinstance(cid, str):
                        continue
                    if cid in seen_check:
                        self.add(
                            ("phases", i, group, j, "id"),
                            f"check id {cid!r} appears twice in this phase "
                            f"(first at {seen_check[cid]})",
                        )
                    else:
                        seen_check[cid] = f"phases[{i}].{group}[{j}]"

    def persona_names(self, data: dict[str, Any]) -> None:
        personas = data.get("personas")
        if not isinstance(personas, dict):
            return
        for name in personas:
            if not _NAME_RE.match(str(name)):
                self.add(
                    ("personas", name),
                    f"invalid persona name {name!r}: use letters, digits, '_', '-' and '.', "
                    "starting with a letter (at most 64 characters)",
                )

    # -- plugin checks (after the schema validated) --------------------------------------
    def plugins(self, config: Config, data: dict[str, Any]) -> None:
        from phasegate.checks.base import registered_checks
        from phasegate.personas.base import registered_personas

        checks = registered_checks()
        personas = registered_personas()
        user_personas = data.get("personas") if isinstance(data.get("personas"), dict) else {}
        assert isinstance(user_personas, dict)
        known_personas = set(config.personas) | set(DEFAULT_ROLES)

        if "phases" in data:
            for i, phase in enumerate(config.phases):
                weights = [
                    cc.weight if cc.weight is not None else checks[cc.kind_name].default_weight
                    for cc in phase.checks
                    if cc.enabled and cc.kind_name in checks
                ]
                if weights and all(w == 0 for w in weights):
                    self.add(
                        ("phases", i),
                        f"every enabled check of phase {phase.name!r} weighs 0 (their own "
                        "default weight included), so its gate would score 1.0 whatever the "
                        "checks find; give one a weight above 0",
                    )
                for k, persona in enumerate(phase.personas):
                    if persona not in known_personas:
                        self.add(
                            ("phases", i, "personas", k),
                            f"unknown persona {persona!r}{_suggest(persona, known_personas)}: "
                            f"configure it under [personas.{persona}] or use one of: "
                            f"{_known(known_personas)}",
                        )
                for group in ("checks", "entry_checks"):
                    for j, cc in enumerate(getattr(phase, group)):
                        loc: KeyPath = ("phases", i, group, j)
                        self._check_kind(loc, cc, checks)
                        if cc.owner is not None and cc.owner not in known_personas:
                            self.add(
                                (*loc, "owner"),
                                f"unknown persona {cc.owner!r}"
                                f"{_suggest(cc.owner, known_personas)}: configure it under "
                                f"[personas.{cc.owner}] or use one of: {_known(known_personas)}",
                            )

        for name in user_personas:
            pc = config.personas.get(name)
            if pc is None:
                continue
            pcls = personas.get(pc.kind)
            if pcls is None:
                self.add(
                    ("personas", name, "kind"),
                    f"unknown persona kind {pc.kind!r}{_suggest(pc.kind, personas)}; "
                    f"known: {_known(personas)}",
                )
                continue
            try:
                pcls.Options.model_validate(pc.options)
            except ValidationError as exc:
                self.pydantic_errors(exc, pcls.Options, ("personas", name, "options"))

    def _check_kind(self, loc: KeyPath, cc: CheckConfig, checks: Mapping[str, Any]) -> None:
        """A configured check names a known kind, and its options are that kind's."""
        cls = checks.get(cc.kind_name)
        if cls is None:
            field = "kind" if cc.kind is not None else "id"
            hint = "" if cc.kind is not None else " (`kind` defaults to the id)"
            self.add(
                (*loc, field),
                f"unknown check kind {cc.kind_name!r}{hint}"
                f"{_suggest(cc.kind_name, checks)}; known: {_known(checks)}",
            )
            return
        try:
            cls.Options.model_validate(cc.options)
        except ValidationError as exc:
            self.pydantic_errors(exc, cls.Options, (*loc, "options"))

    def raw_checks(self, data: dict[str, Any]) -> None:
        """When the file as a whole is invalid: still judge every check entry that is
        valid on its own (its kind and its options), so that every error shows in one
        pass instead of one kind of error per fix."""
        from phasegate.checks.base import registered_checks

        phases = data.get("phases")
        if not isinstance(phases, list):
            return
        checks = registered_checks()
        for i, phase in enumerate(phases):
            if not isinstance(phase, dict):
                continue
            for group in ("checks", "entry_checks"):
                entries = phase.get(group)
                if not isinstance(entries, list):
                    continue
                for j, raw in enumerate(entries):
                    try:
                        cc = CheckConfig.model_validate(raw)
                    except ValidationError:
                        continue  # reported with the rest of the file
                    self._check_kind(("phases", i, group, j), cc, checks)

    # -- entry point ---------------------------------------------------------------------
    def validate(self, data: Any) -> Config:
        if not isinstance(data, dict):
            self.add((), f"the configuration must be a table, got {type(data).__name__}")
            raise ConfigError(self.issues)
        merged = dict(data)
        personas = data.get("personas")
        if isinstance(personas, dict):
            defaults = {k: v.model_dump() for k, v in default_personas().items()}
            for name, value in personas.items():
                if name in defaults and isinstance(value, dict):
                    defaults[name] = {**defaults[name], **value}
                else:
                    defaults[name] = value
            merged["personas"] = defaults
        self.duplicates(data)
        self.persona_names(data)
        pre = len(self.issues)
        try:
            config = Config.model_validate(merged)
        except ValidationError as exc:
            before = list(self.issues)
            # gates that check nothing: reported once the rest of the file is valid
            kinds = {e["type"] for e in exc.errors(include_url=False)}
            skip = frozenset({VACUOUS_GATE}) if pre or kinds - {VACUOUS_GATE} else frozenset()
            self.pydantic_errors(exc, Config, skip=skip)
            if pre:  # duplicates already reported precisely: drop the model-level repeats
                self.issues = before + [
                    i
                    for i in self.issues[len(before) :]
                    if "appears twice" not in i.message and "must be unique" not in i.message
                ]
            self.raw_checks(data)
            raise ConfigError(self._sorted()) from None
        if self.issues:
            raise ConfigError(self._sorted())
        self.plugins(config, data)
        if self.issues:
            raise ConfigError(self._sorted())
        self.lint(config, data)
        return config

    def _sorted(self) -> list[ConfigIssue]:
        return sorted(self.issues, key=lambda i: (i.line, i.column))
