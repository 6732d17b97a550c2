"""Files at URLs (``s3://``, ``gs://``, ``https://``...): read in range requests through fsspec.

A :class:`RemoteSource` is a :class:`~dicomframe.core.source.Source` whose
bytes stay on the server. Its buffer is a sparse, lazily committed memory
map the size of the file, into which the parts the parser reads are fetched:
the first 64 KiB (:data:`HEAD_BYTES`) when it is opened, then more only as
the header goes on. :mod:`dicomframe.core.remote_parse` drives the parser
over the fetched part and skips large values, so they are *located* and
never fetched while the header is read. A value read later (a frame, a large
LUT) is one range request for its bytes; small reads go through a bounded
cache of 64 KiB blocks, so nearby small reads share a request.

Every request is counted, per source (:attr:`RemoteSource.requests`,
:attr:`RemoteSource.bytes_received`) and for the process (:func:`totals`).
Every request's size is checked against ``Limits.max_stream_bytes`` before
it is sent, and every length read from the file against the file's size.

What is checked for a changed file (:class:`~dicomframe.errors.SourceChangedError`):
over HTTP(S) each range request carries ``If-Match`` with the ETag the
server reported when the file was opened, so the server refuses a request
on a replaced file; on S3 a versioned object is read at the version opened;
everywhere a response shorter than the range asked for means the file
shrank.

fsspec is imported only here, and only when a URL is opened.
"""

from __future__ import annotations

import mmap
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from dicomframe.core.limits import Limits, resolve_limits
from dicomframe.core.source import Source
from dicomframe.errors import DicomError, InvalidDicomError, SourceChangedError, require

__all__ = [
    "HEAD_BYTES",
    "RemoteError",
    "RemoteNotFoundError",
    "RemotePermissionError",
    "RemoteSource",
    "RemoteTarget",
    "is_remote",
    "is_url",
    "target",
    "totals",
]

HEAD_BYTES = 64 * 1024  # the first request: the preamble, the meta and most headers
BLOCK = 64 * 1024  # small reads fetch whole blocks of this size ...
CACHED_BLOCKS = 32  # ... and keep this many (2 MiB) for the next small read
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://|::")  # scheme://... or a chained fsspec URL
# Anonymous memory that is never written takes no room: the map is the size of the file,
# and only what the parser reads is ever committed.
_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)


class RemoteError(DicomError, OSError):
    """A file at a URL could not be read: the message names the URL and the reason."""


class RemoteNotFoundError(RemoteError, FileNotFoundError):
    """No file at the URL (HTTP 404, no such key)."""


class RemotePermissionError(RemoteError, PermissionError):
    """The server refused access to the URL (HTTP 401/403, access denied)."""


def is_url(text: object) -> bool:
    r"""True for a URL fsspec should open (``s3://b/k``, ``https://...``, ``file://...``).

    A plain path, relative or absolute, is not a URL; neither is a Windows
    path such as ``C:\data``. Chained fsspec URLs (``simplecache::s3://...``)
    are. The CLI and batch code use this to route their arguments.
    """
    # Most strings are plain paths: two substring tests rule them out before the pattern.
    return (
        isinstance(text, str) and ("://" in text or "::" in text) and _URL.search(text) is not None
    )


def _is_open_file(source: object) -> bool:
    """An ``fsspec.core.OpenFile``, known without importing fsspec."""
    kind = type(source)
    return kind.__name__ == "OpenFile" and kind.__module__.startswith("fsspec")


def is_remote(source: object) -> bool:
    """True for what :func:`dicomframe.read` opens through fsspec: a URL or an OpenFile."""
    return isinstance(source, RemoteTarget) or is_url(source) or _is_open_file(source)


class RemoteTarget(NamedTuple):
    """A URL (or fsspec OpenFile) and the ``storage_options`` to open it with."""

    url: Any  # str, or an fsspec OpenFile
    storage_options: Mapping[str, Any]

    @property
    def name(self) -> str:
        """The URL, for messages."""
        if isinstance(self.url, str):
            return self.url
        return str(getattr(self.url, "full_name", None) or self.url.path)

    def filesystem(self) -> tuple[Any, str]:
        """The fsspec filesystem and the path on it."""
        if not isinstance(self.url, str):
            return self.url.fs, self.url.path
        fsspec_core = require("fsspec.core", f"{self.url}: reading a URL", "distributed")
        try:
            fs, path = fsspec_core.url_to_fs(self.url, **dict(self.storage_options))
        except (ImportError, ValueError) as exc:  # an unknown protocol, a missing backend
            raise RemoteError(f"cannot open {self.url}: {exc}") from exc
        return fs, path

    def open(self, limits: Limits | None = None) -> RemoteSource:
        """A :class:`RemoteSource` on the file, with its first :data:`HEAD_BYTES` fetched."""
        fs, path = self.filesystem()
        return RemoteSource.open(fs, path, name=self.name, limits=limits)


def target(source: Any, storage_options: Mapping[str, Any] | None = None) -> Any:
    """``source`` as a :class:`RemoteTarget` when it is a URL; anything else is returned as is.

    ``storage_options`` only make sense with a URL: given with anything
    else they are refused, rather than silently ignored.
    """
    if isinstance(source, RemoteTarget):
        return source
    if is_url(source) or _is_open_file(source):
        return RemoteTarget(source, dict(storage_options or {}))
    if storage_options:
        raise TypeError("storage_options is for URLs (s3://, https://...), not for a local source")
    return source


class Totals:
    """Requests sent and bytes received by every remote source of this process."""

    __slots__ = ("bytes_received", "requests")

    def __init__(self, requests: int = 0, bytes_received: int = 0) -> None:
        self.requests = requests
        self.bytes_received = bytes_received


_TOTALS = Totals()
_TOTALS_LOCK = threading.Lock()


def totals() -> Totals:
    """A snapshot of the process-wide counters (compare two to measure a piece of work)."""
    with _TOTALS_LOCK:
        return Totals(_TOTALS.requests, _TOTALS.bytes_received)


def _count(requests: int, received: int) -> None:
    with _TOTALS_LOCK:
        _TOTALS.requests += requests
        _TOTALS.bytes_received += received


def translate(exc: BaseException, url: str, doing: str = "read") -> DicomError:
    """The dicomframe error for what fsspec (or its HTTP, S3... client) raised."""
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    if isinstance(exc, DicomError):
        return exc
    if status == 412:  # If-Match failed: the ETag changed
        return SourceChangedError(
            f"{url} changed after it was opened (its ETag changed): read it again", path=url
        )
    if isinstance(exc, FileNotFoundError) or status == 404:
        return RemoteNotFoundError(f"cannot {doing} {url}: not found")
    if isinstance(exc, PermissionError) or status in (401, 403):
        return RemotePermissionError(f"cannot {doing} {url}: permission denied ({exc})")
    reason = f"HTTP {status}: {exc}" if isinstance(status, int) else f"{type(exc).__name__}: {exc}"
    return RemoteError(f"cannot {doing} {url}: {reason}")


def _stamp(info: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The ETag and the version the server reports for a file, when it does."""
    etag = next((str(info[k]) for k in ("ETag", "etag", "e_tag") if info.get(k)), None)
    version = info.get("VersionId") or info.get("version_id")
    return etag, None if version in (None, "null") else str(version)


class RemoteSource(Source):
    """A file on a server read through an fsspec filesystem, in range requests.

    The buffer is a sparse map the size of the file; only ranges recorded as
    filled (:meth:`fill`) hold the file's bytes, and the parser is only ever
    given such ranges. Lazy reads (:meth:`view`) fetch what they need.
    """

    __slots__ = (
        "_blocks",
        "_extents",
        "_filled",
        "_frame",
        "_fs",
        "_lock",
        "_options",
        "_parsing",
        "_pid",
        "_protocol",
        "_read_kwargs",
        "bytes_received",
        "etag",
        "limits",
        "path",
        "requests",
        "size",
        "spans_cache",
    )

    def __init__(
        self,
        fs: Any,
        path: str,
        *,
        name: str,
        size: int,
        info: Mapping[str, Any],
        limits: Limits | None = None,
    ) -> None:
        mapped = mmap.mmap(
            -1, max(size, 1), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _NORESERVE
        )
        super().__init__(memoryview(mapped)[:size], name=name)
        self._map = self._data = mapped
        self._fs, self.path, self.size = fs, path, size
        self._protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self._options = dict(getattr(fs, "storage_options", {}))
        self._pid = os.getpid()
        self.limits = resolve_limits(limits)
        self.etag, version = _stamp(info)
        self._read_kwargs: dict[str, Any] = {}
        if self.etag and self._protocol in ("http", "https"):
            self._read_kwargs = {"headers": {"If-Match": self.etag}}
        elif version and self._protocol in ("s3", "s3a"):
            self._read_kwargs = {"version_id": version}
        self._filled: list[tuple[int, int]] = []  # sorted, disjoint, not touching
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._frame: tuple[int, bytes] | None = None  # the last frame extent fetched
        self._extents: dict[int, int] = {}  # frame extents known: start -> end
        self.spans_cache: dict[int, Any] = {}  # per Pixel Data value offset: its frames' spans
        self._lock = threading.RLock()
        self._parsing = True
        self.requests = 0
        self.bytes_received = 0

    @classmethod
    def open(
        cls, fs: Any, path: str, *, name: str, limits: Limits | None = None, head: int = HEAD_BYTES
    ) -> RemoteSource:
        """Ask the server for the file's size (one request), then fetch its first ``head`` bytes."""
        try:
            info = fs.info(path)
        except Exception as exc:
            raise translate(exc, name) from exc
        _count(1, 0)
        if info.get("type") == "directory":
            raise InvalidDicomError(f"{name} is a directory, not a DICOM file")
        size = info.get("size")
        if not isinstance(size, int) or size < 0:
            raise RemoteError(
                f"cannot read {name}: the server does not report its size (no Content-Length), "
                "so it cannot be read in ranges"
            )
        source = cls(fs, path, name=name, size=size, info=info, limits=limits)
        source.requests = 1
        try:
            source.fill(0, min(head, size))
        except BaseException:
            source.close()
            raise
        return source

    # -- what the reader asks of a source ---------------------------------------
    @property
    def is_head(self) -> bool:
        """True while the header is parsed: an element past what was fetched stops it."""
        return self._parsing

    @is_head.setter
    def is_head(self, value: bool) -> None:
        self._parsing = value

    def whole(self) -> RemoteSource:
        """Fetch every byte not fetched yet (a deflated dataset, a lenient read) and return self."""
        self.fill(0, self.size)
        return self

    def finish(self) -> None:
        """Nothing to close: the source holds no descriptor."""

    def check_unchanged(self) -> None:
        """Checked by the server on each request instead (``If-Match``; see the module)."""

    def close(self) -> None:
        """Release the map and the caches."""
        self._blocks.clear()
        self._frame = None
        super().close()

    def release(self, offset: int, length: int) -> None:
        """Forget cached bytes inside ``[offset, offset + length)`` (a frame iterated past)."""
        with self._lock:
            frame = self._frame
            if (
                frame is not None
                and offset <= frame[0] + len(frame[1])
                and frame[0] < offset + length
            ):
                self._frame = None
            for index in [i for i in self._blocks if offset <= i * BLOCK < offset + length]:
                del self._blocks[index]

    # -- the fetched part of the map ---------------------------------------------
    def filled_end(self, pos: int) -> int:
        """The end of the fetched run of bytes that holds ``pos`` (``pos`` when not fetched)."""
        for start, end in self._filled:
            if start <= pos < end:
                return end
        return pos

    def is_filled(self, start: int, end: int) -> bool:
        """True when every byte of ``[start, end)`` was fetched into the map."""
        return start >= end or self.filled_end(start) >= end

    def fill(self, start: int, end: int) -> None:
        """Fetch the bytes of ``[start, end)`` not fetched yet into the map, one request per gap."""
        end = min(end, self.size)
        with self._lock:
            for gap_start, gap_end in self._gaps(start, end):
                data = self.fetch(gap_start, gap_end)
                self.buffer[gap_start:gap_end] = data
                self._mark(gap_start, gap_end)

    def _gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        gaps, pos = [], start
        for lo, hi in self._filled:
            if hi <= pos or lo >= end:
                continue
            if lo > pos:
                gaps.append((pos, lo))
            pos = max(pos, hi)
        if pos < end:
            gaps.append((pos, end))
        return gaps

    def _mark(self, start: int, end: int) -> None:
        runs = [*self._filled, (start, end)]
        runs.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in runs:
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        self._filled = merged

    # -- lazy reads -------------------------------------------------------------------
    def view(self, offset: int, length: int) -> memoryview:
        """The bytes of ``[offset, offset + length)``: from the map, the caches, or one request."""
        self.buffer  # noqa: B018 - raises when closed
        end = offset + length
        if offset < 0 or end > self.size:
            raise InvalidDicomError(
                f"{self.name}: bytes {offset}..{end} lie past the end of the file "
                f"({self.size} bytes)"
            )
        if self.is_filled(offset, end):
            return self.buffer[offset:end]
        with self._lock:
            frame = self._frame
            if frame is None or not frame[0] <= offset <= end <= frame[0] + len(frame[1]):
                frame = self._frame_holding(offset, end)
            if frame is not None:
                return memoryview(frame[1])[offset - frame[0] : end - frame[0]]
            if length < BLOCK:
                return memoryview(self._from_blocks(offset, end))
        return memoryview(self.fetch(offset, end))

    def note_extent(self, start: int, end: int) -> None:
        """Record that ``[start, end)`` is one frame: a read inside it fetches all of it, once."""
        self._extents[start] = end

    def _frame_holding(self, offset: int, end: int) -> tuple[int, bytes] | None:
        for start, stop in self._extents.items():
            if start <= offset and end <= stop:
                self._frame = (start, self.fetch(start, stop))
                return self._frame
        return None

    def _from_blocks(self, offset: int, end: int) -> bytes:
        first, last = offset // BLOCK, (end - 1) // BLOCK
        missing = [i for i in range(first, last + 1) if i not in self._blocks]
        if missing:
            lo, hi = missing[0] * BLOCK, min((missing[-1] + 1) * BLOCK, self.size)
            data = self.fetch(lo, hi)
            for i in range(missing[0], missing[-1] + 1):
                self._blocks[i] = data[i * BLOCK - lo : (i + 1) * BLOCK - lo]
        pieces = []
        for i in range(first, last + 1):
            self._blocks.move_to_end(i)
            pieces.append(self._blocks[i])
        while len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        joined = b"".join(pieces)
        return joined[offset - first * BLOCK : end - first * BLOCK]

    def fetch(self, start: int, end: int) -> bytes:
        """One range request for ``[start, end)``, its size checked against the limits first."""
        want = end - start
        if want <= 0:
            return b""
        self.limits.check("max_stream_bytes", want, what=f"one request to {self.name}")
        try:
            data = self._filesystem().cat_file(self.path, start=start, end=end, **self._read_kwargs)
        except Exception as exc:
            raise translate(exc, self.name) from exc
        self.requests += 1
        self.bytes_received += len(data)
        _count(1, len(data))
        if len(data) > want:
            raise RemoteError(
                f"cannot read {self.name} in ranges: asked for {want} bytes at {start}, the server "
                f"sent {len(data)} (it ignores Range requests)"
            )
        if len(data) < want:
            raise SourceChangedError(
                f"{self.name}: {len(data)} bytes at {start} where {want} were asked for; the file "
                f"is shorter than the {self.size} bytes it had when opened: read it again",
                path=self.name,
            )
        return bytes(data)

    def _filesystem(self) -> Any:
        """The filesystem; a fresh one in a forked child, whose parent's event loop is gone."""
        if os.getpid() != self._pid:
            import fsspec  # type: ignore[import-untyped]

            self._fs = fsspec.filesystem(self._protocol, skip_instance_cache=True, **self._options)
            self._lock = threading.RLock()
            self._pid = os.getpid()
        return self._fs

    # -- encapsulated frames ------------------------------------------------------------
    def frame_spans(
        self, offset: int, length: int, frames: int, extended: Any = None
    ) -> Sequence[list[tuple[int, int]]]:
        """Each frame's fragments of the encapsulated value at ``offset``, fetching little.

        See :func:`dicomframe.core.remote_frames.frame_spans`; the result is
        kept per value, so the fragments are scanned once per dataset.
        """
        from dicomframe.core.remote_frames import frame_spans

        found = self.spans_cache.get(offset)
        if found is None:
            found = frame_spans(self, offset, length, frames, extended)
            self.spans_cache[offset] = found
        return found
