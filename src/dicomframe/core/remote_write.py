"""Writing to a URL, and whole-file copies of one: always complete files, never partial ones.

An object store has no rename, and a file uploaded piece by piece while it
is written would be visible half done, or left behind by a failure. So a
file for a URL is written to a local temporary file first and uploaded in
one step (``put_file``) only once it is complete; a failure before that
uploads nothing, and the temporary file is removed either way. S3 and
Google Cloud Storage make an object visible only when its upload completes
(a multipart upload included), so readers see the old object or the new
one. A ``file://`` URL is written like a local path: atomically, in place.

:func:`local_copy` is the other direction: a file at a URL downloaded whole
to a temporary file, for work that needs every byte (transcoding every
frame): one sequential transfer costs less than a range request per frame.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from dicomframe.core.limits import Limits, resolve_limits
from dicomframe.core.remote import RemoteTarget, target, translate
from dicomframe.errors import WriteError

__all__ = ["local_copy", "uploading"]


def _local_path(fs: Any, path: str) -> str | None:
    """The path on this machine, when ``fs`` is the local filesystem; else None."""
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return path if "file" in protocol or "local" in protocol else None


def _temporary(suffix: str) -> str:
    """A new empty local file (``tempfile`` is imported here: only URLs need it)."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix="dicomframe-", suffix=suffix)
    os.close(fd)
    return name


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


@contextlib.contextmanager
def uploading(dest: Any, storage_options: Mapping[str, Any] | None = None) -> Iterator[str]:
    """A local path to write; its file is uploaded to the URL ``dest`` when the block completes.

    Nothing is uploaded when the block raises. A failed upload raises
    :class:`~dicomframe.errors.WriteError` naming the URL. For a ``file://``
    URL the local path itself is given (write it atomically).
    """
    remote: RemoteTarget = target(dest, storage_options)
    fs, path = remote.filesystem()
    local = _local_path(fs, path)
    if local is not None:
        yield local
        return
    temporary = _temporary(".dcm.part")
    try:
        yield temporary
        try:
            fs.put_file(temporary, path)
        except Exception as exc:  # every client error becomes a WriteError
            reason = translate(exc, remote.name, "write")
            raise WriteError(str(reason), path=remote.name) from exc
    finally:
        _remove(temporary)


@contextlib.contextmanager
def local_copy(
    source: Any, storage_options: Mapping[str, Any] | None = None, limits: Limits | None = None
) -> Iterator[str]:
    """A local path holding the file at the URL ``source``, downloaded whole (a temporary file).

    The size the server reports is checked against ``limits.max_stream_bytes``
    before anything is downloaded. A ``file://`` URL gives its own path.
    """
    remote: RemoteTarget = target(source, storage_options)
    fs, path = remote.filesystem()
    local = _local_path(fs, path)
    if local is not None:
        yield local
        return
    temporary = _temporary(".dcm")
    try:
        try:
            size = fs.info(path).get("size")
            if isinstance(size, int):
                resolve_limits(limits).check(
                    "max_stream_bytes", size, what=f"downloading {remote.name}"
                )
            fs.get_file(path, temporary)
        except Exception as exc:  # every client error becomes a DicomError naming the URL
            raise translate(exc, remote.name) from exc
        yield temporary
    finally:
        _remove(temporary)
