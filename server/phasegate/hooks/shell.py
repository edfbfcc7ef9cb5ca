"""Is a shell command a ``git commit``? (for ``--gate-commits``)

A command line is split into simple commands at ``;``, ``&&``, ``||``, ``|``, ``&`` and
newlines; in each, leading ``NAME=value`` assignments and wrappers (``env``,
``command``, ``sudo``, ``time``, ``nohup``) are skipped, and git's global options
(``-C DIR``, ``-c KEY=VALUE``, ``--git-dir=…``, ``--no-pager``…) are stepped over to
find the subcommand. ``sh -c '…'`` and ``bash -c '…'`` are looked into. A command that
cannot be parsed (an unbalanced quote) is searched for the words ``git`` and ``commit``.
"""

from __future__ import annotations

import re
import shlex

_SEPARATORS = {";", "&&", "||", "|", "&", "\n", "|&", "(", ")", "{", "}"}
_WRAPPERS = {"env", "command", "sudo", "time", "nohup", "exec", "nice"}
_SHELLS = {"sh", "bash", "zsh", "dash"}
_GIT_OPTS_WITH_VALUE = {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _words(command: str) -> list[str] | None:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:
        return None


def _simple_commands(words: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for w in words:
        if w in _SEPARATORS or set(w) <= set(";&|()"):
            out.append([])
        else:
            out[-1].append(w)
    return [c for c in out if c]


def _is_git_commit(words: list[str], depth: int) -> bool:
    i = 0
    while i < len(words) and (_ASSIGNMENT.match(words[i]) or words[i] in _WRAPPERS):
        i += 1
    if i >= len(words):
        return False
    program = words[i].rsplit("/", 1)[-1]
    if program in _SHELLS and depth < 3:
        for j in range(i + 1, len(words) - 1):
            if words[j] == "-c" or (words[j].startswith("-") and words[j].endswith("c")):
                return is_git_commit(words[j + 1], depth + 1)
        return False
    if program != "git":
        return False
    i += 1
    while i < len(words):
        w = words[i]
        if w in _GIT_OPTS_WITH_VALUE:
            i += 2
        elif w.startswith("-"):
            i += 1
        else:
            return w == "commit"
    return False


def is_git_commit(command: str, depth: int = 0) -> bool:
    """Whether running ``command`` in a shell would run ``git commit``."""
    words = _words(command)
    if words is None:
        return bool(re.search(r"\bgit\b.*\bcommit\b", command))
    return any(_is_git_commit(c, depth) for c in _simple_commands(words))
