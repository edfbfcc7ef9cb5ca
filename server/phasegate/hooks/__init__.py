"""The agent-hook face: ``phasegate hook`` speaks the hook protocol of coding agents.

Claude Code, Codex and Cursor run a command at points of an agent's turn, give it a JSON
event on standard input and read a JSON answer on standard output. phasegate answers:

* after an edit (``PostToolUse``, Cursor's ``afterFileEdit``): the findings of the edited
  files from the checks that need no workspace code (:mod:`phasegate.hooks.handlers`);
* when the agent would stop (``Stop``/``SubagentStop``, Cursor's ``stop``): the gate,
  blocking the stop while it fails, a bounded number of times in a row;
* before a shell command (``PreToolUse`` on ``Bash``, Cursor's ``beforeShellExecution``),
  when asked to: a ``git commit`` is refused while the gate fails;
* when a session starts (``SessionStart``): one paragraph about the workspace's session.

Modules: :mod:`~phasegate.hooks.protocol` (events in, answers out, per agent),
:mod:`~phasegate.hooks.handlers` (what each event does), :mod:`~phasegate.hooks.render`
(the text the agent reads), :mod:`~phasegate.hooks.state` (``.phasegate/hooks/``: the
log, the block counters, the waiting record), :mod:`~phasegate.hooks.fastpath` (answers
that need no check to run, without importing the engine), :mod:`~phasegate.hooks.shell`
(is a command a ``git commit``?) and :mod:`~phasegate.hooks.install` (writing the agents'
settings). The engine is reached only through :mod:`phasegate.query`.

A hook must never break the agent's turn: every failure ends with exit status 0, no
output, and a line in ``.phasegate/hooks/hook.log``.
"""
