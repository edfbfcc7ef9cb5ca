"""Writing agent personas into a workspace's configuration, editing nothing else.

``phasegate personas --use AGENT``, ``phasegate init --agent`` and the editor's first
session give the code phases' personas (:func:`phasegate.personas.agents.code_personas`)
to a coding agent. The configuration file is a person's file, so it is edited as text:

* only the ``[personas.<name>]`` tables of those personas are replaced (with their
  sub-tables, and dotted ``<name>.key = …`` lines of a ``[personas]`` table); a persona
  not defined yet gets a table after the last persona table, else at the end. Every
  other byte of the file — comments, order, line endings — stays as it was;
* the result is loaded again before anything is written: it must be valid and equal to
  the old configuration except for exactly those personas, else nothing is written and
  the reason is given (a definition the edit cannot isolate, such as an inline
  ``personas = { … }`` table, is reported at its line);
* a file that does not load (TOML syntax, invalid settings) is never touched: its
  problems are reported as ``file:line:col``;
* the previous file is copied to ``<file>.phasegate-backup`` first.

With no configuration file, ``phasegate.toml`` is created as ``phasegate init`` writes
it, with those tables; a ``[tool.phasegate]`` table of ``pyproject.toml`` is edited in
place (``[tool.phasegate.personas.<name>]``).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from phasegate.config import Config, PersonaConfig
from phasegate.config_loader import (
    CONFIG_FILE,
    PYPROJECT_FILE,
    PYPROJECT_PREFIX,
    ConfigError,
    ConfigIssue,
    find_config,
    parse_config,
)
from phasegate.docgen import config_to_toml, toml_key, toml_value
from phasegate.fsutil import atomic_write_text
from phasegate.personas.agents import (
    AGENT_TIMEOUT,
    AgentCli,
    agent_persona_config,
    code_personas,
    default_targets,
    detect_agents,
    role_of,
    scaffold_persona_config,
)
from phasegate.toml_locate import _Scanner, _Stop

BACKUP_SUFFIX = ".phasegate-backup"


class AgentSetupError(Exception):
    """The configuration cannot be edited; ``issues`` say where (may be empty)."""

    def __init__(self, message: str, issues: Sequence[ConfigIssue] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.issues = list(issues)

    def __str__(self) -> str:
        lines = [str(i) for i in self.issues]
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)


@dataclass
class AgentEdit:
    """The configuration text with the personas written, and what was written."""

    text: str
    agent: AgentCli | None
    written: dict[str, PersonaConfig] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)  # code persona -> why it was kept


@dataclass
class SetupResult:
    path: Path
    created: bool
    changed: bool
    backup: Path | None
    edit: AgentEdit


# -- where things are in a TOML text ----------------------------------------------------
@dataclass(frozen=True)
class _Header:
    start: int  # offset of its "["
    end: int  # offset after its "]" / "]]"
    parts: tuple[str, ...]
    array: bool


@dataclass(frozen=True)
class _Statement:
    start: int
    end: int  # offset after its value
    table: tuple[str, ...]  # the raw parts of the header it is under
    header: int  # index of that header in the layout's headers, -1 before the first
    key: tuple[str, ...]


class _Layout(_Scanner):
    """Every table header and key/value statement of a valid TOML text, with offsets."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.headers: list[_Header] = []
        self.statements: list[_Statement] = []
        self.complete = False

    def document(self) -> None:
        table: tuple[str, ...] = ()
        while True:
            self.skip_ws_nl_comments()
            if self.eof():
                self.complete = True
                return
            start = self.pos
            if self.peek(2) == "[[" or self.peek() == "[":
                array = self.peek(2) == "[["
                self.pos += 2 if array else 1
                parts = self.read_key()
                self.expect("]]" if array else "]")
                table = tuple(name for name, _ in parts)
                self.headers.append(_Header(start, self.pos, table, array))
            else:
                key = tuple(name for name, _ in self.read_key())
                self.expect("=")
                self.read_value(())
                self.statements.append(
                    _Statement(start, self.pos, table, len(self.headers) - 1, key)
                )
            self.skip_ws()
            self.skip_comment()


def _layout(text: str, file: Path) -> _Layout:
    layout = _Layout(text)
    try:
        layout.document()
    except (_Stop, IndexError):
        layout.complete = False
    if not layout.complete:
        line, col = layout.linecol(layout.pos)
        raise AgentSetupError(
            "",
            [
                ConfigIssue(
                    file,
                    line,
                    col,
                    "",
                    "phasegate cannot read the file's layout from here on, so it does not "
                    "edit it; add the persona tables by hand (see docs/personas.md)",
                )
            ],
        )
    return layout


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_end(text: str, pos: int) -> int:
    """Offset after the newline ending the line that holds ``pos`` (or the text's end)."""
    nl = text.find("\n", pos)
    return len(text) if nl == -1 else nl + 1


def _after_blank_lines(text: str, start: int) -> int:
    """``start`` (a line start) moved back over the blank lines right before it."""
    while start > 0:
        prev = _line_start(text, start - 1)
        if text[prev:start].strip():
            break
        start = prev
    return start


def _block_end(text: str, layout: _Layout, index: int) -> int:
    """End of header ``index``'s table: the line of its last statement (comments and blank
    lines before the next header belong to what follows)."""
    header = layout.headers[index]
    content = header.end
    for st in layout.statements:
        if st.header == index:
            content = max(content, st.end)
    return _line_end(text, content)


def _starts_with(path: tuple[str, ...], prefix: tuple[str, ...]) -> bool:
    return path[: len(prefix)] == prefix


# -- rendering --------------------------------------------------------------------------
def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_persona_table(
    name: str, pc: PersonaConfig, *, prefix: tuple[str, ...] = (), agent: AgentCli | None = None
) -> str:
    """The ``[personas.<name>]`` table of ``pc`` (ends with a newline)."""
    header = ".".join(toml_key(p) for p in (*prefix, "personas", name))
    lines = [f"[{header}]"]
    if agent is not None:
        lines.append(f"# {agent.title}, written by phasegate; runs in a trusted workspace only.")
        lines.append(f"# Non-interactive use: {agent.docs[0]}")
    lines.append(f"kind = {toml_value(pc.kind)}")
    if pc.role:
        lines.append(f"role = {toml_value(pc.role)}")
    if pc.timeout is not None:
        lines.append(f"timeout = {_number(pc.timeout)}")
    for key, value in pc.options.items():
        lines.append(f"options.{toml_key(key)} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


# -- the edit ---------------------------------------------------------------------------
def replace_persona_tables(
    text: str, tables: dict[str, str], file: Path, *, prefix: tuple[str, ...] = ()
) -> str:
    """``text`` with each persona's definition replaced by ``tables[name]`` (TOML text of
    its table), everything else kept byte for byte. Raises :class:`AgentSetupError`
    when a definition cannot be isolated."""
    layout = _layout(text, file)
    nl = "\r\n" if "\r\n" in text else "\n"
    if nl != "\n":
        tables = {k: v.replace("\r\n", "\n").replace("\n", nl) for k, v in tables.items()}
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), non-overlapping
    inserts: list[str] = []
    personas_root = (*prefix, "personas")
    for name, table in tables.items():
        target = (*personas_root, name)
        replaced = False
        for i, h in enumerate(layout.headers):
            if not _starts_with(h.parts, target):
                continue
            start, end = _line_start(text, h.start), _block_end(text, layout, i)
            if replaced:  # a sub-table: goes with the blank lines before it
                start = _after_blank_lines(text, start)
            edits.append((start, end, "" if replaced else table))
            replaced = True
        for st in layout.statements:
            full = st.table + st.key
            if _starts_with(st.table, target):
                continue  # inside one of the tables just replaced
            if _starts_with(full, target):
                edits.append((_line_start(text, st.start), _line_end(text, st.end), ""))
            elif _starts_with(target, full):
                line, col = layout.linecol(st.start)
                raise AgentSetupError(
                    "",
                    [
                        ConfigIssue(
                            file,
                            line,
                            col,
                            ".".join(full),
                            f"persona {name!r} cannot be written here: this is an inline "
                            "table, which TOML does not let phasegate extend; write it "
                            f"as [{'.'.join(toml_key(p) for p in target)}] tables",
                        )
                    ],
                )
        if not replaced:
            inserts.append(table)
    edits.sort()
    for (_, end1, _), (start2, _, _) in itertools.pairwise(edits):
        if start2 < end1:  # pragma: no cover - a header's block never holds another's
            raise AgentSetupError(f"{file}: overlapping persona definitions; edit it by hand")
    if inserts:
        anchor = len(text)
        persona_headers = [
            i for i, h in enumerate(layout.headers) if _starts_with(h.parts, personas_root)
        ]
        if persona_headers:
            anchor = _block_end(text, layout, persona_headers[-1])
        block = nl.join(inserts)
        before = text[:anchor]
        if before and not before.endswith(nl):
            block = nl + nl + block
        elif before and not before.endswith(nl + nl):
            block = nl + block
        after = text[anchor:]
        if after and not after.startswith(nl):
            block += nl
        edits.append((anchor, anchor, block))
        edits.sort()
    out = text
    for start, end, replacement in reversed(edits):
        out = out[:start] + replacement + out[end:]
    return out


def _without(config: Config, names: Sequence[str]) -> dict[str, object]:
    data = config.model_dump(mode="json")
    personas = data.get("personas", {})
    assert isinstance(personas, dict)
    for name in names:
        personas.pop(name, None)
    return data


def apply_agent(
    text: str,
    file: Path,
    agent: AgentCli | None,
    personas: Sequence[str] | None = None,
    *,
    pyproject: bool = False,
) -> AgentEdit:
    """Give ``personas`` (default: the code personas an agent may take over) to
    ``agent`` (None: back to the built-in scaffold persona) in configuration ``text``.

    Raises :class:`AgentSetupError` when ``text`` does not load (its issues) or the edit
    could not be made exactly."""
    try:
        config, _ = parse_config(text, file, pyproject=pyproject)
    except ConfigError as exc:
        raise AgentSetupError(
            f"{file} has errors; fix them first, it was not changed", exc.issues
        ) from None
    kept: dict[str, str] = {}
    if personas is None:
        names, kept = default_targets(config)
    else:
        names = list(dict.fromkeys(personas))
    wanted: dict[str, PersonaConfig] = {}
    for name in names:
        role = role_of(config, name)
        if agent is not None:
            timeout = max(config.persona(name).timeout or 0.0, AGENT_TIMEOUT)
            wanted[name] = agent_persona_config(agent, role, timeout)
        else:
            wanted[name] = scaffold_persona_config(role)
    prefix = tuple(str(p) for p in PYPROJECT_PREFIX) if pyproject else ()
    tables = {
        name: render_persona_table(name, pc, prefix=prefix, agent=agent)
        for name, pc in wanted.items()
    }
    new_text = replace_persona_tables(text, tables, file, prefix=prefix)
    try:
        new_config, _ = parse_config(new_text, file, pyproject=pyproject)
    except ConfigError as exc:
        raise AgentSetupError(
            f"phasegate could not write the personas into {file} safely; it was not "
            "changed. Add them by hand (see docs/personas.md)",
            exc.issues,
        ) from None
    ok = all(new_config.persona(n) == pc for n, pc in wanted.items()) and _without(
        new_config, names
    ) == _without(config, names)
    if not ok:
        raise AgentSetupError(
            f"phasegate could not write the personas into {file} without changing other "
            "settings; it was not changed. Add them by hand (see docs/personas.md)"
        )
    return AgentEdit(new_text, agent, wanted, kept)


def init_text(agent: AgentCli | None) -> AgentEdit:
    """What ``phasegate init`` writes: the commented defaults, with the code personas
    given to ``agent`` (None: the defaults exactly)."""
    text = config_to_toml(Config(), comments=True)
    if agent is None:
        return AgentEdit(text, None)
    return apply_agent(text, Path(CONFIG_FILE), agent)


def use_agent(
    root: Path, agent: AgentCli | None, personas: Sequence[str] | None = None
) -> SetupResult:
    """Write the personas into ``root``'s configuration file (created when there is
    none); the old file is copied to ``<file>.phasegate-backup`` first. Raises
    :class:`AgentSetupError` (nothing written) when the file cannot be edited."""
    root = Path(root)
    source = find_config(root)
    if source is None:
        path = root / CONFIG_FILE
        base = init_text(None).text
        edit = apply_agent(base, path, agent, personas)
        atomic_write_text(path, edit.text)
        return SetupResult(path, True, True, None, edit)
    path = source.resolve() if source.is_symlink() else source
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AgentSetupError(f"cannot read {source}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AgentSetupError(
            "", [ConfigIssue(source, 1, 1, "", f"not valid UTF-8: {exc.reason}")]
        ) from None
    edit = apply_agent(text, source, agent, personas, pyproject=source.name == PYPROJECT_FILE)
    if edit.text == text:
        return SetupResult(source, False, False, None, edit)
    backup = path.with_name(path.name + BACKUP_SUFFIX)
    shutil.copy2(path, backup)
    atomic_write_text(path, edit.text)
    return SetupResult(source, False, True, backup, edit)


# -- the editor's first session ---------------------------------------------------------
@dataclass(frozen=True)
class AgentOffer:
    """What an editor offers when its first session starts: ``agent`` (the first on
    ``PATH``) for ``personas`` (the code personas the scaffold persona still runs)."""

    agent: AgentCli
    personas: tuple[str, ...]
    agents: tuple[AgentCli, ...]  # every agent found, in the order of preference
    message: str

    def to_json(self) -> dict[str, object]:
        return {
            "agent": self.agent.to_json(),
            "personas": list(self.personas),
            "agents": [a.name for a in self.agents],
            "message": self.message,
        }


def agent_offer(config: Config, *, path_env: str | None = None) -> AgentOffer | None:
    """The agent to offer for the code phases, or None: no agent on ``PATH``, or every
    code persona already runs something a person chose (an agent, a fixer, a model)."""
    personas = tuple(n for n in code_personas(config) if config.persona(n).kind == "scaffold")
    if not personas:
        return None
    found = detect_agents(path_env)
    if not found:
        return None
    agent = found[0]
    message = (
        f"{agent.title} ({agent.name}) is installed. Let it do the code phases' work as "
        f"{', '.join(personas)}? Their [personas] tables are written into the "
        "configuration (the old file is kept as <file>.phasegate-backup); it runs only "
        "while this workspace is trusted."
    )
    return AgentOffer(agent, personas, tuple(found), message)
