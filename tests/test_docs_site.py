"""The documentation site (mkdocs.yml over docs/) and where a check's documentation link
leads: the site when one is configured (PHASEGATE_DOCS_URL), else the rendered checks
reference installed with phasegate — from SARIF's helpUri, the diagnostics'
codeDescription and the "Show documentation" command alike, always at an anchor that
exists."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from test_lsp_helpers import make_workspace, start, wait_for

from phasegate import docgen
from phasegate.docs_links import (
    DOCS_URL_ENV,
    check_docs_uri,
    configuration_docs_uri,
    local_file,
    web_docs_url,
)
from phasegate.model import CheckResult, GateResult
from phasegate.sarif import gates_to_sarif

REPO = Path(__file__).resolve().parents[1]
SITE_URL = "https://docs.example.org/phasegate"

MKDOCS_MISSING = next(
    (
        f"{name} is not installed: pip install -e '.[docs]' (the test extra has it too)"
        for name in ("mkdocs", "material")
        if importlib.util.find_spec(name) is None
    ),
    None,
)
needs_mkdocs = pytest.mark.skipif(MKDOCS_MISSING is not None, reason=MKDOCS_MISSING or "")


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", config, "-d", site],
        cwd=config.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = mkdocs_build(REPO / "mkdocs.yml", out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-5000:]
    return out


def anchors(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


# -- the site ----------------------------------------------------------------------------
@needs_mkdocs
def test_site_has_every_page_of_docs(site: Path) -> None:
    for page in sorted((REPO / "docs").glob("*.md")):
        built = site / "index.html" if page.stem == "index" else site / page.stem / "index.html"
        assert built.is_file(), page.name


@needs_mkdocs
def test_every_check_has_its_stable_anchor_in_the_site(site: Path) -> None:
    page = (site / "checks" / "index.html").read_text(encoding="utf-8")
    ids = anchors(page)
    for name in docgen.builtin_checks():
        assert name.lower() in ids, name
    # the configuration reference links into the checks page at those anchors
    configuration = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    assert 'href="../checks/#req-ids"' in configuration


@needs_mkdocs
def test_images_kept_outside_docs_are_in_the_site(site: Path) -> None:
    shot = "repo/vscode-client/media/screenshots/session-view.png"
    assert (site / shot).read_bytes() == (REPO / shot.removeprefix("repo/")).read_bytes()
    assert f'src="../{shot}"' in (site / "vscode" / "index.html").read_text(encoding="utf-8")


@needs_mkdocs
def test_strict_build_fails_on_a_link_to_a_missing_anchor(tmp_path: Path) -> None:
    """The site's links are checked: a link to a section that does not exist fails the
    build (so the anchors the tests above find are the ones pages link to)."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "docs", copy / "docs")
    shutil.copy(REPO / "mkdocs.yml", copy)
    shutil.copytree(REPO / "scripts", copy / "scripts")
    shots = REPO / "vscode-client" / "media" / "screenshots"
    shutil.copytree(shots, copy / "vscode-client" / "media" / "screenshots")
    assert mkdocs_build(copy / "mkdocs.yml", tmp_path / "ok").returncode == 0
    index = copy / "docs" / "index.md"
    index.write_text(
        index.read_text(encoding="utf-8") + "\nSee [a check](checks.md#no-such-check).\n",
        encoding="utf-8",
    )
    proc = mkdocs_build(copy / "mkdocs.yml", tmp_path / "broken")
    assert proc.returncode != 0
    assert "no-such-check" in proc.stderr


# -- the rendered copy installed with phasegate --------------------------------------------
def test_installed_rendered_reference_has_every_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DOCS_URL_ENV, raising=False)
    for name in docgen.builtin_checks():
        uri = check_docs_uri(name)
        page = local_file(uri)
        assert page is not None and page.name == "checks.html", uri
        assert urlparse(uri).fragment == name.lower()
        assert name.lower() in anchors(page.read_text(encoding="utf-8")), name
    configuration = local_file(configuration_docs_uri())
    assert configuration is not None and configuration.is_file()


def test_docs_url_setting() -> None:
    assert web_docs_url({}) is None
    assert web_docs_url({DOCS_URL_ENV: " "}) is None
    assert web_docs_url({DOCS_URL_ENV: "file:///srv/site"}) is None  # directory URLs need a server
    assert web_docs_url({DOCS_URL_ENV: "docs.example.org"}) is None
    assert web_docs_url({DOCS_URL_ENV: SITE_URL}) == f"{SITE_URL}/"
    assert web_docs_url({DOCS_URL_ENV: f"{SITE_URL}/#top"}) == f"{SITE_URL}/"
    env = {DOCS_URL_ENV: SITE_URL}
    assert check_docs_uri("IMPL-STUB", env) == f"{SITE_URL}/checks/#impl-stub"
    assert configuration_docs_uri(env) == f"{SITE_URL}/configuration/"
    assert local_file(check_docs_uri("IMPL-STUB", env)) is None


# -- SARIF -------------------------------------------------------------------------------
def _sarif_rules() -> dict[str, dict[str, object]]:
    checks = [CheckResult(id=name, passed=True, score=1.0) for name in docgen.builtin_checks()]
    gate = GateResult(phase="all", score=1.0, threshold=0.5, passed=True, checks=checks)
    log = gates_to_sarif(REPO, [gate])
    return {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_sarif_help_uri_resolves_to_an_anchor_in_the_local_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DOCS_URL_ENV, raising=False)
    rules = _sarif_rules()
    assert set(rules) == set(docgen.builtin_checks())
    for name, rule in rules.items():
        uri = str(rule["helpUri"])
        assert uri.startswith("file:///"), name
        doc, _, anchor = uri.partition("#")
        page = Path(unquote(urlparse(doc).path))
        assert anchor in anchors(page.read_text(encoding="utf-8")), name


def test_sarif_help_uri_is_the_site_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DOCS_URL_ENV, SITE_URL)
    for name, rule in _sarif_rules().items():
        assert rule["helpUri"] == f"{SITE_URL}/checks/#{name.lower()}"
        assert f"See {SITE_URL}/checks/#{name.lower()}" in str(rule["help"])


# -- the editor ----------------------------------------------------------------------------
async def test_editor_links_to_the_rendered_page_at_the_anchor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """codeDescription.href and "Show documentation" lead to the rendered page at the
    check's section, which the client is asked to show in the browser."""
    monkeypatch.delenv(DOCS_URL_ENV, raising=False)
    root = make_workspace(tmp_path)
    async with start(root) as s:
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"), what="REQ")
        d = next(d for d in s.diags("docs/requirements.md") if d.code == "REQ-SECTIONS")
        assert d.code_description is not None
        href = d.code_description.href
        page = local_file(href)
        assert page is not None and page.name == "checks.html"
        assert urlparse(href).fragment == "req-sections"
        assert "req-sections" in anchors(page.read_text(encoding="utf-8"))
        answer = await s.command("phasegate.showDocumentation", {"check": "REQ-SECTIONS"})
        assert answer == {"uri": href, "shown": True}
        (shown,) = s.client.shown_documents
        assert shown.uri == href and shown.external is True


async def test_editor_links_to_the_site_when_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOCS_URL_ENV, SITE_URL)  # the server inherits it
    root = make_workspace(tmp_path)
    async with start(root) as s:
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"), what="REQ")
        d = next(d for d in s.diags("docs/requirements.md") if d.code == "REQ-SECTIONS")
        assert d.code_description is not None
        assert d.code_description.href == f"{SITE_URL}/checks/#req-sections"
        answer = await s.command("phasegate.showDocumentation", {"check": "REQ-SECTIONS"})
        assert answer == {"uri": f"{SITE_URL}/checks/#req-sections", "shown": True}
        (shown,) = s.client.shown_documents
        assert shown.uri == f"{SITE_URL}/checks/#req-sections" and shown.external is True
