"""Where a dataset's bytes live: an in-memory buffer or a memory-mapped file.

Large values are *located*, not copied: an element keeps ``(source, offset,
length)`` and asks the source for a view when the value is first used. For a
file, the view is a slice of a read-only memory map, so reading one frame of
a 10 GB file touches only that frame's pages. The source stays open until
:meth:`Source.close`; a view taken before closing stays valid (the map is
only released when the last view is gone).

Only regular files are opened by path: a FIFO would block the open, a device
such as ``/dev/zero`` never ends, and neither is a DICOM file. A mapped file
remembers its size, modification time and inode; a value read lazily after
any of them changed raises :class:`~dicomframe.errors.SourceChangedError`
instead of returning bytes the dataset was never parsed from (or crashing
the process with ``SIGBUS`` when the file shrank under the map).

A *head* is the first kilobytes of a file read with one ``pread``, for a
header scan: when the header goes on past it, :meth:`Source.whole` gives the
whole file (after checking it is still the file the head came from), and
parsing resumes there.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from dicomframe.core.record import Record, record
from dicomframe.errors import DicomError, InvalidDicomError, LimitError, SourceChangedError

__all__ = ["Located", "Patched", "Source", "Unparsed", "file_kind", "read_stream"]

# O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused once open.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)


class Source:
    """A readable, random-access byte buffer with an explicit lifetime."""

    __slots__ = ("_buffer", "_data", "_fd", "_map", "_path", "_rest", "_stamp", "name")

    def __init__(self, buffer: bytes | bytearray | memoryview, *, name: str = "<bytes>") -> None:
        self._buffer: memoryview | None = memoryview(buffer).cast("B")
        self._data: bytes | mmap.mmap | None = buffer if type(buffer) is bytes else None
        self._map: mmap.mmap | None = None
        self._fd: int | None = None
        self._stamp: tuple[int, int, int] | None = None  # size, mtime_ns, inode of a mapped file
        self._path: str | None = None  # the path it was opened by, to notice a replaced file
        self._rest: _Rest | None = None  # a head: how to read the whole file (see whole())
        self.name = name

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        map_from: int = 0,
        max_bytes: int | None = None,
        head: int = 0,
    ) -> Source:
        """Map a file read-only, or read it when it is smaller than ``map_from`` bytes.

        Mapping pays for itself only when something is left in the file: a
        reader that defers values of ``defer_size`` bytes or more passes that
        size, since a smaller file cannot hold such a value. Reading a small
        file whole, with no ``mmap``/``munmap`` and no file object, takes a
        third of the time of mapping it, which is most of what scanning many
        headers costs. An empty file becomes an empty buffer.

        ``head``: read only the file's first ``head`` bytes when it has more;
        the source is then a *head* (:attr:`is_head`) until :meth:`whole` or
        :meth:`finish`. A header scan that stops before the pixels reads a few
        kilobytes with one ``pread`` instead of mapping the whole file.
        """
        fd = os.open(path, _OPEN_FLAGS)
        name = os.fspath(path)
        source = cls.from_fd(fd, name=name, map_from=map_from, max_bytes=max_bytes, head=head)
        if source.is_mapped or source._rest is not None:
            source._path = name
        return source

    @classmethod
    def from_fd(
        cls,
        fd: int,
        *,
        name: str,
        map_from: int = 0,
        max_bytes: int | None = None,
        head: int = 0,
    ) -> Source:
        """Like :meth:`from_path`, for a file descriptor the source then owns (and closes).

        The whole file is the buffer, whatever the descriptor's position; it is
        read with ``pread``, so the position is left alone. Anything but a
        regular file is refused with :class:`InvalidDicomError`. A file that
        says it is empty (``/proc`` files do) is read to its end, but no
        further than ``max_bytes``.
        """
        keep = False  # the descriptor stays open: mapped, or kept by a head
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InvalidDicomError(
                    f"{name} is {file_kind(info.st_mode)}, not a regular file: dicomframe reads "
                    "files by path, or a stream given as a binary file object"
                )
            size = info.st_size
            stamp = (size, info.st_mtime_ns, info.st_ino)
            if 0 < head < size:
                source = cls(os.pread(fd, head, 0), name=name)
                source._rest = _Rest(fd, stamp, map_from, max_bytes)
                keep = True
                return source
            if size < map_from or size == 0:
                return cls(_read_all(fd, size, name, max_bytes), name=name)
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            keep = True
        finally:
            if not keep:
                os.close(fd)
        return cls._mapped(mapped, fd, stamp, name)

    @classmethod
    def _mapped(cls, mapped: mmap.mmap, fd: int, stamp: tuple[int, int, int], name: str) -> Source:
        source = cls(memoryview(mapped), name=name)
        source._map = source._data = mapped
        source._fd = fd  # kept for readinto(), closed by close()
        source._stamp = stamp
        return source

    @property
    def is_head(self) -> bool:
        """True while the buffer is only the start of a longer file (see ``head``)."""
        return self._rest is not None

    def whole(self) -> Source:
        """The whole file of a head: mapped, or read when smaller than ``map_from``.

        The descriptor passes to the new source; this one keeps its bytes, so
        what was parsed from them (sequences left unparsed) stays valid. The
        file must be the one the head was read from: a file changed since
        raises :class:`SourceChangedError`, and later lazy reads compare
        against the file as the head found it.
        """
        rest = self._rest
        if rest is None:
            return self
        self._rest = None
        try:
            source = _read_rest(rest, self.name)
        except BaseException:
            os.close(rest.fd)
            raise
        source._path = self._path if source.is_mapped else None
        return source

    def finish(self) -> None:
        """Close the descriptor a head keeps for :meth:`whole`; its bytes stay readable."""
        rest, self._rest = self._rest, None
        if rest is not None:
            os.close(rest.fd)

    def check_unchanged(self) -> None:
        """Raise :class:`SourceChangedError` when the mapped file changed since it was opened.

        Checked before every lazy read (:meth:`view`, :meth:`readinto`): the
        file's size and modification time through the open descriptor, and
        whether its path still names the same inode.
        """
        if self._stamp is None or self._fd is None:
            return
        info = os.fstat(self._fd)
        now = (info.st_size, info.st_mtime_ns, info.st_ino)
        inode = now[2]
        if self._path is not None:
            with contextlib.suppress(OSError):  # moved or deleted: the open file is still parsed
                inode = os.stat(self._path).st_ino
        if now != self._stamp or inode != self._stamp[2]:
            raise SourceChangedError(
                f"{self.name} changed after it was read (size, modification time or inode); "
                "values not loaded yet may no longer be the ones parsed: read it again",
                path=self.name,
            )

    @property
    def is_mapped(self) -> bool:
        """True when the bytes are a memory-mapped file."""
        return self._map is not None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._buffer is None

    @property
    def buffer(self) -> memoryview:
        """The whole buffer; raises :class:`DicomError` once closed."""
        if self._buffer is None:
            raise DicomError(
                f"{self.name} is closed: load the values you need before closing the dataset"
            )
        return self._buffer

    @property
    def slicer(self) -> bytes | mmap.mmap | None:
        """The buffer as an object whose slices are ``bytes``, or None.

        That is the bytes given or read, or the map: the parser copies a small
        value with one slice instead of a view and a copy. None for a
        ``bytearray`` or ``memoryview`` given by the caller, whose slices are
        not ``bytes``. Raises :class:`DicomError` once closed, as ``buffer``.
        """
        self.buffer  # noqa: B018 - raises when closed
        return self._data

    def __len__(self) -> int:
        return len(self.buffer)

    def view(self, offset: int, length: int) -> memoryview:
        """Return a zero-copy view of ``length`` bytes at ``offset`` (a lazy read)."""
        self.check_unchanged()
        return self.buffer[offset : offset + length]

    def readinto(self, offset: int, out: memoryview) -> None:
        """Copy ``len(out)`` bytes at ``offset`` into ``out``.

        For a mapped file this reads through the file descriptor (``preadv``)
        rather than the map, so copying a large value into a caller's array
        does not also fault the file's pages into this process.
        """
        out = out.cast("B")
        if self._fd is None:
            out[:] = self.view(offset, len(out))
            return
        self.buffer  # noqa: B018 - raises when closed
        self.check_unchanged()
        done = 0
        while done < len(out):
            count = os.preadv(self._fd, [out[done:]], offset + done)
            if count <= 0:
                raise DicomError(f"{self.name}: file ended while reading {len(out)} bytes")
            done += count

    def frame_spans(
        self, offset: int, length: int, frames: int, extended: Any = None
    ) -> Sequence[list[tuple[int, int]]]:
        """Each frame's fragment spans in the encapsulated value at ``offset`` (PS3.5 A.4).

        Here the value is viewed and its items walked
        (:func:`~dicomframe.core.encapsulation.frame_spans`); a source at a
        URL (:class:`~dicomframe.core.remote.RemoteSource`) fetches only the
        offset tables and the item headers it needs instead.
        """
        from dicomframe.core.encapsulation import frame_spans

        return frame_spans(self.view(offset, length), frames, extended=extended)

    def release(self, offset: int, length: int) -> None:
        """Let the kernel drop the mapped pages of a range from this process.

        The data stays valid: a view that is read again faults the pages back
        in from the page cache. Iterating over frames calls this for each frame
        it leaves, so a pass over a large file does not keep it all resident.
        """
        if self._map is None or self._buffer is None:
            return
        page = mmap.PAGESIZE
        start = -(-offset // page) * page
        end = (offset + length) // page * page
        if end > start:
            self._map.madvise(mmap.MADV_DONTNEED, start, end - start)

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Release the buffer; the map is unmapped when no view is left."""
        self.finish()
        if self._buffer is None:
            return
        self._buffer = self._data = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._map is not None:
            # Views handed out earlier (numpy arrays of frames) may still use the
            # pages; then the map is released by the garbage collector after them.
            with contextlib.suppress(BufferError):
                self._map.close()
            self._map = None


def _read_rest(rest: _Rest, name: str) -> Source:
    """The whole file a head came from, when it is still the file the head was read from."""
    info = os.fstat(rest.fd)
    if (info.st_size, info.st_mtime_ns, info.st_ino) != rest.stamp:
        raise SourceChangedError(
            f"{name} changed while it was read (size, modification time or inode)", path=name
        )
    size = rest.stamp[0]
    if size < rest.map_from:
        data = _read_all(rest.fd, size, name, rest.max_bytes)
        os.close(rest.fd)
        return Source(data, name=name)
    mapped = mmap.mmap(rest.fd, 0, access=mmap.ACCESS_READ)
    return Source._mapped(mapped, rest.fd, rest.stamp, name)


class _Rest(NamedTuple):
    """What a head keeps to read the rest of its file: the open descriptor and how to read."""

    fd: int
    stamp: tuple[int, int, int]  # size, mtime_ns, inode when the head was read
    map_from: int
    max_bytes: int | None


def file_kind(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words: "a FIFO", "a regular file"..."""
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _read_all(fd: int, size: int, name: str, max_bytes: int | None) -> bytes:
    """Read a file of ``size`` bytes from its start to its end; one call when it still has."""
    data = os.pread(fd, size + 1, 0)  # one more: a file that grew since fstat reads on
    if len(data) == size:
        return data  # all of it: a short read (or a shrunk file) goes on below
    chunks, done = [data], len(data)
    while chunk := os.pread(fd, 1 << 20, done):
        chunks.append(chunk)
        done += len(chunk)
        if max_bytes is not None and done > max_bytes:
            raise LimitError("max_stream_bytes", done, max_bytes, what=f"reading {name}")
    return b"".join(chunks)


def read_stream(stream: object, name: str, max_bytes: int) -> bytes:
    """Read a file object to its end in chunks, refusing more than ``max_bytes``."""
    chunks: list[bytes] = []
    done = 0
    read = getattr(stream, "read")  # noqa: B009 - any object with read() will do
    while True:
        chunk = read(min(1 << 20, max_bytes + 1 - done))
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("source must be a path, bytes or a binary file object")
        if not chunk:
            return b"".join(chunks)
        chunks.append(bytes(chunk))
        done += len(chunk)
        if done > max_bytes:
            raise LimitError("max_stream_bytes", done, max_bytes, what=f"reading {name}")


@record
class Located(Record):
    """A value left in its source: read on first use."""

    source: Source
    offset: int
    length: int

    def view(self) -> memoryview:
        """The value's bytes as a view on the source."""
        return self.source.view(self.offset, self.length)

    def readinto(self, out: memoryview) -> None:
        """Copy the value's first ``len(out)`` bytes into ``out``."""
        self.source.readinto(self.offset, out)


class Patched:
    """A value with some byte ranges replaced (edited frames), composed when read.

    ``base`` is the value as read; ``patches`` maps an offset to the bytes that
    replace the same number of bytes there, or to a function giving them when
    asked (an edited frame is encoded when the value is read, so later edits
    to it count). Only the ranges asked for are composed, so reading one
    unedited frame never copies the whole value.
    """

    __slots__ = ("base", "patches")

    def __init__(
        self, base: bytes | memoryview | Located, patches: dict[int, bytes | Callable[[], bytes]]
    ) -> None:
        self.base = base
        self.patches = patches

    @property
    def length(self) -> int:
        """The value's length in bytes."""
        return self.base.length if isinstance(self.base, Located) else len(self.base)

    def _base_view(self) -> memoryview:
        base = self.base
        return base.view() if isinstance(base, Located) else memoryview(base)

    def view(self, offset: int = 0, length: int | None = None) -> memoryview:
        """Bytes ``[offset, offset + length)`` with the patches applied."""
        end = self.length if length is None else offset + length
        base = self._base_view()[offset:end]
        patches = [(start, p() if callable(p) else p) for start, p in self.patches.items()]
        touching = [
            (start, data) for start, data in patches if start < end and start + len(data) > offset
        ]
        if not touching:
            return base
        out = bytearray(base)
        for start, data in touching:
            lo, hi = max(start, offset), min(start + len(data), end)
            out[lo - offset : hi - offset] = data[lo - start : hi - start]
        return memoryview(out)


class Unparsed:
    """A value left as bytes in its source and parsed on first use: a sequence's items.

    ``parse(*args)`` reads the items from ``source``; the source is checked
    first, so a sequence touched after its file was closed or changed raises
    a :class:`~dicomframe.errors.DicomError` rather than parsing other bytes.
    The arguments are kept rather than bound in a closure: a header scan
    leaves a few sequences in every file, and a tuple is the cheapest way to
    remember where each one lies.
    """

    __slots__ = ("_parse", "args", "source")

    def __init__(
        self, parse: Callable[..., Any], source: Source, args: tuple[Any, ...] = ()
    ) -> None:
        self._parse = parse
        self.source = source
        self.args = args

    def parse(self) -> Any:
        """The parsed value."""
        self.source.buffer  # noqa: B018 - raises when closed
        self.source.check_unchanged()
        return self._parse(*self.args)
