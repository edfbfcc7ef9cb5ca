"""IMPL-STUB against what real projects hold: the false positives seen on released
packages (Typer/Click apps, pluggy hosts, libraries with base classes and null objects,
Spec Kit contract sketches...) are not findings, and the real stubs seen in unfinished
repositories still are. Each fixture is small and shaped like the code it stands for."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate.checks.implementation import stubs as stubs_mod
from phasegate.config import Config
from phasegate.model import CheckResult
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def run_stub_check(root: Path) -> CheckResult:
    runner = GateRunner(Workspace(root), Config())
    rc = next(c for c in runner.checks("implementation") if c.config.id == "IMPL-STUB")
    return runner.run_check(rc)


def stub_names(root: Path, files: dict[str, str]) -> list[str]:
    """The qualified names reported as stubs, in file and line order."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    r = run_stub_check(root)
    assert r.error is None
    return [f.message.split("`")[1] for f in r.findings if " is a stub" in f.message]


def comment_lines(root: Path, rel: str, text: str) -> list[tuple[int, str]]:
    """(1-based line, marker) of every marker-comment finding of one file."""
    (root / rel).write_text(text, encoding="utf-8")
    r = run_stub_check(root)
    lines = text.split("\n")
    out = []
    for f in r.findings:
        if " comment: " in f.message:
            line = lines[f.range.start.line]
            out.append(
                (f.range.start.line + 1, line[f.range.start.character : f.range.end.character])
            )
    return out


# -- framework declarations ---------------------------------------------------------------

TYPER_APP = '''\
import click
import typer

app = typer.Typer()
users = typer.Typer(callback=lambda: None)
items = typer.Typer()


def items_main():
    """Manage the items."""
    pass


items = typer.Typer(callback=items_main)


class AliasedGroup(click.Group):
    pass


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose")):
    """Awesome CLI: manage users and items."""
    pass


@app.callback(invoke_without_command=True)
def root(ctx: typer.Context):
    pass


@click.group(invoke_without_command=True)
@click.pass_context
def cli(ctx):
    """The tool."""
    pass


@cli.group()
def db():
    pass


@cli.command(cls=AliasedGroup)
def aliases():
    """Commands by alias."""
    pass


@app.command()
def deploy(env: str):
    """Deploy the application to ENV."""
    pass
'''


def test_typer_and_click_groups_and_callbacks_are_not_stubs(tmp_path: Path) -> None:
    # the command is a real stub: a command that does nothing is unfinished work
    assert stub_names(tmp_path, {"app/cli.py": TYPER_APP}) == ["deploy"]


PLUGGY = """\
import pluggy

hookspec = pluggy.HookspecMarker("myproj")
spec = pluggy.HookspecMarker("other")


@hookspec
def myproj_startup(config):
    pass


@hookspec(firstresult=True)
def myproj_resolve(name):
    ...


@spec
def other_event(payload):
    pass


class Specs:
    @pluggy.HookspecMarker("myproj")
    def myproj_shutdown(self):
        pass
"""

HOOKSPECS_FILE = '''\
def register_commands(cli):
    """Register extra commands."""
    pass


def prepare_connection(conn, database):
    pass
'''


def test_pluggy_hook_specifications_are_not_stubs(tmp_path: Path) -> None:
    files = {"plug/specs.py": PLUGGY, "plug/hookspecs.py": HOOKSPECS_FILE}
    assert stub_names(tmp_path, files) == []


# -- Spec Kit contracts, documentation, type tests, templates: not the implementation -------

SKETCH = """\
class PaymentGateway:
    def charge(self, amount: int) -> str:
        raise NotImplementedError


def refund(charge_id: str) -> None:
    pass  # TODO
"""


@pytest.mark.parametrize(
    "rel",
    [
        "specs/001-payments/contracts/gateway.py",
        ".kiro/specs/payments/design_sketch.py",
        "docs/examples/gateway.py",
        "doc/en/example/gateway.py",
        "docs_src/tutorial/gateway.py",
        "typesafety/gateway.py",
        "type_tests/gateway.py",
        "typing_tests/gateway.py",
        "test-data/unit/gateway.py",
        "typing/gateway.py",
        "testing/gateway.py",
        "pkg/tests/helpers/gateway.py",
        "templates/app/gateway.py",
        "langchain_cli/integration_template/integration_template/gateway.py",
        "{{cookiecutter.project_slug}}/gateway.py",
        "pkg/vendor/lib/gateway.py",
        "pkg/_vendor/lib/gateway.py",
    ],
)
def test_design_sketches_docs_type_tests_and_templates_are_excluded(
    tmp_path: Path, rel: str
) -> None:
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text(SKETCH)
    r = run_stub_check(tmp_path)
    assert r.findings == []


def test_the_exclusions_keep_implementation_with_similar_names(tmp_path: Path) -> None:
    files = {
        "specs_parser.py": SKETCH,
        "pkg/specs.py": SKETCH,
        "pkg/typing/aliases.py": SKETCH,  # a package's own typing module is code
        "pkg/testing/fakes.py": SKETCH,  # a shipped testing helper module too
    }
    names = stub_names(tmp_path, files)
    assert names == ["PaymentGateway.charge", "refund"] * 4


def test_default_exclude_keeps_the_test_files() -> None:
    cfg = Config()
    exclude = stubs_mod.Stubs.default_exclude(cfg)
    assert exclude[: len(cfg.artifacts.tests)] == list(cfg.artifacts.tests)
    assert {"specs/", "docs/", ".kiro/"} <= set(exclude)


# -- deliberate no-ops ---------------------------------------------------------------------

NOOPS = '''\
import signal


class Plugin:
    def on_load(self):
        # nothing to do: the registry loads everything up front
        pass

    def on_unload(self):
        """No-op: plugins hold no resources."""

    def configure(self, settings):
        """Does nothing; kept for backwards compatibility with 1.x plugins."""
        pass

    def validate(self, settings):
        """Deprecated since 2.0: settings are validated by the schema."""
        pass

    def prepare(self):
        """Intentionally empty."""
        pass

    def add_headers(self, request, **kwargs):
        """Add any headers needed by the connection. This does nothing by default, but
        is left for overriding by users that subclass the adapter."""
        pass

    def before_send(self, request):
        """Hook called before sending; subclasses may override."""
        pass

    def setup(self, python_version):
        """Used to set up the host; no action is required for Windows."""
        pass

    def mkdir(self, path):
        pass  # not necessary to implement, may not have directories

    def handle_error(self, record):
        # Handled by LogCaptureHandler.
        pass

    def __init__(self):
        pass

    def __del__(self):
        pass

    def __enter__(self):
        pass

    def close(self):
        pass

    def flush(self):
        pass

    def clear(self, *_, **__):
        pass


def on_sigterm(signum, frame):
    pass


def noop(*args, **kwargs):
    pass


def _noop():
    pass


def do_nothing(event):
    pass


def dummy(*args):
    pass


def _install_completion_placeholder_function(install: bool = False) -> None:
    pass  # pragma: no cover


def record_xml_attribute(name):
    def add_attr_noop(key, value):
        pass

    def after(outcome, hook_name, hook_impls, kwargs):
        pass

    return add_attr_noop, after


signal.signal(signal.SIGTERM, on_sigterm)
'''


def test_empty_bodies_that_say_why_and_named_no_ops_are_not_stubs(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"plugin.py": NOOPS}) == []


NOT_IMPLEMENTED_ON_PURPOSE = """\
class View:
    def enable_fts(self, *args, **kwargs):
        "``enable_fts()`` is supported on tables but not on views."
        raise NotImplementedError("enable_fts() is supported on tables but not on views")

    def add_header(self, key, val):
        raise NotImplementedError("Cookie headers should be added with add_unredirected_header()")

    def seek(self, loc, whence=0):
        raise NotImplementedError("SnappyFile is not seekable")

    def sign(self, path):
        raise NotImplementedError("sign() was removed in 3.0: use presign() instead")

    def legacy(self):
        raise NotImplementedError(f"{type(self).__name__}.legacy is deprecated")

    def upload(self, path):
        raise NotImplementedError("Subclasses must implement upload()")


class SimpleFrozenList(list):
    def __init__(self, *args, error: str = "frozen") -> None:
        self.error = error
        super().__init__(*args)

    def append(self, *args, **kwargs):
        raise NotImplementedError(self.error)

    def pop(self, *args, **kwargs):
        raise NotImplementedError(self.error)


class MatcherAdapter(dict):
    def __iter__(self):
        raise NotImplementedError()

    def __len__(self):
        raise NotImplementedError()
"""


def test_not_implemented_error_that_explains_itself_is_not_a_stub(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"views.py": NOT_IMPLEMENTED_ON_PURPOSE}) == []


CLASSES_FOR_SUBCLASSING = '''\
import abc
from abc import ABC, ABCMeta, abstractmethod


class BaseTransport:
    def handle_request(self, request):
        raise NotImplementedError("The 'handle_request' method must be implemented.")

    def close(self) -> None:
        pass


class AsyncBaseTransport:
    async def handle_async_request(self, request):
        raise NotImplementedError

    async def aclose(self) -> None:
        pass


class AsyncByteStream:
    async def __aiter__(self):
        raise NotImplementedError("The '__aiter__' method must be implemented.")

    async def aclose(self) -> None:
        pass

    def reset(self) -> None:
        pass


class JSONMixin:
    def to_json(self):
        raise NotImplementedError


class StorageInterface:
    def put(self, key, value):
        pass


class Node(abc.ABC):
    """Base class of the collection tree's components."""

    def setup(self) -> None:
        pass

    def teardown(self) -> None:
        pass


class Store(metaclass=ABCMeta):
    def sync(self):
        pass


class Shape(ABC):
    @abstractmethod
    def area(self): ...

    def describe(self):
        pass


class Exporter:
    """Turns records into bytes; subclasses choose the format."""

    def serialize(self, record):
        raise NotImplementedError


class DataView:
    async def data(self, request):
        raise NotImplementedError

    async def get(self, request):
        return await self.data(request)


class _DictAccessorProperty:
    def lookup(self, instance):
        raise NotImplementedError

    def __get__(self, instance, owner):
        return self.lookup(instance)["key"]
'''


def test_methods_of_classes_meant_for_subclassing_are_not_stubs(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"transports.py": CLASSES_FOR_SUBCLASSING}) == []


NULL_OBJECTS_AND_OVERRIDES = '''\
import io
import logging


class NullFile(io.StringIO):
    def close(self) -> None:
        pass

    def writelines(self, lines) -> None:
        pass


class DummyRewriteHook:
    """A no-op import hook for when rewriting is disabled."""

    def mark_rewrite(self, *names: str) -> None:
        pass


class NoCapture:
    def start(self) -> None:
        pass

    def snap(self) -> str:
        return ""


class NullProgressBar:
    def update(self, value):
        pass


class MockRequest:
    def add_header(self, key, val):
        raise NotImplementedError


class _IgnoredTaskStatus:
    def started(self, value=None) -> None:
        pass


class DeployError(Exception):
    def log(self):
        pass


class CacheFileSystem:
    def save_cache(self):
        with open("cache.json", "w") as f:
            f.write("{}")


class SimpleCacheFileSystem(CacheFileSystem):
    def save_cache(self):
        pass


class TestCaseFunction(logging.Handler):
    def start_run(self):
        return None

    def run_once(self):
        return None

    def startTest(self, testcase) -> None:
        pass

    def addSuccess(self, testcase) -> None:
        pass
'''


def test_null_objects_exceptions_and_deliberate_overrides_are_not_stubs(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"capture.py": NULL_OBJECTS_AND_OVERRIDES}) == []


SHIMS = """\
import os
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:

    def tomllib():
        pass


if os.environ.get("_ARGCOMPLETE"):

    def try_argcomplete(parser):
        parser.complete()

else:

    def try_argcomplete(parser):
        pass


try:
    from fast import speedup
except ImportError:

    def speedup(data):
        pass


if sys.platform == "win32":

    def chmod_safe(path):
        pass
"""


def test_version_platform_and_import_shims_are_not_stubs(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"compat.py": SHIMS}) == []


VIEWS = """\
from app import export


@export("/", template="static/index.html")
def index():
    pass


@export("/about", template_name="static/about.html")
def about():
    pass
"""


def test_views_rendered_by_their_template_are_not_stubs(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"views.py": VIEWS}) == []


# -- the real stubs are still found --------------------------------------------------------

REAL_STUBS = '''\
"""Orders: the service layer."""

import sys

from shop.base import BaseService


def total(items):
    """Compute the total of the items."""
    pass


def export_csv(orders):
    raise NotImplementedError


def export_json(orders):
    raise NotImplementedError("Not implemented yet")


def export_xml(orders):
    """Deprecated formats stay out (hook for later)."""
    raise NotImplementedError("TODO: XML export")


def export_pdf(orders):
    raise NotImplementedError("later")


def parse(line):
    ...


def apply_discount(order, code):
    pass  # TODO: implement discounts


def ship(order):
    # Implementation goes here
    pass


def cancel(order):
    """Cancel the order and refund the customer."""
    # your code here
    pass


def fill_null(frame):
    pass


def fake_orders(n):
    """Make n orders for the demo."""
    pass


def export_yaml(orders):
    raise NotImplementedError("Only CSV for now")


def prepare(order):
    order.ready = True
    # nothing else to do once it is ready


def pack(order):
    pass


class NoSQLStore:
    def put(self, key, value):
        pass


class OrderService(BaseService):
    def __init__(self, repo):
        self.repo = repo

    def place(self, order):
        self._validate(order)
        self.repo.save(order)

    def _validate(self, order):
        pass

    def cancel_orders(self, instrument) -> None:
        raise NotImplementedError("Not implemented yet")

    def refund(self, order):
        """Refund the order."""
        pass


class AI:
    def __init__(self, difficulty):
        self.difficulty = difficulty

    def get_move(self):
        return getattr(self, f"_{self.difficulty}_move")()

    def _medium_move(self):
        """66% chance of playing randomly, 34% chance of playing optimally."""
        pass  # TODO: implement medium move

    def __generate_data(self) -> None:
        pass


if sys.platform == "win32":
    WINDOWS = True
'''


def test_real_stubs_are_still_found(tmp_path: Path) -> None:
    assert stub_names(tmp_path, {"shop/orders.py": REAL_STUBS}) == [
        "total",
        "export_csv",
        "export_json",
        "export_xml",
        "export_pdf",
        "parse",
        "apply_discount",
        "ship",
        "cancel",
        "fill_null",  # a word of a name is not a no-op name
        "fake_orders",
        "export_yaml",  # "for now": the rest is still to do
        "pack",  # the comment above belongs to the body before
        "NoSQLStore.put",  # not a No… null object
        "OrderService._validate",
        "OrderService.cancel_orders",
        "OrderService.refund",
        "AI._medium_move",
        "AI.__generate_data",
    ]


CAMEL_CASE_PROJECT = '''\
from hall.base_checker import BaseMsgPackChecker


class GameTcpHandler(BaseMsgPackChecker):
    def curTimestamp(self, gameId, userId):
        return gameId + userId

    def getVipTableList(self, userId, clientId):
        """ client asks for the VIP table list
        """
        pass

    def getRichManList(self, userId, gameId, clientId):
        pass
'''


def test_camel_case_methods_of_a_camel_case_project_are_still_stubs(tmp_path: Path) -> None:
    """camelCase names are an override of a framework API only in a snake_case module."""
    assert stub_names(tmp_path, {"handler.py": CAMEL_CASE_PROJECT}) == [
        "GameTcpHandler.getVipTableList",
        "GameTcpHandler.getRichManList",
    ]


def test_the_scaffolds_stubs_are_still_found(tmp_path: Path) -> None:
    files = {
        "taskboard/req_001.py": (
            '"""REQ-001: Backwards compatibility with v1 files."""\n\n\n'
            "def req_001() -> None:\n"
            '    """Backwards compatibility with v1 files (REQ-001)."""\n'
            '    raise NotImplementedError("REQ-001 is not implemented yet")\n'
        )
    }
    assert stub_names(tmp_path, files) == ["req_001"]


# -- marker comments -----------------------------------------------------------------------

MARKERS = """\
def f(cls):
    # XXX: This can be confused by subclassing a slotted attrs class with
    # XXX: a non-attrs class and subclass the resulting class with an attrs
    # XXX: class.  See `test_slotted_confused` for details.  For now that's
    # XXX: OK with us.
    return cls


# see the TODO list in README
# XXX-YYY format, as in the spec
# the todo app keeps its state in TODO.md
# TODO
x = 1  # TODO: a
y = 2  # TODO(ana): b
z = 3  # FIXME - c
w = 4  # XXX: d
v = 5  # path.strpath # XXX svn?
u = 6  # Note: TODO(bob) make this lazy
t = 7  # FIXME XXX both
r = 8  # HACK/FIXME: the host has no name
q = 9  # moved here because mypyc cannot (XXX bug)
p = 0  # paths like docs/TODO or TODO.md are not markers


# A block whose marker is not on its first line:
# it explains the loop below.
# TODO: vectorise it.
# TODO: and cache it.
s = 8
"""


def test_marker_comments_one_per_block_and_only_used_as_markers(tmp_path: Path) -> None:
    got = comment_lines(tmp_path, "m.py", MARKERS)
    assert got == [
        (2, "XXX"),  # the four-line block once, on its first marker
        (12, "TODO"),
        (13, "TODO"),
        (14, "TODO"),
        (15, "FIXME"),
        (16, "XXX"),
        (17, "XXX"),
        (18, "TODO"),
        (19, "FIXME"),
        (20, "FIXME"),
        (21, "XXX"),
        (27, "TODO"),
    ]


def test_a_file_without_marker_words_is_not_tokenized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("tokenized a file without marker words")

    monkeypatch.setattr(stubs_mod.tokenize, "generate_tokens", boom)
    assert stub_names(tmp_path, {"clean.py": "def f():\n    return 1  # fine\n"}) == []


def test_lines_are_counted_as_the_parser_counts_them(tmp_path: Path) -> None:
    """A form feed (common in old modules) is not a line break for the parser."""
    text = "import os\n\x0c\n# section\x0cbreak\ndef f():\n    pass\n"
    (tmp_path / "ff.py").write_text(text)
    r = run_stub_check(tmp_path)
    (f,) = r.findings
    assert f.range.start.line == 3 and f.message.startswith("`f` is a stub")
    assert (f.range.start.character, f.range.end.character) == (4, 5)
