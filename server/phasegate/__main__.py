"""The ``phasegate`` program (and ``python -m phasegate``).

``phasegate status`` is answered from its memo when nothing it was made from has changed
(:mod:`phasegate.commands._status_memo`), before click and the command line are loaded:
that is most of what a command costs. Everything else is :func:`phasegate.cli.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["status"]:
        from phasegate.commands._status_memo import answer_program

        code = answer_program(sys.argv[2:])
        if code is not None:
            sys.exit(code)
    from phasegate.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
