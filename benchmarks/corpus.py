"""Materialise the precision-benchmark corpus described in ``benchmarks/corpus.toml``.

Each ``[[project]]`` of the manifest is a real public project that nobody at phasegate
wrote. ``materialize`` turns one into a workspace folder ``DEST/<name>``:

* ``source = "pypi"``: ``python -m pip download --no-binary :all: --no-deps NAME==X`` into
  a temporary folder, then the ``.tar.gz`` / ``.zip`` is unpacked safely (no member may
  land outside the destination, links only when they stay inside) and its single top
  folder is stripped;
* ``source = "github"``: ``git --git-dir=<snapshot> archive <commit>`` of a bare snapshot
  under ``$PHASEGATE_MIRROR_DIR`` (default ``/work/.mirror``, laid out as
  ``<owner>+<name>/...``), unpacked the same way with its symlinks kept. Where the snapshot
  or the commit is absent (on CI, say) the project is skipped with a printed reason.

Optional keys: ``subdir`` keeps only that folder of the source; ``copy = {"src" = "dst"}``
makes a workspace of ONLY those files, each placed at its destination path; ``npm = true``
installs the JavaScript dependencies as the project pins them (``npm ci --ignore-scripts``
in every folder with a ``package-lock.json``), so its own eslint, tsc and test runner
judge it (without npm, or when an install fails, the reason is printed and the
JavaScript checks report that the dependencies are not installed); ``venv = [ARGS...]``
gives the workspace a ``.venv`` where ``pip install ARGS`` put the project and its test
dependencies, so its own suite runs in its own environment, as its maintainers run it —
made only when asked (``--venvs``: it installs from the package index, and the tests'
verdicts then depend on what the index serves today).

Idempotent: a marker ``DEST/.corpus-markers/<name>.json`` records the source and its
version or commit; a project whose marker matches is not fetched again.

    python benchmarks/corpus.py fetch [--only NAME ...] [--dest DIR] [--manifest FILE]
                                      [--venvs]
    python benchmarks/corpus.py list [--manifest FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import posixpath
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

MANIFEST = Path(__file__).resolve().with_name("corpus.toml")
DEFAULT_MIRROR = Path("/work/.mirror")
MARKER_DIR = ".corpus-markers"
KINDS = frozenset(
    {
        "python-package",
        "old-ruff-pin",
        "flake8-config",
        "python-3.13",
        "typer-cli",
        "spec-kit-monorepo",
        "spec-kit-template",
        "kiro",
        "kiro-symlinked-specs",
        "typescript",
        "sub-projects",
        "old-abandoned",
        "messy",
    }
)
SOURCES = frozenset({"pypi", "github"})
_NAME = re.compile(r"[a-z0-9._-]+")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*")
_KEYS = frozenset(
    {
        "name",
        "source",
        "package",
        "version",
        "repo",
        "commit",
        "subdir",
        "trusted",
        "kinds",
        "why",
        "copy",
        "npm",
        "venv",
    }
)


class ManifestError(ValueError):
    """The manifest is not of the documented form."""


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the destination."""


@dataclass(frozen=True)
class Project:
    """One ``[[project]]`` of the manifest."""

    name: str
    source: str
    kinds: tuple[str, ...]
    why: str
    package: str | None = None
    version: str | None = None
    repo: str | None = None
    commit: str | None = None
    subdir: str | None = None
    trusted: bool = True
    copy: tuple[tuple[str, str], ...] = field(default=())
    npm: bool = False
    venv: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        """What the marker records: everything that decides the workspace's content."""
        ident: dict[str, Any] = {"name": self.name, "source": self.source}
        if self.source == "pypi":
            ident.update(package=self.package, version=self.version)
        else:
            ident.update(repo=self.repo, commit=self.commit)
        if self.subdir is not None:
            ident["subdir"] = self.subdir
        if self.copy:
            ident["copy"] = [list(pair) for pair in self.copy]
        if self.npm:
            ident["npm"] = True
        return ident


# --------------------------------------------------------------------------- manifest


def _str(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise ManifestError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{where}: '{key}' must be a non-empty string")
    return value


def _relative(path: str, where: str) -> str:
    """A normalised relative POSIX path that stays inside its root, else an error."""
    norm = posixpath.normpath(path.replace("\\", "/"))
    if posixpath.isabs(norm) or norm == "." or norm == ".." or norm.startswith("../"):
        raise ManifestError(f"{where}: path {path!r} must stay inside the source")
    return norm


def _project(entry: Mapping[str, Any], index: int) -> Project:
    where = f"project #{index + 1}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise ManifestError(f"{where}: unknown keys {sorted(unknown)}")
    name = _str(entry, "name", where, required=True)
    assert name is not None
    if not _NAME.fullmatch(name):
        raise ManifestError(f"{where}: name {name!r} must match [a-z0-9._-]+")
    where = f"project {name!r}"
    source = _str(entry, "source", where, required=True)
    if source not in SOURCES:
        raise ManifestError(f"{where}: source must be one of {sorted(SOURCES)}")
    why = _str(entry, "why", where, required=True)
    assert why is not None
    kinds_raw = entry.get("kinds")
    if not isinstance(kinds_raw, list) or not kinds_raw:
        raise ManifestError(f"{where}: 'kinds' must be a non-empty list")
    kinds: list[str] = []
    for kind in kinds_raw:
        if not isinstance(kind, str) or kind not in KINDS:
            raise ManifestError(f"{where}: unknown kind {kind!r}")
        kinds.append(kind)
    trusted = entry.get("trusted", True)
    if not isinstance(trusted, bool):
        raise ManifestError(f"{where}: 'trusted' must be true or false")
    npm = entry.get("npm", False)
    if not isinstance(npm, bool):
        raise ManifestError(f"{where}: 'npm' must be true or false")
    venv_raw = entry.get("venv", [])
    if not isinstance(venv_raw, list) or not all(isinstance(a, str) and a for a in venv_raw):
        raise ManifestError(f"{where}: 'venv' must be a list of pip install arguments")
    package = _str(entry, "package", where, required=source == "pypi")
    version = _str(entry, "version", where, required=source == "pypi")
    repo = _str(entry, "repo", where, required=source == "github")
    commit = _str(entry, "commit", where, required=source == "github")
    if source == "pypi" and (repo is not None or commit is not None):
        raise ManifestError(f"{where}: 'repo' and 'commit' are for github projects")
    if source == "github":
        if package is not None or version is not None:
            raise ManifestError(f"{where}: 'package' and 'version' are for pypi projects")
        assert repo is not None and commit is not None
        if not _REPO.fullmatch(repo):
            raise ManifestError(f"{where}: repo {repo!r} must be owner/name")
        if not _COMMIT.fullmatch(commit):
            raise ManifestError(f"{where}: commit must be 40 lowercase hex digits")
    subdir_raw = _str(entry, "subdir", where, required=False)
    subdir = None if subdir_raw is None else _relative(subdir_raw, where)
    copy_raw = entry.get("copy", {})
    if not isinstance(copy_raw, dict):
        raise ManifestError(f"{where}: 'copy' must be a table of source = destination")
    pairs: list[tuple[str, str]] = []
    for src, dst in copy_raw.items():
        if not isinstance(dst, str):
            raise ManifestError(f"{where}: copy destination for {src!r} must be a string")
        pairs.append((_relative(src, where), _relative(dst, where)))
    if subdir is not None and pairs:
        raise ManifestError(f"{where}: 'subdir' and 'copy' cannot be combined")
    destinations = [dst for _, dst in pairs]
    if len(set(destinations)) != len(destinations):
        raise ManifestError(f"{where}: two copy entries share a destination")
    return Project(
        name=name,
        source=source,
        kinds=tuple(kinds),
        why=why,
        package=package,
        version=version,
        repo=repo,
        commit=commit,
        subdir=subdir,
        trusted=trusted,
        copy=tuple(pairs),
        npm=npm,
        venv=tuple(venv_raw),
    )


def load_manifest(path: Path | None = None) -> list[Project]:
    """Read and check the manifest (default: ``corpus.toml`` beside this file)."""
    manifest = MANIFEST if path is None else path
    with manifest.open("rb") as handle:
        data: dict[str, Any] = tomllib.load(handle)
    entries = data.get("project", [])
    if not isinstance(entries, list):
        raise ManifestError("'project' must be an array of tables ([[project]])")
    projects = [_project(entry, index) for index, entry in enumerate(entries)]
    names = [project.name for project in projects]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ManifestError(f"duplicate project names: {duplicates}")
    return projects


# --------------------------------------------------------------------------- archives


def _inside(root: Path, relative: str) -> Path:
    """``root / relative`` after checking that the path cannot escape ``root``."""
    norm = posixpath.normpath(relative.replace("\\", "/"))
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../") or "\x00" in norm:
        raise UnsafeArchiveError(f"archive member {relative!r} escapes the destination")
    return root / norm


def _link_stays_inside(root: Path, link_rel: str, target: str) -> bool:
    """Whether a symlink at ``link_rel`` (relative to ``root``) pointing at ``target`` stays
    inside ``root`` (lexically: other links along the way are checked when created)."""
    if not target or posixpath.isabs(target) or "\\" in target:
        return False
    parent = posixpath.dirname(posixpath.normpath(link_rel))
    resolved = posixpath.normpath(posixpath.join(parent, target))
    return not (resolved == ".." or resolved.startswith("../") or posixpath.isabs(resolved))


def _strip_top(names: Sequence[str]) -> str | None:
    """The single top folder all members share (``pkg-1.0/``), else None."""
    normed = [posixpath.normpath(n.replace("\\", "/")) for n in names]
    tops = {n.split("/", 1)[0] for n in normed if n != "."}
    if len(tops) != 1:
        return None
    top = tops.pop()
    if top in ("", ".."):
        return None
    # Only a folder is stripped: a lone top-level file is kept as it is.
    if any(n.startswith(top + "/") for n in normed):
        return top
    return None


def _relative_member(name: str, top: str | None) -> str | None:
    """The member's path below the stripped top folder ("" for the top itself)."""
    norm = posixpath.normpath(name.replace("\\", "/"))
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../") or "\x00" in norm:
        raise UnsafeArchiveError(f"archive member {name!r} escapes the destination")
    if norm == ".":
        return None
    if top is None:
        return norm
    if norm == top:
        return None
    if not norm.startswith(top + "/"):
        raise UnsafeArchiveError(f"archive member {name!r} is outside {top!r}")
    return norm[len(top) + 1 :]


def _no_symlink_parents(root: Path, target: Path) -> None:
    """Refuse to write through a symlink that an earlier member created."""
    current = root
    for part in target.relative_to(root).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise UnsafeArchiveError(f"archive writes through the symlink {current}")


def _write_file(root: Path, target: Path, data: IO[bytes], mode: int) -> None:
    _no_symlink_parents(root, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()
    with target.open("wb") as out:
        shutil.copyfileobj(data, out)
    target.chmod(0o755 if mode & 0o111 else 0o644)


def extract_tar(archive: IO[bytes] | Path, dest: Path, *, strip_top: bool) -> list[str]:
    """Unpack a tar archive (any compression) into ``dest``; return the skipped members.

    Regular files, folders and symlinks that stay inside ``dest`` are created; hard links
    become copies of their (already unpacked) target; devices, FIFOs and links pointing
    outside are skipped.
    """
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    skipped: list[str] = []
    with contextlib.ExitStack() as stack:
        handle = stack.enter_context(archive.open("rb")) if isinstance(archive, Path) else archive
        tar = stack.enter_context(tarfile.open(fileobj=handle, mode="r:*"))
        members = tar.getmembers()
        top = _strip_top([m.name for m in members]) if strip_top else None
        for member in members:
            rel = _relative_member(member.name, top)
            if rel is None:
                continue
            target = _inside(root, rel)
            if member.isdir():
                _no_symlink_parents(root, target)
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                data = tar.extractfile(member)
                if data is None:
                    skipped.append(member.name)
                    continue
                with data:
                    _write_file(root, target, data, member.mode)
            elif member.issym():
                if not _link_stays_inside(root, rel, member.linkname):
                    skipped.append(f"{member.name} -> {member.linkname}")
                    continue
                _no_symlink_parents(root, target)
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_symlink() or target.exists():
                    target.unlink()
                target.symlink_to(member.linkname)
            elif member.islnk():
                link_rel = _relative_member(member.linkname, top)
                source = None if link_rel is None else _inside(root, link_rel)
                if source is None or not source.is_file() or source.is_symlink():
                    skipped.append(f"{member.name} => {member.linkname}")
                    continue
                with source.open("rb") as data_in:
                    _write_file(root, target, data_in, source.stat().st_mode)
            else:
                skipped.append(member.name)
    skipped.extend(_drop_escaping_links(root))
    return skipped


def _drop_escaping_links(root: Path) -> list[str]:
    """Remove every symlink under ``root`` whose real target lies outside it (a chain of
    links can escape where each link alone looked inside); return what was removed."""
    removed: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in [*dirnames, *filenames]:
            path = Path(dirpath) / entry
            if not path.is_symlink():
                continue
            real = Path(os.path.realpath(path))
            if real != root and root not in real.parents:
                removed.append(f"{path.relative_to(root)} -> {os.readlink(path)}")
                path.unlink()
    return removed


def extract_zip(archive: Path, dest: Path, *, strip_top: bool) -> list[str]:
    """Unpack a zip archive into ``dest`` (files and folders only); return skipped members."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    skipped: list[str] = []
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        top = _strip_top([i.filename for i in infos]) if strip_top else None
        for info in infos:
            rel = _relative_member(info.filename, top)
            if rel is None:
                continue
            target = _inside(root, rel)
            unix_mode = info.external_attr >> 16
            if info.is_dir():
                _no_symlink_parents(root, target)
                target.mkdir(parents=True, exist_ok=True)
            elif stat.S_ISLNK(unix_mode):
                skipped.append(info.filename)
            else:
                with zf.open(info) as data:
                    _write_file(root, target, data, unix_mode)
    return skipped


# --------------------------------------------------------------------------- sources


def mirror_root() -> Path:
    """Where the github snapshots lie: ``$PHASEGATE_MIRROR_DIR`` or ``/work/.mirror``."""
    override = os.environ.get("PHASEGATE_MIRROR_DIR")
    return Path(override) if override else DEFAULT_MIRROR


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def find_git_dir(repo: str, root: Path | None = None) -> Path | None:
    """The git directory of the snapshot of ``owner/name``, if there is one.

    The search tool's ``fetch`` lays a snapshot out as ``<root>/<owner>+<name>/repo``
    (bare) or ``<root>/<owner>+<name>/repo/.git`` (a clone without its work tree).
    """
    base = (mirror_root() if root is None else root) / repo.replace("/", "+")
    if not base.is_dir():
        return None
    for candidate in (base / "repo", base / "repo" / ".git", base, base / ".git"):
        if _is_git_dir(candidate):
            return candidate
    for dirpath, dirnames, _ in os.walk(base):
        here = Path(dirpath)
        if _is_git_dir(here):
            return here
        if len(here.relative_to(base).parts) >= 3:
            dirnames.clear()
    return None


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        capture_output=True,
        check=False,
    )


def _stage_github(project: Project, stage: Path) -> bool:
    """Unpack the project's commit into ``stage``; False (reason printed) if unavailable."""
    assert project.repo is not None and project.commit is not None
    if shutil.which("git") is None:
        print(f"{project.name}: github source not available here (no git)")
        return False
    git_dir = find_git_dir(project.repo)
    if git_dir is None:
        print(
            f"{project.name}: github source not available here "
            f"(no snapshot of {project.repo} under {mirror_root()})"
        )
        return False
    probe = _git(git_dir, "cat-file", "-e", f"{project.commit}^{{commit}}")
    if probe.returncode != 0:
        print(
            f"{project.name}: github source not available here "
            f"(commit {project.commit} is not in the snapshot at {git_dir})"
        )
        return False
    with tempfile.TemporaryFile() as tar_file:
        archive = subprocess.run(
            ["git", f"--git-dir={git_dir}", "archive", "--format=tar", project.commit],
            stdout=tar_file,
            stderr=subprocess.PIPE,
            check=False,
        )
        if archive.returncode != 0:
            reason = archive.stderr.decode(errors="replace").strip()
            print(f"{project.name}: git archive failed: {reason}")
            return False
        tar_file.seek(0)
        skipped = extract_tar(tar_file, stage, strip_top=False)
    for member in skipped:
        print(f"{project.name}: skipped archive member {member}")
    return True


def _pip_download(project: Project, into: Path) -> Path | None:
    """The sdist of ``package==version`` downloaded into ``into``, or None."""
    assert project.package is not None and project.version is not None
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-binary",
        ":all:",
        "--no-deps",
        # Fetching source only: a project may require a newer Python than the one running.
        "--ignore-requires-python",
        "--disable-pip-version-check",
        f"{project.package}=={project.version}",
        "-d",
        str(into),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-5:])
        print(f"{project.name}: pip download failed (exit {result.returncode}):\n{tail}")
        return None
    found = sorted(
        p
        for p in into.iterdir()
        if p.is_file() and p.name.lower().endswith((".tar.gz", ".tgz", ".tar.bz2", ".zip"))
    )
    if len(found) != 1:
        print(f"{project.name}: expected one sdist from pip, found {[p.name for p in found]}")
        return None
    return found[0]


def _stage_pypi(project: Project, stage: Path) -> bool:
    """Unpack the project's sdist into ``stage``; False (reason printed) on failure."""
    with tempfile.TemporaryDirectory(prefix="phasegate-sdist-") as tmp:
        sdist = _pip_download(project, Path(tmp))
        if sdist is None:
            return False
        if sdist.name.lower().endswith(".zip"):
            skipped = extract_zip(sdist, stage, strip_top=True)
        else:
            skipped = extract_tar(sdist, stage, strip_top=True)
    for member in skipped:
        print(f"{project.name}: skipped archive member {member}")
    return True


def _select(project: Project, source: Path, scratch: Path) -> Path | None:
    """The folder that becomes the workspace: all of ``source``, its ``subdir``, or a new
    folder holding only the ``copy`` files."""
    if project.copy:
        workspace = scratch / "copy"
        workspace.mkdir()
        for src, dst in project.copy:
            origin = _inside(source, src)
            if origin.is_symlink() or not origin.is_file():
                print(f"{project.name}: copy source {src!r} is not a regular file")
                return None
            target = _inside(workspace, dst)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, target)
        return workspace
    if project.subdir is not None:
        chosen = _inside(source, project.subdir)
        if chosen.is_symlink() or not chosen.is_dir():
            print(f"{project.name}: subdir {project.subdir!r} is not a folder of the source")
            return None
        return chosen
    return source


NPM_TIMEOUT = 900


def _npm_install(project: Project, workspace: Path) -> None:
    """``npm ci --ignore-scripts`` in every folder of ``workspace`` with a
    ``package-lock.json`` (no install script of a dependency runs); where the lock file is
    out of step with package.json (``npm ci`` refuses), ``npm install --ignore-scripts``,
    which keeps what the lock file still pins. Failures printed."""
    npm = shutil.which("npm")
    locks = sorted(p for p in workspace.rglob("package-lock.json") if "node_modules" not in p.parts)
    if locks and npm is None:
        print(f"{project.name}: npm not available here: JavaScript dependencies not installed")
        return
    for lock in locks:
        where = lock.parent.relative_to(workspace).as_posix()
        failure = ""
        for command in ("ci", "install"):
            try:
                result = subprocess.run(
                    [npm or "npm", command, "--ignore-scripts", "--no-audit", "--no-fund"],
                    cwd=lock.parent,
                    capture_output=True,
                    text=True,
                    timeout=NPM_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                failure = f"npm {command} timed out after {NPM_TIMEOUT} s"
                break
            if result.returncode == 0:
                failure = ""
                break
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            failure = f"npm {command} failed (exit {result.returncode}):\n{tail}"
            if command == "ci":
                print(f"{project.name}: npm ci in {where} refused, trying npm install")
        if failure:
            print(f"{project.name}: in {where}: {failure}")


VENV_TIMEOUT = 1200
VENV_MARKER = ".corpus-venv.json"


def make_venv(project: Project, workspace: Path) -> str | None:
    """Give ``workspace`` a ``.venv`` (this Python's version) where ``pip install
    <project.venv>`` ran in the workspace; None when done (or already done with the same
    arguments), else why not (printed too). A project without ``venv`` gets none."""
    if not project.venv:
        return None
    venv = workspace / ".venv"
    marker = venv / VENV_MARKER
    wanted = {"python": list(sys.version_info[:3]), "pip": list(project.venv)}
    with contextlib.suppress(OSError, ValueError):
        if json.loads(marker.read_text(encoding="utf-8")) == wanted:
            return None
    shutil.rmtree(venv, ignore_errors=True)
    failure = ""
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", *project.venv],
    )  # fmt: skip
    for argv in steps:
        try:
            result = subprocess.run(
                argv, cwd=workspace, capture_output=True, text=True,
                timeout=VENV_TIMEOUT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            failure = f"{' '.join(argv[:4])} timed out after {VENV_TIMEOUT} s"
            break
        if result.returncode != 0:
            lines = [ln for ln in result.stderr.splitlines() if not ln.startswith("WARNING")]
            tail = "\n".join(lines[-5:])
            failure = f"{' '.join(argv[:4])} failed (exit {result.returncode}):\n{tail}"
            break
    if failure:
        shutil.rmtree(venv, ignore_errors=True)
        print(f"{project.name}: no .venv: {failure}")
        return failure
    marker.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
    return None


# --------------------------------------------------------------------------- materialise


def _marker(dest_root: Path, name: str) -> Path:
    return dest_root / MARKER_DIR / f"{name}.json"


def is_materialized(project: Project, dest_root: Path) -> bool:
    """Whether ``dest_root/<name>`` already holds this exact project."""
    marker = _marker(dest_root, project.name)
    workspace = dest_root / project.name
    if not marker.is_file() or not workspace.is_dir():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(recorded == project.identity())


def materialize(project: Project, dest_root: Path) -> Path | None:
    """Make ``dest_root/<name>`` the project's workspace and return it.

    Returns None, with the reason printed, when the source cannot be had here (a github
    snapshot absent, pip unable to fetch the sdist). Skips the work when the marker shows
    the same source and version or commit already materialised.
    """
    dest_root = dest_root.expanduser()
    workspace = dest_root / project.name
    if is_materialized(project, dest_root):
        return workspace
    dest_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{project.name}-", dir=dest_root) as tmp:
        scratch = Path(tmp)
        source = scratch / "source"
        source.mkdir()
        if project.source == "pypi":
            ok = _stage_pypi(project, source)
        else:
            ok = _stage_github(project, source)
        if not ok:
            return None
        chosen = _select(project, source, scratch)
        if chosen is None:
            return None
        if project.npm:
            _npm_install(project, chosen)
        marker = _marker(dest_root, project.name)
        marker.unlink(missing_ok=True)
        if workspace.is_symlink() or workspace.is_file():
            workspace.unlink()
        elif workspace.exists():
            shutil.rmtree(workspace)
        chosen.rename(workspace)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(project.identity(), indent=2) + "\n", encoding="utf-8")
    return workspace


# --------------------------------------------------------------------------- command line


def default_dest(*, venvs: bool = False) -> Path:
    """``$PHASEGATE_CORPUS_DIR``, else ``~/.cache/phasegate/corpus``; with ``venvs``, a
    sibling folder ``…-venvs`` (phasegate finds a workspace's ``.venv`` by itself: the
    corpus without them must not see them)."""
    override = os.environ.get("PHASEGATE_CORPUS_DIR")
    base = Path(override).expanduser() if override else Path.home() / ".cache/phasegate/corpus"
    return base.with_name(base.name + "-venvs") if venvs else base


def _chosen(projects: Sequence[Project], only: Sequence[str] | None) -> Iterator[Project]:
    if not only:
        yield from projects
        return
    known = {project.name: project for project in projects}
    missing = [name for name in only if name not in known]
    if missing:
        raise SystemExit(f"unknown project name(s): {', '.join(missing)}")
    for name in dict.fromkeys(only):
        yield known[name]


def _fetch(args: argparse.Namespace) -> int:
    projects = load_manifest(args.manifest)
    dest: Path = args.dest if args.dest is not None else default_dest(venvs=args.venvs)
    dest = dest.expanduser().resolve()
    failed: list[str] = []
    unavailable: list[str] = []
    done = 0
    for project in _chosen(projects, args.only):
        cached = is_materialized(project, dest)
        try:
            workspace = materialize(project, dest)
        except (OSError, UnsafeArchiveError, tarfile.TarError, zipfile.BadZipFile) as exc:
            print(f"{project.name}: failed: {exc}")
            failed.append(project.name)
            continue
        if workspace is None:
            (unavailable if project.source == "github" else failed).append(project.name)
            continue
        done += 1
        print(f"{project.name}: {'cached' if cached else 'materialised'} {workspace}")
        if args.venvs and make_venv(project, workspace) is not None:
            failed.append(project.name)
    print(
        f"{done} materialised in {dest}; {len(unavailable)} unavailable here; {len(failed)} failed"
    )
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


def _list(args: argparse.Namespace) -> int:
    for project in load_manifest(args.manifest):
        where = (
            f"{project.package}=={project.version}"
            if project.source == "pypi"
            else f"{project.repo}@{(project.commit or '')[:12]}"
        )
        print(f"{project.name:24} {project.source:6} {where:48} {','.join(project.kinds)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--manifest", type=Path, default=None, help="manifest file (default: corpus.toml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", parents=[common], help="materialise the corpus (idempotent)")
    fetch.add_argument("--only", nargs="+", metavar="NAME", help="only these projects")
    fetch.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="destination (default: $PHASEGATE_CORPUS_DIR or ~/.cache/phasegate/corpus; "
        "with --venvs, the same name ending in -venvs)",
    )
    fetch.add_argument(
        "--venvs", action="store_true", help="give the projects with `venv` their .venv"
    )
    fetch.set_defaults(run=_fetch)
    listing = sub.add_parser("list", parents=[common], help="print the manifest's projects")
    listing.set_defaults(run=_list)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except ManifestError as exc:
        print(f"manifest error: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
