"""Generated reference pages: docs/configuration.md and docs/checks.md, and their copies
in the package with the rendered checks.html and configuration.html."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar, Literal
from urllib.parse import unquote, urlparse

import pytest
from pydantic import BaseModel, ConfigDict, Field

from phasegate import docgen
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.config import Config
from phasegate.docs_links import DOCS_URL_ENV
from phasegate.toml_locate import toml_loads

REPO = Path(__file__).resolve().parents[1]


class DocOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["fast", "slow"] = Field("fast", description="How | to run.")
    limit: int | None = Field(None, description="At most this many.")


class DocCheck(Check):
    id = "DOC-X"
    title = "A documented check"
    description = "Looks at things."
    default_owner = "qa_engineer"
    default_weight = 2.5
    default_blocking = True
    runs_workspace_code = True
    Options: ClassVar[type[BaseModel]] = DocOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.tests, "setup.cfg"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return CheckOutcome()


class OwnDocsCheck(Check):
    id = "OWN"

    @classmethod
    def docs_url(cls, check_id: str | None = None) -> str:
        return "https://acme.example/gates#own"


def test_committed_docs_are_up_to_date() -> None:
    """Fails when docs/configuration.md or docs/checks.md (or their copies in the package,
    server/phasegate/reference/) differ from a fresh generation: run
    `python -m phasegate.docgen` to update them."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "phasegate.docgen",
            "--check",
            "--docs-dir",
            str(REPO / "docs"),
            "--reference-dir",
            str(REPO / "server" / "phasegate" / "reference"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_check_mode_detects_stale_and_missing_files(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    ref = ["--reference-dir", str(tmp_path / "reference")]
    assert docgen.main(["--check", "--docs-dir", str(docs), *ref]) == 1  # missing
    assert docgen.main(["--docs-dir", str(docs), *ref]) == 0
    assert sorted(p.name for p in docs.iterdir()) == ["checks.md", "configuration.md"]
    assert docgen.main(["--check", "--docs-dir", str(docs), *ref]) == 0
    page = docs / "checks.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert docgen.main(["--check", "--docs-dir", str(docs), *ref]) == 1
    assert docgen.main(["--docs-dir", str(docs), *ref]) == 0
    assert docgen.main(["--check", "--docs-dir", str(docs), *ref]) == 0


def test_package_copy_is_checked_and_written_too(tmp_path: Path) -> None:
    docs, reference = tmp_path / "docs", tmp_path / "reference"
    args = ["--docs-dir", str(docs), "--reference-dir", str(reference)]
    assert docgen.main(args) == 0
    assert sorted(p.name for p in reference.iterdir()) == [
        "checks.html",
        "checks.md",
        "configuration.html",
        "configuration.md",
    ]
    for name in ("checks.md", "configuration.md"):
        assert (reference / name).read_bytes() == (docs / name).read_bytes()
    for name in ("checks.md", "checks.html"):
        (reference / name).unlink()
        assert docgen.main(["--check", *args]) == 1  # only the package copy is missing
        assert docgen.main(args) == 0
        assert docgen.main(["--check", *args]) == 0
    rendered = reference / "checks.html"
    rendered.write_text(rendered.read_text(encoding="utf-8") + "<!-- edited -->", "utf-8")
    assert docgen.main(["--check", *args]) == 1  # a stale rendered copy is found too


def test_docs_url_is_the_installed_rendered_reference_with_the_check_anchor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a documentation site, diagnostics link to a rendered page that exists
    (offline), at the check's section."""
    import phasegate
    from phasegate.checks.base import CHECKS_REFERENCE

    monkeypatch.delenv(DOCS_URL_ENV, raising=False)
    package = Path(phasegate.__file__).resolve().parent
    assert package / "reference" / "checks.md" == CHECKS_REFERENCE
    assert CHECKS_REFERENCE.read_text(encoding="utf-8") == docgen.checks_md()  # current
    rendered = CHECKS_REFERENCE.with_suffix(".html")
    page = rendered.read_text(encoding="utf-8")
    assert page == docgen.generate_reference()["checks.html"]
    for name, cls in docgen.builtin_checks().items():
        url = cls.docs_url(name)
        base, _, anchor = url.partition("#")
        assert base == rendered.as_uri(), name
        assert Path(unquote(urlparse(base).path)).is_file()
        assert anchor == name.lower()
        assert f'<a id="{anchor}"></a>' in page, name
    # a check of another package may point at its own documentation
    assert OwnDocsCheck.docs_url() == "https://acme.example/gates#own"


def test_docs_url_is_the_documentation_site_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DOCS_URL_ENV, "https://docs.example.org/phasegate")
    for name, cls in docgen.builtin_checks().items():
        assert cls.docs_url(name) == f"https://docs.example.org/phasegate/checks/#{name.lower()}"
    assert OwnDocsCheck.docs_url() == "https://acme.example/gates#own"  # its own still
    # only a web address names the site: anything else is ignored
    monkeypatch.setenv(DOCS_URL_ENV, "docs.example.org")
    assert Check.docs_url("IMPL-STUB").endswith("/reference/checks.html#impl-stub")


def test_rendered_page_is_self_contained_and_links_between_copies() -> None:
    pages = docgen.generate_reference()
    checks, configuration = pages["checks.html"], pages["configuration.html"]
    for page in (checks, configuration):
        assert page.startswith("<!DOCTYPE html>")
        # nothing fetched: no script, no stylesheet or image from elsewhere
        assert "<script" not in page and "<link" not in page and "<img" not in page
        assert "<table>" in page  # the Markdown tables are rendered
    assert "<title>Checks reference — phasegate</title>" in checks
    # links between the two pages stay between the rendered copies
    assert 'href="configuration.html"' in checks and "configuration.md" not in checks
    assert 'href="checks.html#req-ids"' in configuration
    assert 'href="#impl-stub"' in checks  # the summary table links to each section
    assert "<h2>IMPL-STUB" in checks


def test_render_html_keeps_other_links_and_escapes_text() -> None:
    page = docgen.render_html(
        "# A <b> & c\n\n[x](other.md#y) [z](https://e.org/a.md) [w](sub/checks.md)\n",
        frozenset({"checks"}),
    )
    assert "<title>A &lt;b&gt; &amp; c — phasegate</title>" in page
    assert 'href="other.md#y"' in page and 'href="https://e.org/a.md"' in page
    assert 'href="sub/checks.md"' in page


def test_reference_is_package_data() -> None:
    """pyproject.toml ships phasegate/reference/ with the package."""
    data = toml_loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "reference/*" in data["tool"]["setuptools"]["package-data"]["phasegate"]


def test_configuration_page_lists_every_setting() -> None:
    page = docgen.configuration_md()
    for key in [
        "thresholds",
        "min_improvement",
        "interpreter",
        "timeouts.check",
        "artifacts.requirements",
        "phases[].name",
        "phases[].checks[].weight",
        "phases[].entry_checks[].options",
        "personas.<name>.kind",
        "personas.<name>.options",
    ]:
        assert f"| `{key}` |" in page, key
    assert "| `timeouts.check` | number | `300.0` |" in page
    assert "| `phases[].name` | string | required |" in page
    # the default pipeline and personas
    assert "| `requirements` | `requirement_analyst` |" in page
    assert "[REQ-IDS](checks.md#req-ids)" in page
    assert "[IMPL-TYPES](checks.md#impl-types) (disabled)" in page
    assert "| `qa_engineer` | `scaffold` |" in page


def test_configuration_page_toml_block_is_the_defaults() -> None:
    page = docgen.configuration_md()
    blocks = re.findall(r"```toml\n(.*?)```", page, re.S)
    assert blocks
    assert Config.model_validate(toml_loads(blocks[-1])) == Config()  # the last one


def test_checks_page_for_a_check_with_options() -> None:
    page = docgen.checks_md({"DOC-X": DocCheck})
    assert '<a id="doc-x"></a>' in page
    assert DocCheck.docs_url().endswith("#doc-x")
    assert "## DOC-X — A documented check" in page
    assert "Looks at things." in page
    tests = ", ".join(f"`{t}`" for t in Config().artifacts.tests)
    assert f"| Default inputs | {tests}, `setup.cfg` |" in page
    assert "| Owner | `qa_engineer` |" in page
    assert "| Weight | 2.5 |" in page
    assert "| Blocking | yes |" in page
    assert "| Runs workspace code | yes: skipped in an untrusted workspace |" in page
    assert "not in the default pipeline" in page
    assert '| `mode` | "fast" \\| "slow" | `"fast"` | How \\| to run. |' in page
    assert "| `limit` | optional integer | unset | At most this many. |" in page


def test_checks_page_covers_every_builtin_check_with_its_anchor() -> None:
    checks = docgen.builtin_checks()
    page = docgen.checks_md(checks)
    for name, cls in checks.items():
        anchor = cls.docs_url(name).rsplit("#", 1)[1]
        assert f'<a id="{anchor}"></a>' in page, name
        assert f"## {name}" in page


def test_builtin_checks_ignore_runtime_registrations() -> None:
    from phasegate.checks.base import registered_checks

    registered_checks()["DOC-RUNTIME"] = DocCheck
    try:
        assert "DOC-RUNTIME" not in docgen.builtin_checks()
    finally:
        del registered_checks()["DOC-RUNTIME"]


def test_toml_value_round_trips() -> None:
    value = {
        "s": 'quote " back \\ tab \t nl \n del \x7f é',
        "i": 3,
        "f": 0.1,
        "b": False,
        "l": [1, "two", [3.5]],
        "t": {"dotted.key": 1, "k": "v"},
    }
    text = "\n".join(f"{docgen.toml_key(k)} = {docgen.toml_value(v)}" for k, v in value.items())
    assert toml_loads(text) == value


def test_examples_in_configuration_page_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phasegate.checks.base import registered_checks
    from phasegate.config_loader import parse_config_text

    for kind in ("IMPL-SYNTAX", "IMPL-LINT"):  # stand-ins where not installed
        if kind not in registered_checks():
            monkeypatch.setitem(registered_checks(), kind, DocCheck)

    page = docgen.configuration_md()
    blocks = re.findall(r"```toml\n(.*?)```", page, re.S)
    assert len(blocks) == 3
    own = parse_config_text(blocks[0], tmp_path / "phasegate.toml")
    embedded = parse_config_text(blocks[1], tmp_path / "pyproject.toml", pyproject=True)
    assert own == embedded
    assert [c.id for c in own.phases[0].checks] == ["IMPL-SYNTAX", "IMPL-LINT"]
