"""The plugins' entry points and the backends' versions, remembered across processes.

Why. The registry needs the ``dicomframe.codecs`` entry points, and each
codec the installed version of its backend (:meth:`Codec.too_old`). Asking
:mod:`importlib.metadata` costs a fresh process about 30 ms to import it
(email, zipfile, csv, pathlib...), then 3.5 ms to read every distribution's
``entry_points.txt`` (27 distributions; 20-30 ms for 330) and 0.7 ms a
plugin to parse its METADATA for the version (``benchmarks/bench_startup.py``).
Checking a remembered answer costs a directory listing per ``sys.path``
entry and two ``stat`` calls per distribution: about 1 ms here, and it needs
no import beyond ``json``. Backends that import importlib.metadata
themselves (pylibjpeg's, pyjpegls) pay its import anyway; dicomframe's own
codecs, imagecodecs and Pillow then never do.

What. One small JSON file per interpreter and list of ``sys.path`` entries
that hold distributions (so scripts in different directories share one), in
``$XDG_CACHE_HOME/dicomframe`` (``~/.cache/dicomframe`` by default; the
newest 16 files are kept): the
group's entry points (name, value, distribution, version) as
``importlib.metadata.entry_points(group=...)`` gives them, and the version of
each distribution asked for through :func:`version`, learnt when first asked.
``DICOMFRAME_PLUGIN_CACHE=0`` (or ``off``, ``no``, ``false``) turns it off:
every answer then comes from importlib.metadata.

When it is believed. The file holds the fingerprint of what it was made
from, and every process computes it again before believing the file: for
each ``sys.path`` entry, the names of its ``.dist-info`` and ``.egg-info``
folders and, for each, the folder's and its ``entry_points.txt``'s
modification time, inode and size (``PKG-INFO``'s too for an egg-info, which
setuptools rewrites in place), or those of a zip file. Installing,
removing, upgrading or reinstalling a distribution, or editing its entry
points, changes it. A meta-path finder other than
:class:`importlib.machinery.PathFinder` that finds distributions (where
importlib.metadata would also look) turns the cache off. Within one process,
:func:`version` trusts the last checked answer while ``sys.path`` and the
modification times of its directories are unchanged, as importlib.metadata
trusts its own directory listings.

Never in the way. A missing, corrupt, foreign or unreadable file is ignored
and made again; a directory that cannot be written is ignored; the file is
written whole to a temporary name and renamed, so that a process reading it
at the same time sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import threading
import zlib
from typing import Any

from dicomframe.core.record import Record, record

__all__ = ["DISABLE", "Entry", "cache_file", "entry_points", "version"]

DISABLE = "DICOMFRAME_PLUGIN_CACHE"  # "0", "off", "no" or "false": no cache
_FORMAT = 1
_KEEP = 16  # cache files kept, newest first
_OFF = frozenset({"0", "off", "no", "false"})
_INFO = (".dist-info", ".egg-info")
# importlib.metadata's reading of an entry point's value: module, attributes, extras
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


@record
class Entry(Record):
    """One entry point: what ``importlib.metadata.EntryPoint`` says of it, without it."""

    name: str
    value: str
    distribution: str | None  # None: importlib.metadata did not say
    version: str = ""

    def load(self) -> object:
        """Import the module the value names and return the object (as ``EntryPoint.load``)."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r}: {self.value!r} names no module")
        found: object = importlib.import_module(match.group("module"))
        for attribute in filter(None, (match.group("attr") or "").split(".")):
            found = getattr(found, attribute)
        return found


class _State:
    """What one cache file says, once its fingerprint has been checked."""

    __slots__ = ("entries", "group", "versions")

    def __init__(
        self,
        group: str,
        entries: list[Entry] | None,
        versions: dict[str, str | None] | None = None,
    ) -> None:
        self.group = group
        self.entries = entries
        self.versions: dict[str, str | None] = {} if versions is None else versions


class _Checked:
    """The state last checked in this process, and what lets :func:`version` trust it."""

    __slots__ = ("fingerprint", "key", "stamps", "state")

    def __init__(
        self,
        key: tuple[str, ...],
        stamps: list[int | None],
        fingerprint: list[Any],
        state: _State,
    ) -> None:
        self.key = key
        self.stamps = stamps
        self.fingerprint = fingerprint
        self.state = state


_lock = threading.Lock()
_checked: _Checked | None = None


def entry_points(group: str) -> list[Entry]:
    """The entry points of ``group``, in importlib.metadata's order (remembered when possible)."""
    global _checked  # noqa: PLW0603 - the one answer this process has checked
    with _lock:
        fingerprint = _fingerprint()
        if fingerprint is None:
            return _scan(group)
        key = tuple(sys.path)
        stamps = _stamps(key)
        state = _read(fingerprint)
        if state is None or state.group != group:
            state = _State(group, None)
        if state.entries is None:
            state.entries = _scan(group)
            _write(state, fingerprint)
        _checked = _Checked(key, stamps, fingerprint, state)
        return list(state.entries)


def version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (``importlib.metadata.version``), or None."""
    global _checked  # noqa: PLW0603 - the one answer this process has checked
    with _lock:
        checked = _trusted()
        if checked is None:
            fingerprint = _fingerprint()
            if fingerprint is None:
                return _version(distribution)
            key = tuple(sys.path)
            state = _read(fingerprint) or _State("", None)
            checked = _checked = _Checked(key, _stamps(key), fingerprint, state)
        versions = checked.state.versions
        if distribution not in versions:
            versions[distribution] = _version(distribution)
            _write(checked.state, checked.fingerprint)
        return versions[distribution]


def cache_file(fingerprint: list[Any] | None = None) -> str | None:
    """Where the answers for this interpreter and its site directories are kept (None: off).

    One file per interpreter and list of ``sys.path`` entries that hold
    distributions, so that scripts run from different directories share it.
    """
    folder = _folder()
    if folder is None:
        return None
    if fingerprint is None:
        fingerprint = _fingerprint()
        if fingerprint is None:
            return None
    places = [part[0] for part in fingerprint[2:] if part]  # entries that hold distributions
    key = "\0".join(map(str, [*fingerprint[:2], *places])).encode("utf-8", "surrogatepass")
    return os.path.join(folder, f"entry-points-{zlib.crc32(key):08x}.json")


def _folder() -> str | None:
    """``$XDG_CACHE_HOME/dicomframe`` or ``~/.cache/dicomframe``; None when caching is off."""
    if os.environ.get(DISABLE, "").strip().lower() in _OFF:
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG rule: a relative path is ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dicomframe") if os.path.isabs(base) else None


# -- importlib.metadata, when nothing remembered answers ------------------------------------------
def _scan(group: str) -> list[Entry]:
    import importlib.metadata

    found = []
    for entry in importlib.metadata.entry_points(group=group):
        dist = entry.dist
        if dist is None:
            found.append(Entry(entry.name, entry.value, None))
        else:
            found.append(Entry(entry.name, entry.value, dist.name, dist.version))
    return found


def _version(distribution: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- the fingerprint ------------------------------------------------------------------------------
def _fingerprint() -> list[Any] | None:
    """What the answers depend on; None when they cannot be remembered (see the module doc)."""
    if _folder() is None or _other_finders():
        return None
    return [sys.executable, sys.version, *map(_path_entry, sys.path)]


def _other_finders() -> bool:
    from importlib.machinery import PathFinder

    return any(
        finder is not PathFinder
        and hasattr(finder, "find_distributions")
        and not _same_as_path_finder(finder)
        for finder in sys.meta_path
    )


def _same_as_path_finder(finder: object) -> bool:
    """The importlib_metadata backport's finder (dask imports it): sys.path, as PathFinder."""
    kind = type(finder)
    return kind.__name__ == "MetadataPathFinder" and kind.__module__ == "importlib_metadata"


def _path_entry(entry: object) -> list[Any]:
    """An entry's distributions; ``[]`` for one that holds none (a script's directory)."""
    if not isinstance(entry, str):
        return [repr(entry)]
    path = entry or "."
    try:
        with os.scandir(path) as listing:
            names = sorted(item.name for item in listing if item.name.lower().endswith(_INFO))
    except NotADirectoryError:  # a zip file, an egg
        return [entry, *_stat(path)]
    except OSError:  # missing: nothing there, as for importlib.metadata
        return []
    return [entry, *(_distribution(path, name) for name in names)] if names else []


def _distribution(path: str, name: str) -> list[Any]:
    """A distribution's stamps: its folder's, its entry_points.txt's (and an egg's PKG-INFO)."""
    folder = os.path.join(path, name)
    files = ("entry_points.txt", "PKG-INFO") if name.lower().endswith(".egg-info") else ()
    stamps: list[Any] = [name, *_stat(folder)]
    for file in files or ("entry_points.txt",):
        stamps.extend(_stat(os.path.join(folder, file)))
    return stamps


def _stat(path: str) -> list[int | None]:
    try:
        found = os.stat(path)
    except OSError:
        return [None]
    return [found.st_mtime_ns, found.st_ino, found.st_size]


def _stamps(key: tuple[str, ...]) -> list[int | None]:
    """The modification times of the ``sys.path`` directories: a new or removed entry moves one."""
    return [_stat(entry or ".")[0] for entry in key]


def _trusted() -> _Checked | None:
    """The last checked answer, when ``sys.path`` and its directories have not changed since."""
    checked = _checked
    if checked is None or _folder() is None:
        return None
    key = tuple(sys.path)
    if key != checked.key or _stamps(key) != checked.stamps:
        return None
    return checked


# -- the file -------------------------------------------------------------------------------------
def _read(fingerprint: list[Any]) -> _State | None:
    """The remembered state, or None when there is none that matches ``fingerprint``."""
    path = cache_file(fingerprint)
    if path is None:
        return None
    import json

    try:
        with open(path, "rb") as file:
            data = json.loads(file.read())
        if data["format"] != _FORMAT or data["fingerprint"] != fingerprint:
            return None
        return _state(data)
    except Exception:  # any damage means "not remembered", never an error
        return None


def _state(data: dict[str, Any]) -> _State:
    """A state from the file's data; TypeError or ValueError on any surprise."""
    group, entries, versions = data["group"], data["entries"], data["versions"]
    if not isinstance(group, str) or not isinstance(versions, dict):
        raise TypeError("a damaged cache")
    if entries is not None:
        entries = [_entry(item) for item in entries]
    for name, found in versions.items():
        if not isinstance(name, str) or not isinstance(found, str | None):
            raise TypeError("a damaged cache")
    return _State(group, entries, versions)


def _entry(item: object) -> Entry:
    if not isinstance(item, list) or len(item) != 4:
        raise TypeError("a damaged cache")
    name, value, distribution, found = item
    if not (isinstance(name, str) and isinstance(value, str) and isinstance(found, str)):
        raise TypeError("a damaged cache")
    if distribution is not None and not isinstance(distribution, str):
        raise TypeError("a damaged cache")
    return Entry(name, value, distribution, found)


def _write(state: _State, fingerprint: list[Any]) -> None:
    """Write the state atomically; any failure leaves things as they were, silently."""
    path = cache_file(fingerprint)
    if path is None:
        return
    import json

    entries = None
    if state.entries is not None:
        entries = [[e.name, e.value, e.distribution, e.version] for e in state.entries]
    data = {
        "format": _FORMAT,
        "fingerprint": fingerprint,
        "group": state.group,
        "entries": entries,
        "versions": state.versions,
    }
    temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(data))  # the C encoder: json.dump's is Python, 7x slower
        os.replace(temporary, path)
    except (OSError, ValueError, TypeError):  # unwritable, full, or unserialisable: not cached
        with contextlib.suppress(OSError):
            os.remove(temporary)
        return
    _prune(os.path.dirname(path))


def _prune(folder: str) -> None:
    """Keep the newest ``_KEEP`` files (test suites make a new one for each temporary site)."""
    with contextlib.suppress(OSError):
        with os.scandir(folder) as listing:
            found = [
                (item.stat().st_mtime_ns, item.path)
                for item in listing
                if item.name.startswith("entry-points-") and item.name.endswith(".json")
            ]
        for _, path in sorted(found, reverse=True)[_KEEP:]:
            os.remove(path)
