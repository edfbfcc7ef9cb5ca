"""How a project defines its lint: which ruff, which configuration, which rules.

IMPL-LINT judges a workspace as the project's own ruff would, not as whatever ruff
phasegate happens to ship:

* **Which ruff.** The workspace's own ``.venv/bin/ruff`` (trusted workspaces); else the
  version the project pins — locked in ``uv.lock`` / ``poetry.lock`` / ``pdm.lock``, else
  ``rev:`` of its ``astral-sh/ruff-pre-commit`` hook in ``.pre-commit-config.yaml``, else
  ``ruff==X`` in its development dependencies (``pyproject.toml``, ``requirements*.txt``)
  — installed on demand into phasegate's tool cache (trusted workspaces, when allowed);
  else the ruff phasegate depends on.
* **Which configuration.** ruff reads the project's own ``ruff.toml`` / ``.ruff.toml`` /
  ``[tool.ruff]`` as usual (``target-version`` follows ``requires-python`` there). The
  ``args`` of the project's pre-commit ruff hook are added, less anything that fixes,
  writes or redirects output.
* **Which rules.** When no configuration selects rules, the rule set is pinned to ruff's
  classic defaults ``E4, E7, E9, F`` — never "whatever this ruff version selects by
  default", which grows from release to release.
* **A flake8 configuration.** A project without any ruff configuration that lints with
  flake8 (a ``[flake8]`` section in ``setup.cfg``, ``tox.ini`` or ``.flake8``, the first
  that has one, as flake8 reads them; else the Flake8-pyproject plugin's ``[tool.flake8]``
  of ``pyproject.toml``) has said which of those rules it does not want:
  its ``select`` narrows the classic rules, its ``ignore`` / ``extend-ignore`` and
  ``per-file-ignores`` remove rules (as far as this ruff knows them), its ``exclude`` /
  ``extend-exclude`` remove files, and stubs (``.pyi``) are not linted unless its
  ``filename`` asks for them (flake8 reads ``*.py`` only). Nothing is added: the plugins
  and the pycodestyle rules flake8 selects beyond the classic ones stay out.

Every argument that reaches ruff's command line from the workspace goes through
:func:`safe_args`: only rule-selection and settings flags pass; nothing that fixes files,
writes output elsewhere or reads files outside the workspace.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phasegate.interpreter import workspace_bin
from phasegate.proc import run_tool
from phasegate.toml_locate import TOMLDecodeError, toml_loads

CLASSIC_RULES = ("E4", "E7", "E9", "F")
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
RUFF_CONFIG_NAMES = ("ruff.toml", ".ruff.toml")
NO_INSTALL_ENV = "PHASEGATE_NO_TOOL_INSTALL"
TOOLS_DIR_ENV = "PHASEGATE_TOOLS_DIR"
BUNDLED = "bundled with phasegate"
INSTALL_TIMEOUT = 180.0

# ruff flags that only choose rules or settings, with whether each takes a value.
_FLAGS_WITH_VALUE = frozenset(
    {
        "--select",
        "--extend-select",
        "--ignore",
        "--extend-ignore",
        "--per-file-ignores",
        "--extend-per-file-ignores",
        "--fixable",
        "--unfixable",
        "--extend-fixable",
        "--target-version",
        "--line-length",
        "--dummy-variable-rgx",
        "--exclude",
        "--extend-exclude",
        "--config",
    }
)
_FLAGS = frozenset(
    {
        "--preview",
        "--no-preview",
        "--respect-gitignore",
        "--no-respect-gitignore",
        "--force-exclude",
        "--no-force-exclude",
        "--isolated",
    }
)


def safe_args(args: list[str], root: Path | None) -> tuple[list[str], list[str]]:
    """``(kept, dropped)``: the arguments that may reach ``ruff check`` in a validation.

    Kept: rule selection and settings (``--select E,F``, ``--line-length=100``,
    ``--config "lint.select = [...]"`` or ``--config`` naming a file inside the
    workspace). Dropped: everything else — ``--fix``, ``--output-file``, ``--watch``,
    ``--add-noqa``, a ``--config`` file outside the workspace, positional paths…
    """
    kept: list[str] = []
    dropped: list[str] = []
    i = 0
    while i < len(args):
        arg = str(args[i])
        name, eq, value = arg.partition("=")
        if name in _FLAGS and not eq:
            kept.append(arg)
            i += 1
            continue
        if name in _FLAGS_WITH_VALUE:
            if not eq:
                if i + 1 >= len(args):
                    dropped.append(arg)
                    break
                value = str(args[i + 1])
                i += 2
            else:
                i += 1
            if name == "--config" and not _safe_config_value(value, root):
                dropped += [name, value]
                continue
            kept += [name, value]
            continue
        dropped.append(arg)
        i += 1
    return kept, dropped


def _safe_config_value(value: str, root: Path | None) -> bool:
    """A ``--config`` value: an inline ``key = value`` override (not one that turns on
    fixing or output redirection) or a TOML file inside the workspace."""
    if "=" in value:
        key = value.split("=", 1)[0].strip().strip('"').lower()
        return key.rsplit(".", 1)[-1] not in {"fix", "unsafe-fixes", "output-file", "cache-dir"}
    if root is None:
        return True
    try:
        target = (root / value).resolve()
    except (OSError, ValueError):
        return False
    return target.is_file() and (target == root or root in target.parents)


@dataclass
class RuffConfig:
    """The project's ruff configuration as far as phasegate needs to know it."""

    files: list[str] = field(default_factory=list)  # workspace-relative config files
    selects: bool = False  # some configuration chooses the rule set (select / extend)
    # Without ``select``: what the configuration adds to / removes from the base rules.
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    pre_commit_args: list[str] = field(default_factory=list)
    dropped_args: list[str] = field(default_factory=list)
    pinned: str | None = None  # the ruff version the project pins
    pinned_in: str | None = None  # where
    flake8: Flake8Config | None = None  # without a ruff configuration: flake8's choices


@dataclass
class Flake8Config:
    """What a project's ``[flake8]`` section says of the rules and files it lints."""

    file: str  # where: "setup.cfg [flake8]", "pyproject.toml [tool.flake8]"...
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file: list[tuple[str, list[str]]] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    stubs: bool = False  # its ``filename`` patterns take .pyi files


FLAKE8_FILES = ("setup.cfg", "tox.ini", ".flake8")  # flake8's order: the first with [flake8]
_CODE_RE = re.compile(r"[A-Z]{1,3}[0-9]{0,4}")


def _codes(value: str) -> list[str]:
    """flake8's comma- or space-separated codes, less anything else (a stray comment)."""
    out: list[str] = []
    for token in re.split(r"[,\s]+", value):
        if token.startswith("#"):
            break
        if _CODE_RE.fullmatch(token):
            out.append(token)
    return out


def _per_file_ignores(value: str) -> list[tuple[str, list[str]]]:
    """``src/pkg/__init__.py: F401`` entries as flake8 tokenises them (file names up to
    a colon, then codes)."""
    out: list[tuple[str, list[str]]] = []
    files: list[str] = []
    codes: list[str] = []
    for token in re.findall(r"[^\s:,]+|:", value):
        if token == ":":
            continue
        if _CODE_RE.fullmatch(token) and files:
            codes.append(token)
            continue
        if codes:
            out += [(f, codes) for f in files]
            files, codes = [], []
        files.append(token)
    out += [(f, codes) for f in files if codes]
    return out


def _glob(pattern: str) -> str:
    """A flake8 exclude pattern as ruff reads it ("" for none it could read)."""
    pattern = pattern.strip().removeprefix("./").rstrip("/")
    return "" if not pattern.isprintable() or pattern.startswith("#") else pattern


def read_flake8_config(root: Path) -> Flake8Config | None:
    """The ``[flake8]`` section flake8 would use in ``root``, if any."""
    import configparser

    for name in FLAKE8_FILES:
        path = root / name
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read_string(path.read_text(encoding="utf-8", errors="replace"), name)
        except (OSError, configparser.Error):
            continue
        if not parser.has_section("flake8"):
            continue
        return _flake8_section(f"{name} [flake8]", dict(parser.items("flake8")))
    # the Flake8-pyproject plugin's [tool.flake8] (flake8 itself reads no pyproject.toml)
    data = _read_toml(root / "pyproject.toml") or {}
    tool = data.get("tool")
    section = tool.get("flake8") if isinstance(tool, dict) else None
    if isinstance(section, dict):
        flat = {
            str(k): "\n".join(map(str, v)) if isinstance(v, list) else str(v)
            for k, v in section.items()
            if isinstance(v, (str, list))
        }
        return _flake8_section("pyproject.toml [tool.flake8]", flat)
    return None


def _flake8_section(where: str, raw: dict[str, str]) -> Flake8Config:
    opts = {k.replace("_", "-"): v for k, v in raw.items()}
    found = Flake8Config(file=where)
    found.select = _codes(opts.get("select", ""))
    found.ignore = _codes(opts.get("ignore", "")) + _codes(opts.get("extend-ignore", ""))
    found.per_file = _per_file_ignores(opts.get("per-file-ignores", ""))
    for key in ("exclude", "extend-exclude"):
        patterns = re.split(r"[,\n]", opts.get(key, ""))
        found.exclude += [_glob(p) for p in patterns if _glob(p)]
    found.stubs = "pyi" in opts.get("filename", "")
    return found


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        data = toml_loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, TOMLDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _chooses_rules(section: dict[str, Any]) -> bool:
    """True when a ruff settings table chooses its rule set (or inherits one)."""
    if "select" in section or "extend" in section:
        return True
    lint = section.get("lint")
    return isinstance(lint, dict) and "select" in lint


def _rule_changes(section: dict[str, Any], cfg: RuffConfig) -> None:
    """The ``extend-select`` / ``ignore`` / ``extend-ignore`` of a settings table (top
    level and ``[lint]``): a rule set pinned on the command line replaces the file's
    whole selection, so they are carried over with it."""
    lint = section.get("lint")
    for table in (section, lint if isinstance(lint, dict) else {}):
        for key, into in (
            ("extend-select", cfg.extend_select),
            ("ignore", cfg.ignore),
            ("extend-ignore", cfg.ignore),
        ):
            value = table.get(key)
            if isinstance(value, list):
                into += [str(v) for v in value if isinstance(v, str)]


_PIN_RE = re.compile(r"^\s*[\"']?ruff\s*===?\s*v?(\d+\.\d+\.\d+)\s*[\"']?\s*(?:[;#].*)?$", re.I)


def _pin_in(values: Any) -> str | None:
    """``X`` of a ``ruff==X`` requirement anywhere in a (nested) list/table of strings."""
    if isinstance(values, str):
        m = _PIN_RE.match(values)
        return m.group(1) if m else None
    if isinstance(values, dict):
        items: Any = values.values()
    elif isinstance(values, list):
        items = values
    else:
        return None
    for v in items:
        found = _pin_in(v)
        if found:
            return found
    return None


def _yaml_load(text: str) -> Any:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        return None
    try:
        return yaml.safe_load(text)
    except Exception:  # a broken pre-commit config: nothing to learn from it
        return None


def _pre_commit(root: Path, cfg: RuffConfig) -> None:
    path = root / PRE_COMMIT_CONFIG
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    data = _yaml_load(text)
    repos = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(repos, list):
        return
    for repo in repos:
        if not isinstance(repo, dict) or "ruff-pre-commit" not in str(repo.get("repo", "")):
            continue
        rev = str(repo.get("rev", ""))
        m = re.fullmatch(r"v?(\d+\.\d+\.\d+)", rev.strip())
        if m and cfg.pinned is None:
            cfg.pinned, cfg.pinned_in = m.group(1), PRE_COMMIT_CONFIG
        for hook in repo.get("hooks") or []:
            if not isinstance(hook, dict) or hook.get("id") not in ("ruff", "ruff-check"):
                continue
            args = hook.get("args") or []
            if isinstance(args, list):
                kept, dropped = safe_args([str(a) for a in args], root)
                cfg.pre_commit_args += kept
                cfg.dropped_args += dropped
        return


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pyproject_pin(pyproject: dict[str, Any], cfg: RuffConfig) -> None:
    """``ruff==X`` among the development dependencies of ``pyproject.toml``."""
    tool = _table(pyproject.get("tool"))
    poetry = _table(tool.get("poetry"))
    sources = [
        _table(pyproject.get("project")).get("optional-dependencies"),
        pyproject.get("dependency-groups"),
        _table(tool.get("pdm")).get("dev-dependencies"),
        _table(tool.get("uv")).get("dev-dependencies"),
    ]
    pin = next((p for p in map(_pin_in, sources) if p), None)
    if pin is None:  # Poetry: ruff = "0.4.3" in a dependency group
        groups = [_table(g).get("dependencies") for g in _table(poetry.get("group")).values()]
        for deps in [*groups, poetry.get("dev-dependencies")]:
            version = _table(deps).get("ruff")
            if isinstance(version, str) and re.fullmatch(r"(==)?\d+\.\d+\.\d+", version):
                pin = version.lstrip("=")
                break
    if pin:
        cfg.pinned, cfg.pinned_in = pin, "pyproject.toml"


LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock")


def _lock_pin(root: Path, cfg: RuffConfig) -> None:
    """The ruff version locked in ``uv.lock`` / ``poetry.lock`` / ``pdm.lock``."""
    for name in LOCK_FILES:
        data = _read_toml(root / name)
        packages = data.get("package") if data else None
        if not isinstance(packages, list):
            continue
        for pkg in packages:
            if isinstance(pkg, dict) and str(pkg.get("name", "")).lower() == "ruff":
                version = str(pkg.get("version", ""))
                if re.fullmatch(r"\d+\.\d+\.\d+", version):
                    cfg.pinned, cfg.pinned_in = version, name
                    return


def read_ruff_config(root: Path) -> RuffConfig:
    """What the project says about its lint (see the module docs)."""
    cfg = RuffConfig()
    for name in RUFF_CONFIG_NAMES:
        data = _read_toml(root / name)
        if data is not None and not cfg.files:  # ruff uses the first one it finds
            cfg.files.append(name)
            cfg.selects = _chooses_rules(data)
            _rule_changes(data, cfg)
    pyproject = _read_toml(root / "pyproject.toml")
    if pyproject is not None:
        tool = pyproject.get("tool")
        tool = tool if isinstance(tool, dict) else {}
        ruff = tool.get("ruff")
        if isinstance(ruff, dict) and not cfg.files:  # ruff.toml wins over pyproject
            cfg.files.append("pyproject.toml")
            cfg.selects = _chooses_rules(ruff)
            _rule_changes(ruff, cfg)
    _lock_pin(root, cfg)  # what `uv run ruff` / `poetry run ruff` use: the best evidence
    _pre_commit(root, cfg)
    if any(a in ("--select", "--config", "--isolated") for a in cfg.pre_commit_args):
        cfg.selects = True
    if not cfg.files and not cfg.selects:
        cfg.flake8 = read_flake8_config(root)
    if cfg.pinned is None and pyproject is not None:
        _pyproject_pin(pyproject, cfg)
    if cfg.pinned is None:
        for req in sorted(root.glob("requirements*.txt")) + sorted(root.glob("requirements/*.txt")):
            try:
                lines = req.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            pin = _pin_in(lines)
            if pin:
                cfg.pinned, cfg.pinned_in = pin, req.relative_to(root).as_posix()
                break
    return cfg


# -- which ruff ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuffBinary:
    path: str
    version: str | None
    origin: str  # "the workspace's .venv", "pinned in X", "bundled with phasegate", "PATH"
    note: str = ""  # why the pinned version is not the one that runs


_versions: dict[tuple[str, float], str | None] = {}


def ruff_version(binary: str) -> str | None:
    """``X.Y.Z`` of a ruff binary (``ruff --version``), remembered per file."""
    try:
        key = (binary, os.stat(binary).st_mtime)
    except OSError:
        return None
    if key not in _versions:
        res = run_tool([binary, "--version"], cwd=os.path.dirname(binary) or ".", timeout=30)
        m = re.search(r"(\d+\.\d+\.\d+)", res.stdout or "")
        _versions[key] = m.group(1) if m and res.returncode == 0 else None
    return _versions[key]


def bundled_ruff() -> str | None:
    """The ruff phasegate depends on, else ``ruff`` on PATH."""
    try:
        mod: Any = importlib.import_module("ruff")
        found = mod.find_ruff_bin()
        if found:
            return str(found)
    except (ImportError, FileNotFoundError, AttributeError):
        pass
    return shutil.which("ruff")


def tools_dir() -> Path:
    """Where pinned tool versions are installed: ``$PHASEGATE_TOOLS_DIR``, else
    ``$XDG_CACHE_HOME/phasegate/tools`` (``~/.cache/phasegate/tools``)."""
    env = os.environ.get(TOOLS_DIR_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phasegate" / "tools"


def install_pinned_ruff(version: str, timeout: float = INSTALL_TIMEOUT) -> tuple[str | None, str]:
    """``(binary, problem)``: ruff ``version`` from the tool cache, installed there from
    the package index on first use (``pip install --target``, wheels only)."""
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        return None, f"not a version: {version!r}"
    target = tools_dir() / f"ruff-{version}"
    binary = target / "bin" / ("ruff.exe" if os.name == "nt" else "ruff")
    if binary.is_file():
        return str(binary), ""
    if os.environ.get(NO_INSTALL_ENV):
        return None, f"installing tools is switched off ({NO_INSTALL_ENV})"
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".ruff-{version}.lock"
    with open(lock_path, "w") as lock:
        if sys.platform != "win32":  # two installs of one version wait for each other
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.is_file():
            return str(binary), ""
        tmp = target.parent / f".ruff-{version}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        argv = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary", ":all:", "--target", str(tmp), f"ruff=={version}",
        ]  # fmt: skip
        res = run_tool(argv, cwd=target.parent, timeout=timeout)
        built = tmp / "bin" / binary.name
        if res.returncode != 0 or not built.is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            detail = (res.stderr or res.stdout or "").strip().splitlines()
            why = "timed out" if res.timed_out else (detail[-1] if detail else "pip failed")
            return None, f"installing ruff {version} failed: {why}"
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return str(binary), ""


def choose_ruff(
    root: Path, cfg: RuffConfig, *, trusted: bool, use_workspace_ruff: bool, install: bool
) -> RuffBinary | None:
    """The ruff that judges this workspace (see the module docs for the order)."""
    if trusted and use_workspace_ruff:
        own = workspace_bin(root, "ruff")
        if own:
            return RuffBinary(own, ruff_version(own), "the workspace's virtual environment")
    bundled = bundled_ruff()
    bundled_version = ruff_version(bundled) if bundled else None
    note = ""
    if cfg.pinned and cfg.pinned != bundled_version:
        if trusted and install:
            binary, problem = install_pinned_ruff(cfg.pinned)
            if binary:
                return RuffBinary(binary, cfg.pinned, f"pinned in {cfg.pinned_in}")
            note = f"the project pins ruff {cfg.pinned} ({cfg.pinned_in}); {problem}"
        elif not trusted:
            note = (
                f"the project pins ruff {cfg.pinned} ({cfg.pinned_in}); not installed in an "
                "untrusted workspace"
            )
        else:
            note = f"the project pins ruff {cfg.pinned} ({cfg.pinned_in}); installing is off"
    if bundled is None:
        return None
    return RuffBinary(bundled, bundled_version, BUNDLED, note)


# The codes of the classic rules every ruff since 0.1 has: what a flake8 code is checked
# against when a ruff cannot list its own.
_CLASSIC_CODES = (
    "E401", "E402", "E701", "E702", "E703", "E711", "E712", "E713", "E714", "E721",
    "E722", "E731", "E741", "E742", "E743", "E902", "F401", "F402", "F403", "F404",
    "F405", "F406", "F407", "F501", "F502", "F503", "F504", "F505", "F506", "F507",
    "F508", "F509", "F521", "F522", "F523", "F524", "F525", "F541", "F601", "F602",
    "F621", "F622", "F631", "F632", "F633", "F634", "F701", "F702", "F704", "F706",
    "F707", "F722", "F811", "F821", "F822", "F823", "F841", "F842", "F901",
)  # fmt: skip
CLASSIC_CODES = frozenset(_CLASSIC_CODES)
_known: dict[tuple[str, float], frozenset[str] | None] = {}


def known_rules(binary: str) -> frozenset[str] | None:
    """The stable rule codes of this ruff (``ruff rule --all``), None when it cannot say;
    remembered per file, as its version is."""
    try:
        key = (binary, os.stat(binary).st_mtime)
    except OSError:
        return None
    if key not in _known:
        argv = [binary, "rule", "--all", "--output-format", "json"]
        res = run_tool(argv, cwd=os.path.dirname(binary) or ".", timeout=30.0)
        codes: frozenset[str] | None = None
        if res.returncode == 0 and not res.timed_out:
            try:
                rules = json.loads(res.stdout)
                codes = frozenset(
                    str(r["code"]) for r in rules if isinstance(r, dict) and not r.get("preview")
                )
            except (ValueError, KeyError, TypeError):
                codes = None
        _known[key] = codes
    return _known[key]


def _selectors(codes: list[str], base: list[str], known: frozenset[str] | None) -> list[str]:
    """The codes that bear on ``base`` (a rule of it, or a prefix of some) and that this
    ruff accepts (a code or a prefix of one of its stable codes; without the list, the
    classic ones)."""
    pool = CLASSIC_CODES if known is None else known
    out: list[str] = []
    for code in codes:
        bears = any(code.startswith(b) or b.startswith(code) for b in base)
        if bears and code not in out and any(k.startswith(code) for k in pool):
            out.append(code)
    return out


def rule_args(cfg: RuffConfig, known: frozenset[str] | None = None) -> list[str]:
    """Arguments that pin the rule set when no configuration chooses one: ruff's classic
    rules plus the configuration's own ``extend-select``, less its ``ignore`` (a rule set
    given on the command line replaces the file's whole selection, so they are carried
    over with it); with a flake8 configuration instead, the classic rules less what it
    leaves out (``known``: the codes this ruff accepts)."""
    if cfg.selects:
        return []
    base = [*CLASSIC_RULES, *cfg.extend_select]
    flake8 = cfg.flake8
    ignore = list(cfg.ignore)
    extra: list[str] = []
    if flake8 is not None:
        if flake8.select:  # what it selects of the classic rules, as narrow as it says
            kept = [b for b in base if any(b.startswith(s) for s in flake8.select)]
            inside = [s for s in flake8.select if any(s.startswith(b) for b in base)]
            # a select that keeps none of them: ruff needs a rule set, the classic one stays
            base = kept + _selectors([s for s in inside if s not in kept], base, known) or base
        ignore += _selectors(flake8.ignore, base, known)
        # settings only, each its flag's own value (`=`: a pattern never reads as a flag)
        for pattern, codes in flake8.per_file:
            for code in _selectors(codes, base, known):
                extra.append(f"--per-file-ignores={pattern}:{code}")
        extra += [f"--extend-exclude={pattern}" for pattern in flake8.exclude]
        if not flake8.stubs:
            extra.append("--extend-exclude=*.pyi")
    argv = ["--select", ",".join(base)]
    if ignore:
        argv += ["--ignore", ",".join(ignore)]
    return argv + extra


def describe(cfg: RuffConfig, binary: RuffBinary, args_used: bool) -> str:
    """``ruff 0.4.3, pyproject.toml`` — what judged the findings, for their messages."""
    parts = [f"ruff {binary.version}" if binary.version else "ruff"]
    if cfg.files:
        parts.append(" + ".join(cfg.files))
    if cfg.pre_commit_args:
        parts.append("pre-commit args")
    if args_used:
        parts.append("check options")
    if not cfg.selects:
        parts.append("rules " + ",".join(CLASSIC_RULES))
    if cfg.flake8 is not None:
        parts.append(f"less what {cfg.flake8.file} leaves out")
    if binary.note and cfg.pinned:
        parts.append(f"the project pins ruff {cfg.pinned}")
    return ", ".join(parts)
