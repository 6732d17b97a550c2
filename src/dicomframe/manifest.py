"""The manifest of a tree command: one JSON line per input, and resuming a run from it.

Each line is one input file of the run, whatever became of it::

    {"input": "/scans/a/1.dcm", "output": "/out/a/1.dcm", "status": "ok", "error": null,
     "bytes_in": 526436, "bytes_out": 301712, "seconds": 0.41, "sha256": "9f2c...",
     "worker": "tcp://10.0.0.7:40123", "pid": 8812}

``status`` is ``ok`` (converted now), ``failed`` (``error`` says why) or
``skipped`` (not converted: ``error`` says why, as for a file that is not
DICOM, or it is null for an output kept from an earlier run, whose digest is
given). Paths are absolute, so a manifest still names its files when read
from elsewhere. ``worker`` is the Dask worker's address (null on the local
engine); ``pid`` the process that converted the file.

Resuming: with a manifest, an output that already exists is kept, and its
line is ``skipped``, only when it is *verified*:

- the previous manifest (the file about to be replaced) has a line for it,
  from the same input, and the output's SHA-256 still equals that line's; or
- the previous manifest has no line for it (there was none, or the run that
  wrote the output stopped before writing its manifest), and the output reads
  back as DICOM: every element parses to the end of the file, in the
  transfer syntax the run writes when it has one.

Any other existing output is converted again. Outputs are written atomically,
so a run that stops leaves whole files or none; the digest also catches an
output changed or replaced since.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Literal

from dicomframe.batch_work import Done, sha256_of

__all__ = ["Previous", "Record", "Writer", "read_manifest", "reads_back", "record_of"]

Status = Literal["ok", "failed", "skipped"]
STATUSES = ("ok", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class Record:
    """One line of a manifest: one input and what became of it."""

    input: str
    output: str | None
    status: Status
    error: str | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    seconds: float | None = None
    sha256: str | None = None
    worker: str | None = None
    pid: int | None = None

    def line(self) -> str:
        """The JSON line, without its newline."""
        return json.dumps(asdict(self), ensure_ascii=False)


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(path)


def record_of(source: Path, target: Path, done: Done) -> Record:
    """The line of a file a job converted, or failed to."""
    error = done.outcome.error
    return Record(
        input=_absolute(source),
        output=_absolute(target),
        status="ok" if error is None else "failed",
        error=error,
        bytes_in=done.bytes_in,
        bytes_out=done.bytes_out,
        seconds=round(done.seconds, 6),
        sha256=done.sha256,
        worker=done.worker,
        pid=done.pid,
    )


def untouched(source: Path, target: Path | None, status: Status, error: str | None) -> Record:
    """The line of a file no job ran on: skipped or refused before any worker saw it."""
    try:
        size: int | None = os.stat(source).st_size  # stat only: never open a FIFO
    except OSError:
        size = None
    return Record(
        _absolute(source), None if target is None else _absolute(target), status, error, size
    )


def kept(source: Path, target: Path, sha256: str) -> Record:
    """The line of an output kept from an earlier run, verified."""
    return Record(
        _absolute(source),
        _absolute(target),
        "skipped",
        None,
        source.stat().st_size,
        target.stat().st_size,
        sha256=sha256,
    )


class Writer:
    """Writes records, one JSON line each, to a binary file as they come."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.lines = 0

    def write(self, record: Record) -> None:
        """Write one record."""
        self._handle.write((record.line() + "\n").encode("utf-8"))
        self.lines += 1


def read_manifest(path: str | os.PathLike[str]) -> Iterator[Record]:
    """The records of a manifest file; a line that is not one raises ValueError naming it."""
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                fields = json.loads(text)
                record = Record(**fields)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}, line {number}: not a manifest line: {exc}") from exc
            if record.status not in STATUSES:
                raise ValueError(f"{path}, line {number}: unknown status {record.status!r}")
            yield record


@dataclass
class Previous:
    """What an earlier run's manifest says of the outputs it wrote or kept, by output path."""

    digests: dict[str, tuple[str, str]] = field(default_factory=dict)  # output -> (input, sha256)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Previous:
        """The manifest at ``path``; none there is an empty one."""
        previous = cls()
        if not os.path.exists(path):
            return previous
        for record in read_manifest(path):
            if record.status != "failed" and record.output and record.sha256:
                previous.digests[record.output] = (record.input, record.sha256)
        return previous

    def verified(self, source: Path, target: Path, syntax: str | None) -> str | None:
        """The SHA-256 of the existing output ``target`` when it is verified, else None."""
        line = self.digests.get(_absolute(target))
        if line is not None:
            if line[0] != _absolute(source):
                return None
            actual = sha256_of(target)
            return actual if actual == line[1] else None
        return sha256_of(target) if reads_back(target, syntax) else None


def reads_back(path: Path, syntax: str | None = None) -> bool:
    """Whether ``path`` parses as DICOM to its end (in ``syntax``, when given), without warning.

    Large values (the pixel data) are not read, only checked to fit in the file.
    """
    from dicomframe.core.reader import read

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dataset = read(path)
            try:
                found = dataset.transfer_syntax
                return syntax is None or (found is not None and found.uid == syntax)
            finally:
                dataset.close()
    except Exception:  # anything wrong with the file is "not verified": it is converted again
        return False
