"""The entry points and versions remembered across processes (dicomframe.plugins.entry_cache).

Each test has a cache directory of its own (``XDG_CACHE_HOME``, tests/plugins/conftest.py).
The distributions are real folders on ``sys.path`` that stays the same list, as in a
site-packages directory where something is installed, removed or changed, so only the
fingerprint can tell the difference.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dicomframe.errors import PluginWarning
from dicomframe.plugins import entry_cache, hookspecs, loading
from dicomframe.plugins.entry_cache import Entry
from dicomframe.plugins.manager import CodecManager

GROUP = hookspecs.PROJECT
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty site directory at the front of ``sys.path``."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def install(site: Path, name: str, version: str, entries: dict[str, str]) -> Path:
    """A dist-info for ``name`` with ``entries`` in the dicomframe.codecs group."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{entry} = {value}\n" for entry, value in entries.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")
    return info


def names() -> set[str]:
    return {entry.name for entry in entry_cache.entry_points(GROUP)}


def truth() -> list[Entry]:
    """What importlib.metadata says now, in the cache's terms."""
    found = importlib.metadata.entry_points(group=GROUP)
    return [
        Entry(e.name, e.value, e.dist.name if e.dist else None, e.dist.version if e.dist else "")
        for e in found
    ]


class Scans:
    """Counts how often importlib.metadata is scanned for entry points."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        scan = entry_cache._scan

        def counted(group: str) -> list[Entry]:
            self.count += 1
            return scan(group)

        monkeypatch.setattr(entry_cache, "_scan", counted)


# -- what is remembered ---------------------------------------------------------------------------
def test_the_cache_gives_what_importlib_metadata_gives(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(site, "acme-codecs", "1.2", {"acme": "acme_codecs:plugin.hooks"})
    scans = Scans(monkeypatch)
    first = entry_cache.entry_points(GROUP)
    second = entry_cache.entry_points(GROUP)
    assert first == second == truth()
    assert scans.count == 1  # the second answer came from the file
    path = entry_cache.cache_file()
    assert path is not None
    assert path.startswith(os.environ["XDG_CACHE_HOME"] + "/dicomframe/")
    stored = json.loads(Path(path).read_text())
    assert ["acme", "acme_codecs:plugin.hooks", "acme-codecs", "1.2"] in stored["entries"]


def test_a_new_distribution_is_seen(site: Path) -> None:
    assert "acme" not in names()
    install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert "acme" in names()
    assert entry_cache.entry_points(GROUP) == truth()


def test_a_removed_distribution_is_gone(site: Path) -> None:
    info = install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert "acme" in names()
    for file in info.iterdir():
        file.unlink()
    info.rmdir()
    assert "acme" not in names()


def test_an_upgrade_is_seen(site: Path) -> None:
    info = install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert entry_cache.version("acme-codecs") == "1.0"
    assert {e.version for e in entry_cache.entry_points(GROUP) if e.name == "acme"} == {"1.0"}
    info.rename(site / "acme_codecs-2.0.dist-info")
    (site / "acme_codecs-2.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-codecs\nVersion: 2.0\n"
    )
    entry_cache._checked = None  # as in a new process
    assert entry_cache.version("acme-codecs") == "2.0"
    assert {e.version for e in entry_cache.entry_points(GROUP) if e.name == "acme"} == {"2.0"}


def test_entry_points_edited_in_place_are_seen(site: Path) -> None:
    info = install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert "acme" in names()
    stamp = (info / "entry_points.txt").stat().st_mtime_ns
    with (info / "entry_points.txt").open("w") as file:  # same file, same folder
        file.write(f"[{GROUP}]\nacme2 = acme_codecs\n")
    os.utime(info / "entry_points.txt", ns=(stamp + 10**9, stamp + 10**9))
    assert names() >= {"acme2"}
    assert "acme" not in names()


def test_a_reinstall_of_the_same_version_is_seen(site: Path) -> None:
    info = install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert "acme" in names()
    for file in info.iterdir():
        file.unlink()
    info.rmdir()
    install(site, "acme-codecs", "1.0", {"other": "acme_codecs"})
    assert "other" in names()


def test_versions_are_importlib_metadatas(site: Path) -> None:
    assert entry_cache.version("numpy") == importlib.metadata.version("numpy")
    assert entry_cache.version("no-such-distribution-here") is None
    path = entry_cache.cache_file()
    assert path is not None
    stored = json.loads(Path(path).read_text())["versions"]
    numpy = importlib.metadata.version("numpy")
    assert stored == {"numpy": numpy, "no-such-distribution-here": None}

    def refuse(name: str) -> str:
        raise AssertionError(f"asked importlib.metadata for {name}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(importlib.metadata, "version", refuse)
        entry_cache._checked = None  # as in a new process: the file answers
        assert entry_cache.version("numpy") == stored["numpy"]
    install(site, "no-such-distribution-here", "3.0", {})
    assert entry_cache.version("no-such-distribution-here") == "3.0"


# -- what never breaks loading ----------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"format": 1}',
        b"null",
    ],
    ids=["empty", "truncated", "binary", "a-list", "no-fingerprint", "null"],
)
def test_a_corrupt_cache_is_ignored_and_replaced(site: Path, content: bytes) -> None:
    install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    path = entry_cache.cache_file()
    assert path is not None
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(content)
    assert entry_cache.entry_points(GROUP) == truth()
    assert json.loads(Path(path).read_text())["format"] == 1  # made again


def test_a_cache_with_wrong_types_is_ignored(site: Path) -> None:
    install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    entry_cache.entry_points(GROUP)
    path = entry_cache.cache_file()
    assert path is not None
    good = json.loads(Path(path).read_text())
    for damage in (
        {"entries": [["acme", 1, None, "1.0"]]},
        {"entries": [["acme", "acme_codecs"]]},
        {"entries": "acme"},
        {"versions": {"numpy": 2}},
        {"versions": []},
        {"group": None},
    ):
        Path(path).write_text(json.dumps({**good, **damage}))
        with pytest.MonkeyPatch.context() as patch:
            scans = Scans(patch)
            assert entry_cache.entry_points(GROUP) == truth(), damage
            assert scans.count == 1, damage


def test_an_unwritable_cache_directory_is_ignored(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert entry_cache.entry_points(GROUP) == truth()
    assert entry_cache.version("acme-codecs") == "1.0"
    assert blocker.read_text() == "not a directory"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_cache.entry_points(GROUP)
    path = entry_cache.cache_file()
    assert path is not None
    before = Path(path).read_bytes()

    def fail(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    install(site, "acme-codecs", "1.0", {"acme": "acme_codecs"})
    assert "acme" in names()
    assert Path(path).read_bytes() == before
    assert os.listdir(Path(path).parent) == [Path(path).name]


def test_only_the_newest_files_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(20):
        site = tmp_path / f"site{index}"
        site.mkdir()
        install(site, f"acme{index}", "1.0", {f"acme{index}": "acme"})
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(site))
            assert f"acme{index}" in names()
            newest = entry_cache.cache_file()
    folder = Path(os.environ["XDG_CACHE_HOME"]) / "dicomframe"
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == entry_cache._KEEP
    assert Path(str(newest)).name in kept


def test_directories_without_distributions_share_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = set()
    for name in ("scripts-a", "scripts-b"):
        (tmp_path / name).mkdir()
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(tmp_path / name))  # as `python scripts-a/run.py` does
            scans = Scans(patch)
            entry_cache.entry_points(GROUP)
            files.add(entry_cache.cache_file())
    assert len(files) == 1
    assert scans.count == 0  # the second directory's process read the first one's answers


def test_the_cache_can_be_turned_off(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(entry_cache.DISABLE, "off")
    assert entry_cache.cache_file() is None
    scans = Scans(monkeypatch)
    entry_cache.entry_points(GROUP)
    entry_cache.entry_points(GROUP)
    assert scans.count == 2
    assert entry_cache.version("numpy") == importlib.metadata.version("numpy")
    assert not (Path(os.environ["XDG_CACHE_HOME"]) / "dicomframe").exists()


def test_xdg_cache_home_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert str(entry_cache.cache_file()).startswith(f"{tmp_path}/xdg/dicomframe/entry-points-")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # the XDG rule: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert str(entry_cache.cache_file()).startswith(f"{tmp_path}/home/.cache/dicomframe/")


def test_a_finder_of_other_distributions_turns_it_off(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Finder:
        @staticmethod
        def find_spec(*_args: object) -> None:
            return None

        @staticmethod
        def find_distributions(*_args: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Finder()])
    scans = Scans(monkeypatch)
    entry_cache.entry_points(GROUP)
    entry_cache.entry_points(GROUP)
    assert scans.count == 2


# -- loading through it ---------------------------------------------------------------------------
def test_entry_values_load_as_importlib_loads_them() -> None:
    assert Entry("x", "dicomframe.plugins.entry_cache", "d").load() is entry_cache
    assert Entry("x", "dicomframe.plugins.entry_cache:Entry", "d").load() is Entry
    assert Entry("x", "dicomframe.plugins : entry_cache.Entry [extra]", "d").load() is Entry
    with pytest.raises(ValueError, match="names no module"):
        Entry("x", ":nothing", "d").load()


def test_a_malformed_value_is_a_plugin_problem(site: Path) -> None:
    install(site, "acme-codecs", "1.0", {"acme": "not a module name"})
    manager = CodecManager()
    with pytest.warns(PluginWarning, match="acme-codecs 1.0"):
        manager.load()
    [problem] = [p for p in manager.problems if p.plugin == "acme"]
    assert "acme-codecs 1.0" in str(problem)
    assert isinstance(problem.__cause__, ValueError)


def test_the_registry_loads_from_the_cache(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (site / "acme_cached.py").write_text(
        textwrap.dedent(
            """
            from dicomframe.plugins import hookimpl

            @hookimpl
            def dicomframe_codecs():
                return []
            """
        )
    )
    install(site, "acme-cached", "1.0", {"acme-cached": "acme_cached"})
    CodecManager().load()  # remembers
    scans = Scans(monkeypatch)
    manager = CodecManager()
    manager.load()
    assert scans.count == 0
    origin = manager._origins["acme-cached"]
    assert (origin.distribution, origin.version) == ("acme-cached", "1.0")
    assert [e.name for e in loading.entry_points(set())][:1] == ["deflate"]  # built-ins first
    sys.modules.pop("acme_cached", None)


# -- a fresh process ------------------------------------------------------------------------------
PROBE = """
import sys
import dicomframe as dcf
from dicomframe.plugins.manager import CodecManager
manager = CodecManager()
manager.load()
for status in manager.codecs():
    status.codec.too_old()
print(sorted(status.name for status in manager.codecs()))
print("importlib.metadata" in sys.modules)
"""


def test_a_fresh_process_imports_no_metadata_when_the_cache_answers(tmp_path: Path) -> None:
    env = {**ENV, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
        ).stdout.splitlines()
        for _ in range(2)
    ]
    assert runs[0][0] == runs[1][0]  # the same codecs
    assert "'rle'" in runs[0][0]
    assert [run[1] for run in runs] == ["True", "False"]  # made, then read
    env[entry_cache.DISABLE] = "0"
    off = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert off == runs[0]


def test_the_importlib_metadata_backport_keeps_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """dask imports importlib_metadata, whose finder reads sys.path as PathFinder does."""
    backport = pytest.importorskip("importlib_metadata")
    finder = backport.MetadataPathFinder()
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, finder])
    assert entry_cache.cache_file() is not None

    class Other:
        def find_distributions(self, *args: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Other()])
    assert entry_cache.cache_file() is None  # an unknown finder: nothing is remembered
