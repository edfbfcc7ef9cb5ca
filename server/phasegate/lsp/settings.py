"""Server settings: what the client sends in ``initializationOptions``.

``{"trusted": bool, "interpreter": str | null, "settings": {...}}`` — see
``docs/editors.md`` for every key. Unknown keys are ignored (clients send their whole
configuration section); wrong types fall back to the default with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from phasegate.live.options import LiveOptions

DiagnosticsMode = Literal["auto", "push", "pull"]
WatchMode = Literal["auto", "client", "server", "off"]
NewCodeFocus = Literal["quiet", "hide", "off"]


@dataclass
class Settings(LiveOptions):
    """The live core's options (trust, interpreter, debounce, what runs when) and the
    editor's own."""

    # "auto": pull diagnostics when the client supports pull and refresh, else push.
    diagnostics_mode: DiagnosticsMode = "auto"
    # "auto": the client's file watcher when it offers dynamic registration, else watchfiles.
    watch: WatchMode = "auto"
    # New-code mode: how inherited findings (baseline_state "unchanged") are shown.
    # "quiet": as hints, "(inherited)" appended; "hide": not at all; "off": as they are.
    new_code_focus: NewCodeFocus = "quiet"
    warnings: list[str] = field(default_factory=list)
    # an invalid configuration at the first load: its errors, and the built-in defaults'
    # findings meanwhile (docs/editors.md)
    defaults_while_invalid: bool = True
    not_run: str = "not run yet: run the gates (phasegate.runGates) to run it"


def _get(src: dict[str, Any], key: str, kind: type, default: Any, warnings: list[str]) -> Any:
    if key not in src or src[key] is None:
        return default
    value = src[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        warnings.append(f"setting {key!r}: expected {kind.__name__}, got {value!r}; ignored")
        return default
    return value


def parse_settings(options: Any) -> Settings:
    """Settings from ``initializationOptions`` (any JSON value; bad parts are ignored)."""
    warnings: list[str] = []
    if not isinstance(options, dict):
        if options is not None:
            warnings.append("initializationOptions is not an object; ignored")
        options = {}
    inner = options.get("settings")
    if not isinstance(inner, dict):
        inner = {}
    s = Settings(warnings=warnings)
    s.trusted = _get(options, "trusted", bool, True, warnings)
    s.interpreter = _get(options, "interpreter", str, None, warnings)
    debounce_ms = _get(inner, "debounceMs", float, 150.0, warnings)
    s.debounce = min(max(debounce_ms, 0.0), 5000.0) / 1000.0
    mode = _get(inner, "diagnosticsMode", str, "auto", warnings)
    if mode not in ("auto", "push", "pull"):
        warnings.append(f"setting 'diagnosticsMode': unknown value {mode!r}; using auto")
        mode = "auto"
    s.diagnostics_mode = mode
    watch = _get(inner, "watch", str, "auto", warnings)
    if watch not in ("auto", "client", "server", "off"):
        warnings.append(f"setting 'watch': unknown value {watch!r}; using auto")
        watch = "auto"
    s.watch = watch
    s.run_on_open = _get(inner, "runOnOpen", bool, True, warnings)
    s.run_workspace_checks_on_change = _get(
        inner, "runWorkspaceChecksOnChange", bool, True, warnings
    )
    s.run_workspace_checks_on_open = _get(inner, "runWorkspaceChecksOnOpen", bool, True, warnings)
    eager = _get(inner, "maxEagerFiles", int, s.max_eager_files, warnings)
    if eager < 0:
        warnings.append(f"setting 'maxEagerFiles': {eager} is negative; using 0")
        eager = 0
    s.max_eager_files = eager
    focus = _get(inner, "newCodeFocus", str, "quiet", warnings)
    if focus not in ("quiet", "hide", "off"):
        warnings.append(f"setting 'newCodeFocus': unknown value {focus!r}; using quiet")
        focus = "quiet"
    s.new_code_focus = focus
    return s
