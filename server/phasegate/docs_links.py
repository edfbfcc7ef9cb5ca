"""Where the documentation of a check (or of the configuration) is: the one answer that
diagnostics (``codeDescription.href``), SARIF (``rules[].helpUri``), the "Show
documentation" action and the MCP server give.

* When the documentation site is published (built from ``mkdocs.yml``) and its address
  is set in ``PHASEGATE_DOCS_URL`` (``http://`` or ``https://``), a check links to its
  section there: ``<site>/checks/#impl-stub``.
* Otherwise — the default, and what works offline — it links to the rendered page
  installed with phasegate: ``file:///…/phasegate/reference/checks.html#impl-stub``
  (written by ``python -m phasegate.docgen`` beside the Markdown copy, shipped as
  package data).

A check's anchor is its id in lower case (:func:`check_anchor`); it does not change when
the check's title does. A check from another package may point elsewhere by overriding
:meth:`phasegate.checks.base.Check.docs_url`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

DOCS_URL_ENV = "PHASEGATE_DOCS_URL"
# The reference pages installed with the package (``python -m phasegate.docgen``).
REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
CHECKS_PAGE = "checks"
CONFIGURATION_PAGE = "configuration"


def check_anchor(check_id: str) -> str:
    """The anchor of a check's section in the checks reference: its id in lower case,
    characters other than letters, digits, ``-`` and ``_`` replaced by ``-``."""
    return re.sub(r"[^a-z0-9_-]", "-", check_id.lower())


def web_docs_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The published documentation site (``PHASEGATE_DOCS_URL``), ending with ``/``;
    None when it is not set or is not an ``http(s)`` address."""
    value = (os.environ if environ is None else environ).get(DOCS_URL_ENV, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value.split("#", 1)[0].rstrip("/") + "/"


def local_page(page: str) -> Path:
    """The rendered reference page ``page`` (``checks``, ``configuration``) installed
    with phasegate."""
    return REFERENCE_DIR / f"{page}.html"


def page_uri(page: str, anchor: str = "", environ: Mapping[str, str] | None = None) -> str:
    """The address of a reference page, at ``anchor``: on the documentation site when
    one is configured, else the copy installed with phasegate."""
    fragment = f"#{anchor}" if anchor else ""
    web = web_docs_url(environ)
    if web is not None:
        return f"{web}{page}/{fragment}"
    return local_page(page).as_uri() + fragment


def check_docs_uri(check_id: str, environ: Mapping[str, str] | None = None) -> str:
    """The documentation of one of phasegate's checks: its section of the checks
    reference (``…/checks/#impl-stub`` on the site, ``…/reference/checks.html#impl-stub``
    installed)."""
    return page_uri(CHECKS_PAGE, check_anchor(check_id), environ)


def configuration_docs_uri(environ: Mapping[str, str] | None = None) -> str:
    """The configuration reference (where a configuration error links)."""
    return page_uri(CONFIGURATION_PAGE, "", environ)


def local_file(uri: str) -> Path | None:
    """The file a ``file://`` address names (its fragment left out); None for any
    other address."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))
