"""Documents generated from the configuration schema and the registered checks.

* :func:`config_to_toml` renders a :class:`~phasegate.config.Config` as TOML, optionally
  with every key's description as a comment (``phasegate init``, ``phasegate config
  --show``).
* :func:`configuration_md` and :func:`checks_md` write the reference pages
  ``docs/configuration.md`` and ``docs/checks.md``; :func:`render_html` renders a page
  as a self-contained HTML file.

``python -m phasegate.docgen`` regenerates both pages, in the repository's ``docs/`` (the
documentation site's sources, ``mkdocs.yml``) and in the package
(``phasegate/reference/``, shipped as package data), where each page also has its
rendered copy (``checks.html``, ``configuration.html``): diagnostics and SARIF link to the
installed ``checks.html`` at the check's anchor when no documentation site is configured
(:mod:`phasegate.docs_links`). ``--check`` exits 1 when any of these files differs from
what would be generated.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from enum import Enum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from phasegate.checks.base import CHECKS_REFERENCE, ENTRY_POINT_GROUP, Check, check_anchor
from phasegate.config import Config, default_personas, default_phases

# -- TOML rendering --------------------------------------------------------------------
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_string(s: str) -> str:
    out = json.dumps(s, ensure_ascii=False)
    return out.replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """An inline TOML value (``None`` has no TOML form: callers leave such keys out)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return toml_value(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_none=True)
    if isinstance(value, dict):
        items = [f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as TOML")


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _model_type(tp: Any) -> type[BaseModel] | None:
    tp, _ = _unwrap_optional(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _list_item_model(tp: Any) -> type[BaseModel] | None:
    tp, _ = _unwrap_optional(tp)
    if typing.get_origin(tp) is list:
        args = typing.get_args(tp)
        return _model_type(args[0]) if args else None
    return None


def _dict_value_model(tp: Any) -> type[BaseModel] | None:
    tp, _ = _unwrap_optional(tp)
    if typing.get_origin(tp) is dict:
        args = typing.get_args(tp)
        return _model_type(args[1]) if len(args) == 2 else None
    return None


def type_name(tp: Any) -> str:
    """A TOML-flavoured name for a field's type: ``array of strings``, ``number``…"""
    inner, optional = _unwrap_optional(tp)
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    if inner in names:
        out = names[inner]
    elif inner is Any:
        out = "any"
    elif _model_type(inner):
        out = "table"
    elif typing.get_origin(inner) is list:
        args = typing.get_args(inner)
        if args and _model_type(args[0]):
            out = "array of tables"
        else:
            item = type_name(args[0]) if args else "any"
            out = f"array of {item}s" if item != "any" else "array"
    elif typing.get_origin(inner) is dict:
        args = typing.get_args(inner)
        out = "table of tables" if len(args) == 2 and _model_type(args[1]) else "table"
    elif typing.get_origin(inner) is typing.Literal:
        out = " | ".join(toml_value(a) for a in typing.get_args(inner))
    elif typing.get_origin(inner) in (typing.Union, types.UnionType):
        out = " or ".join(type_name(a) for a in typing.get_args(inner) if a is not type(None))
    elif isinstance(inner, type) and issubclass(inner, Enum):
        out = " | ".join(toml_value(m.value) for m in inner)
    else:
        out = getattr(inner, "__name__", str(inner))
    return f"optional {out}" if optional else out


def _default(field: FieldInfo) -> Any:
    if field.is_required():
        return ...
    return field.get_default(call_default_factory=True)


def _comment(text: str, first: str = "", rest: str = "") -> list[str]:
    """Wrap ``text`` into ``# ...`` lines of at most 92 characters; continuation lines
    start with ``rest``."""
    lines: list[str] = []
    cur = first
    for w in text.split():
        if cur.strip() and len(cur) + 1 + len(w) > 90:
            lines.append(f"# {cur}".rstrip())
            cur = rest + w
        else:
            cur = f"{cur} {w}" if cur.strip() else cur + w
    if cur.strip():
        lines.append(f"# {cur}".rstrip())
    return lines


def _is_table(field: FieldInfo) -> bool:
    tp = field.annotation
    return bool(_model_type(tp) or _list_item_model(tp) or _dict_value_model(tp))


ALWAYS_SHOWN = frozenset({"kind"})


class _TomlWriter:
    def __init__(self, comments: bool, full_items: bool) -> None:
        self.comments = comments
        self.full_items = full_items
        self.lines: list[str] = []
        self.described: set[str] = set()

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def describe_model(self, header: str, model: type[BaseModel], note: str) -> None:
        """A comment block listing every key of ``model`` (once per header)."""
        if not self.comments or header in self.described:
            return
        self.described.add(header)
        self.blank()
        self.lines += _comment(f"{header}: {note}")
        for name, field in model.model_fields.items():
            desc = field.description or ""
            tp = type_name(field.annotation)
            self.lines += _comment(f"{name} ({tp}): {desc}", "  ", "    ")

    def scalars(self, obj: BaseModel, *, item: bool) -> None:
        model = type(obj)
        for name, field in model.model_fields.items():
            if _is_table(field):
                continue
            value = getattr(obj, name)
            default = _default(field)
            if item and not self.full_items:
                required = default is ...
                if not required and value == default and name not in ALWAYS_SHOWN:
                    continue
            if value is None:
                if self.comments and not item:
                    self.lines += _comment(field.description or "")
                    examples = field.examples or []
                    example = toml_value(examples[0]) if examples else "..."
                    self.lines.append(f"# {toml_key(name)} = {example}")
                    self.lines.append("")
                continue
            if self.comments and not item and field.description:
                self.lines += _comment(field.description)
            if isinstance(value, list) and len(toml_value(value)) > 80:
                self.lines.append(f"{toml_key(name)} = [")
                self.lines += [f"  {toml_value(v)}," for v in value]
                self.lines.append("]")
            else:
                self.lines.append(f"{toml_key(name)} = {toml_value(value)}")
            if self.comments and not item:
                self.lines.append("")

    def tables(self, obj: BaseModel, prefix: str, *, item: bool) -> None:
        model = type(obj)
        for name, field in model.model_fields.items():
            value = getattr(obj, name)
            header = f"{prefix}.{toml_key(name)}" if prefix else toml_key(name)
            if _model_type(field.annotation) and value is not None:
                self.blank()
                if self.comments and field.description:
                    self.lines += _comment(field.description)
                self.lines.append(f"[{header}]")
                self.write(value, header, item=False)
            elif (sub := _list_item_model(field.annotation)) is not None:
                if item and not self.full_items and value == _default(field):
                    continue
                note = field.description or ""
                self.describe_model(f"[[{header}]]", sub, note)
                for element in value or []:
                    self.blank()
                    self.lines.append(f"[[{header}]]")
                    self.write(element, header, item=True)
            elif (sub := _dict_value_model(field.annotation)) is not None:
                note = field.description or ""
                self.describe_model(f"[{header}.<name>]", sub, note)
                for key, element in (value or {}).items():
                    self.blank()
                    self.lines.append(f"[{header}.{toml_key(str(key))}]")
                    self.write(element, f"{header}.{toml_key(str(key))}", item=True)

    def write(self, obj: BaseModel, prefix: str, *, item: bool) -> None:
        self.scalars(obj, item=item)
        self.tables(obj, prefix, item=item)


TOML_HEADER = """\
# phasegate configuration.
#
# Every setting below is at its default value: delete what you do not change.
# Reference: docs/configuration.md (settings) and docs/checks.md (checks and options).
# Errors are reported as file:line:col: key: message by `phasegate validate`.
"""


def config_to_toml(config: Config, *, comments: bool = True, full_items: bool = False) -> str:
    """TOML text that loads back to ``config``.

    ``comments`` adds each key's description; without ``full_items``, elements of arrays of
    tables and named tables (checks, personas) show only what differs from the defaults.
    """
    w = _TomlWriter(comments, full_items)
    if comments:
        w.lines += TOML_HEADER.rstrip("\n").split("\n")
        w.lines.append("")
    w.write(config, "", item=False)
    while w.lines and w.lines[-1] == "":
        w.lines.pop()
    return "\n".join(w.lines) + "\n"


# -- reference pages -------------------------------------------------------------------
def builtin_checks() -> dict[str, type[Check]]:
    """Checks declared by phasegate's own entry points (plugins and test registrations
    are left out, so the pages do not depend on what else is installed)."""
    out: dict[str, type[Check]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if not ep.value.startswith("phasegate."):
            continue
        try:
            obj = ep.load()
        except Exception:
            continue
        if isinstance(obj, type) and issubclass(obj, Check):
            out[ep.name] = obj
    return out


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _md_default(value: Any) -> str:
    if value is ...:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return "see below"
    if isinstance(value, dict) and value and isinstance(next(iter(value.values())), BaseModel):
        return "see below"
    return f"`{_md(toml_value(value))}`"


def _settings_rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str, str]]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        default = _default(field)
        desc = field.description or ""
        yield key, type_name(field.annotation), _md_default(default), desc
        if (sub := _model_type(field.annotation)) is not None:
            yield from _settings_rows(sub, f"{key}.")
        elif (sub := _list_item_model(field.annotation)) is not None:
            yield from _settings_rows(sub, f"{key}[].")
        elif (sub := _dict_value_model(field.annotation)) is not None:
            yield from _settings_rows(sub, f"{key}.<name>.")


CONFIG_INTRO = """\
# Configuration reference

<!-- Generated by `python -m phasegate.docgen` from the configuration schema: do not edit. -->

phasegate reads its configuration from the workspace root:

1. `phasegate.toml`, if it exists;
2. else the `[tool.phasegate]` table of `pyproject.toml` (keys are the same, under
   `tool.phasegate`: `[tool.phasegate.timeouts]`, `[[tool.phasegate.phases]]`…);
3. else nothing: the built-in defaults below, which work offline.

`phasegate init` writes a commented `phasegate.toml` equal to the defaults;
`phasegate config --show` prints the effective configuration and `phasegate config --schema`
its JSON Schema.

## How a partial configuration merges with the defaults

- A key you leave out keeps its default: a file containing only `thresholds = [0.5, 0.7]`
  keeps the five default phases and the default personas.
- Tables (`[timeouts]`, `[artifacts]`) merge key by key.
- `phases`, when given, **replaces** the whole default list: list every phase you want, in
  order. A check entry needs only its `id`; every other key defaults to the check's own
  (inputs, owner, weight, blocking — see [checks](checks.md)).
- `personas` merge by name: `[personas.qa_engineer]` overrides the keys it sets of the
  default `qa_engineer` (the others keep their default), a new name adds a persona.

## Example

A shorter pipeline with a stricter schedule, in `phasegate.toml`:

```toml
thresholds = [0.7, 0.9]

[[phases]]
name = "implementation"
personas = ["backend_developer"]

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "IMPL-LINT"
weight = 2.0
exclude = ["migrations/**"]
```

The same in `pyproject.toml`:

```toml
[tool.phasegate]
thresholds = [0.7, 0.9]

[[tool.phasegate.phases]]
name = "implementation"
personas = ["backend_developer"]

[[tool.phasegate.phases.checks]]
id = "IMPL-SYNTAX"

[[tool.phasegate.phases.checks]]
id = "IMPL-LINT"
weight = 2.0
exclude = ["migrations/**"]
```

## Errors

Every error names the file, line and column, and the key path, for example

```text
phasegate.toml:14:1: phases[2].checks[0].wieght: unknown key 'wieght' (did you mean 'weight'?)
```

Reported: TOML syntax errors; unknown keys; wrong types and out-of-range values; unknown
check kinds (the check `kind`, which defaults to its `id`, must be a registered check);
check `options` the check does not accept; unknown persona kinds and persona `options`;
duplicate phase names and check ids. A persona named in a phase's `personas` or as a
check's `owner` must be configured under `[personas]` or be one of the default roles —
anything else is an **error** (it is almost always a typo). `phasegate validate` exits
with status 2 on any configuration error.

## Thresholds

Iteration *k* of a phase uses `thresholds[min(k, len) - 1]`: with the default
`[0.60, 0.75, 0.85]` the bar rises from 0.60 to 0.85 and stays there.
`phasegate validate` scores every gate against the last threshold of the list (the
strictest of a rising schedule), or against iteration *k*'s with `--iteration K`.
"""


def configuration_md() -> str:
    out = [CONFIG_INTRO.rstrip("\n"), "", "## Settings", ""]
    out.append("| key | type | default | description |")
    out.append("|---|---|---|---|")
    for key, tp, default, desc in _settings_rows(Config, ""):
        out.append(f"| `{key}` | {_md(tp)} | {default} | {_md(desc)} |")

    out += ["", "## The default pipeline", ""]
    out.append(
        "Used when the configuration does not set `phases`. Check ids link to their reference."
    )
    out += ["", "| phase | personas | checks |", "|---|---|---|"]
    for p in default_phases():
        checks = []
        for c in p.checks:
            link = f"[{c.id}](checks.md#{check_anchor(c.id)})"
            checks.append(link if c.enabled else f"{link} (disabled)")
        personas = ", ".join(f"`{x}`" for x in p.personas)
        out.append(f"| `{p.name}` | {personas} | {', '.join(checks)} |")

    out += ["", "## The default personas", ""]
    out += ["| name | kind | role |", "|---|---|---|"]
    for name, pc in default_personas().items():
        out.append(f"| `{name}` | `{pc.kind}` | {_md(pc.role)} |")

    out += ["", "## The defaults as TOML", ""]
    out.append("This is what `phasegate init` writes (comments left out):")
    out += ["", "```toml", config_to_toml(Config(), comments=False).rstrip("\n"), "```", ""]
    return "\n".join(out)


CHECKS_INTRO = """\
# Checks reference

<!-- Generated by `python -m phasegate.docgen` from the registered checks: do not edit. -->

Each check has an id (the diagnostic code), reads the files matching its inputs, belongs
to an owner persona (who reworks its failures), has a weight in its gate's weighted
mean, and may be blocking (a failing blocking check fails the gate whatever the score).
Every default below can be changed per check in the configuration (`inputs`,
`exclude`, `owner`, `weight`, `blocking`, `timeout`, `options`; see
[configuration](configuration.md)). Checks that run workspace code are skipped in an
untrusted workspace.

A finding of any check but GATE-INTEGRITY is silenced by a comment in its file:
`phasegate: ignore[ID]` on its line (or alone on the line above),
`phasegate: ignore-file[ID]` for the whole file, in the file's own comment syntax
(`# …`, `<!-- … -->`, `// …`). A suppressed finding is gone: not listed, not counted
(the user guide, "When a finding is wrong", says how the score follows).
"""


def _pipeline_place(check_id: str) -> str:
    places = []
    for p in default_phases():
        for c in [*p.checks, *p.entry_checks]:
            if c.kind_name == check_id:
                places.append(f"`{p.name}`" + ("" if c.enabled else " (disabled by default)"))
    return ", ".join(places) or "not in the default pipeline: add it to a phase's `checks`"


def _check_order(checks: dict[str, type[Check]]) -> list[str]:
    order: list[str] = []
    for p in default_phases():
        for c in [*p.entry_checks, *p.checks]:
            if c.kind_name in checks and c.kind_name not in order:
                order.append(c.kind_name)
    order += sorted(k for k in checks if k not in order)
    return order


def checks_md(checks: dict[str, type[Check]] | None = None) -> str:
    checks = builtin_checks() if checks is None else checks
    config = Config()
    out = [CHECKS_INTRO.rstrip("\n"), ""]
    order = _check_order(checks)
    out += ["| id | title | phase |", "|---|---|---|"]
    for name in order:
        cls = checks[name]
        out.append(
            f"| [{name}](#{check_anchor(name)}) | {_md(cls.title)} | {_pipeline_place(name)} |"
        )
    for name in order:
        cls = checks[name]
        anchor = check_anchor(name)  # the fragment of Check.docs_url
        title = f" — {cls.title}" if cls.title else ""
        out += ["", f'<a id="{anchor}"></a>', "", f"## {name}{title}", ""]
        if cls.description:
            out += [cls.description.strip(), ""]
        try:
            inputs = cls.default_inputs(config)
            exclude = cls.default_exclude(config)
        except Exception:  # a plugin's bug must not stop the documentation
            inputs, exclude = [], []
        fmt = ", ".join(f"`{i}`" for i in inputs) or "none (configured per use)"
        rows = [
            ("Phase in the default pipeline", _pipeline_place(name)),
            ("Default inputs", fmt),
        ]
        if exclude:
            rows.append(("Excluded by default", ", ".join(f"`{e}`" for e in exclude)))
        rows += [
            ("Owner", f"`{cls.default_owner}`" if cls.default_owner else "none"),
            ("Weight", toml_value(float(cls.default_weight))),
            ("Blocking", "yes" if cls.default_blocking else "no"),
            ("Severity", cls.default_severity.name.lower()),
            ("Scope", "per file" if cls.scope == "file" else "whole project"),
            (
                "Runs workspace code",
                "yes: skipped in an untrusted workspace" if cls.runs_workspace_code else "no",
            ),
        ]
        out += ["| | |", "|---|---|"]
        out += [f"| {k} | {v} |" for k, v in rows]
        fields = cls.Options.model_fields
        out.append("")
        if fields:
            out += ["Options (`options = { … }` of the check):", ""]
            out += ["| option | type | default | description |", "|---|---|---|---|"]
            for oname, field in fields.items():
                out.append(
                    f"| `{oname}` | {_md(type_name(field.annotation))} | "
                    f"{_md_default(_default(field))} | {_md(field.description or '')} |"
                )
        else:
            out.append("Options: none.")
    out.append("")
    return "\n".join(out)


# -- rendered copies ------------------------------------------------------------------
HTML_STYLE = """\
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #59636e;
  --line: #d1d9e0; --code: #f0f2f4; --link: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #3d444d;
    --code: #1f242c; --link: #4493f8; }
}
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
a { color: var(--link); }
h1, h2 { border-bottom: 1px solid var(--line); padding-bottom: .3em; }
h2 { margin-top: 2.5rem; }
p:has(> a:target) + h2 { background: var(--code); }
code, pre { font: 85% ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--code); border-radius: 4px; }
code { padding: .15em .35em; }
pre { padding: .8em 1em; overflow: auto; }
pre code { padding: 0; background: none; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow: auto; }
th, td { border: 1px solid var(--line); padding: .35em .7em; text-align: left;
  vertical-align: top; }
footer { color: var(--muted); font-size: 85%; margin-top: 3rem; }
"""


def _html_href(href: str, pages: frozenset[str]) -> str:
    """A link between rendered pages: ``checks.md#x`` -> ``checks.html#x`` when
    ``checks`` is one of ``pages``; any other link is kept."""
    path, sep, fragment = href.partition("#")
    if path.endswith(".md") and "/" not in path and ":" not in path and path[:-3] in pages:
        return f"{path[:-3]}.html{sep}{fragment}"
    return href


def render_html(markdown: str, pages: frozenset[str] = frozenset()) -> str:
    """A reference page as one self-contained HTML file (style inline, no script): the
    Markdown rendered with markdown-it-py, raw HTML kept (the checks' ``<a id>``
    anchors), links to the other rendered ``pages`` pointed at their ``.html``."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    tokens = md.parse(markdown)
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open":
                href = child.attrGet("href")
                if isinstance(href, str):
                    child.attrSet("href", _html_href(href, pages))
    body = md.renderer.render(tokens, md.options, {})
    title = next(
        (line[2:].strip() for line in markdown.split("\n") if line.startswith("# ")), "phasegate"
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)} — phasegate</title>",
            f"<style>\n{HTML_STYLE}</style>",
            "</head>",
            "<body>",
            "<main>",
            body.rstrip("\n"),
            "<footer>The copy installed with phasegate, rendered by "
            "<code>python -m phasegate.docgen</code>.</footer>",
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


# -- command line ----------------------------------------------------------------------
def default_docs_dir() -> Path:
    """``docs/`` of the source tree this module lives in, else of the current directory."""
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return repo / "docs"
    return Path.cwd() / "docs"


def default_reference_dir() -> Path:
    """``phasegate/reference/`` of the package: the copy diagnostics link to."""
    return CHECKS_REFERENCE.parent


def generate() -> dict[str, str]:
    """File name -> generated content of ``docs/``."""
    return {"configuration.md": configuration_md(), "checks.md": checks_md()}


def generate_reference(pages: dict[str, str] | None = None) -> dict[str, str]:
    """File name -> generated content of the package's ``reference/``: the Markdown
    pages and their rendered copies."""
    pages = generate() if pages is None else pages
    names = frozenset(name[:-3] for name in pages if name.endswith(".md"))
    out = dict(pages)
    for name, content in pages.items():
        if name.endswith(".md"):
            out[f"{name[:-3]}.html"] = render_html(content, names)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m phasegate.docgen",
        description="Generate configuration.md and checks.md in docs/, and in the package "
        "with their rendered copies (configuration.html, checks.html).",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the files differ from the generated ones"
    )
    parser.add_argument("--docs-dir", type=Path, default=None, help="default: the repo's docs/")
    parser.add_argument(
        "--reference-dir",
        type=Path,
        default=None,
        help="the package's copy (default: phasegate/reference/ of this installation)",
    )
    args = parser.parse_args(argv)
    docs: Path = args.docs_dir or default_docs_dir()
    reference: Path = args.reference_dir or default_reference_dir()
    stale: list[str] = []
    pages = generate()
    targets = [(docs / name, content) for name, content in pages.items()]
    targets += [(reference / name, content) for name, content in generate_reference(pages).items()]
    for path, content in targets:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current == content:
            continue
        if args.check:
            stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        for s in stale:
            print(f"{s} is out of date: run python -m phasegate.docgen", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
