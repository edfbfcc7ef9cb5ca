"""mkdocs hooks (``hooks:`` in mkdocs.yml): the images the pages show from elsewhere in
the repository.

A page in ``docs/`` may show an image kept beside the code it depicts, such as the VS
Code extension's screenshots (``../vscode-client/media/screenshots/…``): GitHub renders
such a relative link, but the site holds only ``docs/``. These hooks put each such image
in the site under ``repo/<its path>`` and point the page at that copy, so there is one
image file and both renderings show it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
SITE_FOLDER = "repo"
# ![alt](../path/in/the/repository.png) in a page at the top of docs/
_OUTSIDE_IMAGE = re.compile(r"!\[([^\]]*)\]\(\.\./([^)\s]+\.(?:png|jpe?g|gif|svg|webp))\)")


def _images(docs_dir: Path) -> set[str]:
    found: set[str] = set()
    for page in docs_dir.glob("*.md"):
        for m in _OUTSIDE_IMAGE.finditer(page.read_text(encoding="utf-8")):
            if (REPO / m.group(2)).is_file():
                found.add(m.group(2))
    return found


def on_files(files: Files, config: Any) -> Files:
    for rel in sorted(_images(Path(config["docs_dir"]))):
        files.append(File.generated(config, f"{SITE_FOLDER}/{rel}", abs_src_path=str(REPO / rel)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def local(m: re.Match[str]) -> str:
        if not (REPO / m.group(2)).is_file():
            return m.group(0)  # left as is: the strict build reports it
        return f"![{m.group(1)}]({SITE_FOLDER}/{m.group(2)})"

    return _OUTSIDE_IMAGE.sub(local, markdown)
