"""``phasegate mcp``: phasegate's gates, findings, checks, traceability and sessions as
an MCP server (Model Context Protocol) over stdio, on the official ``mcp`` SDK.

The SDK is the optional extra ``phasegate[mcp]``: this package imports it only in
:mod:`phasegate.mcp_server.server`. :mod:`phasegate.mcp_server.answers` computes every
answer from the engine (no SDK), :mod:`phasegate.mcp_server.models` types them. Named
``mcp_server``, not ``mcp``, so that it never shadows the SDK.
"""

from __future__ import annotations

SDK_REQUIREMENT = "mcp>=2.3,<3"


def sdk_problem() -> str | None:
    """Why the MCP SDK cannot be used (not installed, or too old), else None."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:
        try:
            from importlib.metadata import version

            found = f"mcp {version('mcp')} is installed, {SDK_REQUIREMENT} is needed"
        except Exception:
            found = f"the mcp package is not installed ({exc})"
        return found
    return None
