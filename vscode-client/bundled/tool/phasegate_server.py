"""Start the phasegate language server bundled in the VS Code extension.

The extension runs ``<python> bundled/tool/phasegate_server.py [serve options]`` when
``phasegate.server.importStrategy`` is ``useBundled`` and the extension was packaged with
its server (``npm run package:bundled``). ``bundled/libs`` then holds phasegate, installed
from its wheel with its dependencies for one Python version and platform, which
``bundled/libs/bundle.json`` names. The folder goes first on ``sys.path`` of this process
only: the programs the server starts (the workspace's tests, ruff, mypy, personas) do not
see it, as they would if it were set in ``PYTHONPATH``.

``--probe`` checks that this interpreter can run the bundled server, imports it and
prints phasegate's version. Exit status 3: this interpreter cannot run the bundle.
"""

from __future__ import annotations

import importlib
import json
import sys
import sysconfig
from pathlib import Path

LIBS = Path(__file__).resolve().parent.parent / "libs"
MANIFEST = LIBS / "bundle.json"
CANNOT_RUN = 3


def interpreter_tags() -> dict[str, str]:
    """What the bundle's compiled dependencies depend on: the Python implementation and
    version (``cpython-311``) and the platform (``linux-x86_64``)."""
    return {"cache_tag": sys.implementation.cache_tag or "", "platform": sysconfig.get_platform()}


def problem() -> str | None:
    """Why this interpreter cannot run the bundled server, or None."""
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"this extension has no usable bundled server ({MANIFEST}: {exc})"
    here = interpreter_tags()
    built = {key: str(manifest.get(key, "?")) for key in here}
    if built != here:
        return (
            f"the bundled phasegate was built for {built['cache_tag']} on {built['platform']};"
            f" {sys.executable} is {here['cache_tag']} on {here['platform']}: choose a"
            " matching interpreter (phasegate.interpreter) or set"
            " phasegate.server.importStrategy to fromEnvironment"
        )
    return None


def main(argv: list[str]) -> int:
    why = problem()
    if why is not None:
        sys.stderr.write(f"phasegate: {why}\n")
        return CANNOT_RUN
    sys.path.insert(0, str(LIBS))
    if argv[:1] == ["--probe"]:
        import phasegate

        importlib.import_module("phasegate.lsp.server")  # and what the server imports
        sys.stdout.write(phasegate.__version__)
        return 0
    from phasegate.cli import main as phasegate_main

    sys.argv = ["phasegate", "serve", *argv]
    phasegate_main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
