"""A workspace opened with an invalid phasegate.toml: the editor shows the configuration
error at its line AND the findings of the checks, judged meanwhile by the built-in
defaults; fixing the file puts its configuration in force."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from test_lsp_helpers import make_workspace, start, wait_for

pytestmark = pytest.mark.timeout(180)

INVALID = "thresholds = [0.5]\n\n[timeouts]\ncheck = 10\nbogus = 3\n"  # line 4: bogus
STUB = "def total(items: list[int]) -> int:\n    raise NotImplementedError\n"
# valid, and unlike the defaults: the implementation phase alone, without IMPL-STUB
ONLY_SYNTAX = """\
thresholds = [0.5]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"
"""


async def test_an_invalid_config_at_first_load_still_shows_the_findings(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"phasegate.toml": INVALID, "pkg/stub.py": STUB})
    async with start(root) as s:
        await s.settle()
        await wait_for(lambda: "config" in s.codes("phasegate.toml"), what="config error")
        (d,) = [x for x in s.diags("phasegate.toml") if x.code == "config"]
        assert d.severity == types.DiagnosticSeverity.Error
        assert d.range.start.line == 4 and "bogus" in d.message
        # the other diagnostics, as the built-in defaults judge the workspace
        await wait_for(lambda: "IMPL-STUB" in s.codes("pkg/stub.py"), what="IMPL-STUB")
        await wait_for(
            lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"), what="REQ-SECTIONS"
        )
        # a missing design is shown on the config file, beside its error
        await wait_for(lambda: "DES-EXISTS" in s.codes("phasegate.toml"), what="DES-EXISTS")
        status = await s.command("phasegate.status")
        assert status["configErrors"] and status["configErrors"][0]["line"] == 4
        # nothing is run on the defaults' behalf: commands wait for the file to be fixed
        with pytest.raises(JsonRpcException) as exc:
            await s.command("phasegate.validate")
        assert "phasegate.toml has errors" in str(exc.value.message)

        # fixed: its own configuration is in force, the defaults' findings go
        s.save("phasegate.toml", ONLY_SYNTAX)
        await wait_for(lambda: "config" not in s.codes("phasegate.toml"), what="error cleared")
        await wait_for(lambda: "IMPL-STUB" not in s.codes("pkg/stub.py"), what="IMPL-STUB gone")
        await wait_for(
            lambda: "REQ-SECTIONS" not in s.codes("docs/requirements.md"), what="REQ gone"
        )
        await s.settle()
        assert "DES-EXISTS" not in s.codes("phasegate.toml")
        status = await s.command("phasegate.status")
        assert [p["name"] for p in status["phases"]] == ["implementation"]
        assert status["configErrors"] == []
        result = await s.command("phasegate.validate")  # in force: commands run again
        assert result is not None

        # broken again: the last valid configuration stays in force (not the defaults)
        s.save("phasegate.toml", INVALID)
        await wait_for(lambda: "config" in s.codes("phasegate.toml"), what="error again")
        await s.settle()
        assert "IMPL-STUB" not in s.codes("pkg/stub.py")
        status = await s.command("phasegate.status")
        assert [p["name"] for p in status["phases"]] == ["implementation"]
