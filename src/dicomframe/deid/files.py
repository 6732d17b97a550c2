"""De-identifying one file into another: the job ``dicomframe deidentify`` runs on each file.

The output is written to a temporary file next to its destination, read back
from there and checked with :func:`~dicomframe.deid.verify_deidentified`
before it is renamed into place: an output that fails the check is this
file's error and leaves no file behind. What was done comes back as report
rows (old values hashed with the salt, never the values), small enough to
send from a worker process to the one that writes the report. A file whose
Burned In Annotation is YES and no mask gets a first row with the action
``warning``: its pixels may show what the header no longer does. With
``strict`` such a file is refused instead (its error, no output). Masks come
from rules (:class:`~dicomframe.deid.masks.MaskRules`, ``--mask-config``)
matched against each file's device and image size.

A file without the ``DICM`` prefix is read as a bare dataset (old archives
hold such files); its output is a Part 10 file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from dicomframe.batch import Outcome
from dicomframe.core.dataset import Dataset
from dicomframe.core.reader import read
from dicomframe.core.writer import atomic_file, write
from dicomframe.deid.engine import deidentify_with_report
from dicomframe.deid.masks import MaskRules
from dicomframe.deid.options import Option
from dicomframe.deid.verify import verify_deidentified
from dicomframe.errors import DeidentificationError

__all__ = [
    "BURNED_IN",
    "NO_MASK",
    "REPORT_HEADER",
    "WARNING",
    "DeidentificationError",
    "ReportWriter",
    "Row",
    "deidentify_file",
    "deidentify_job",
]

# One row of the command's report: the file (relative to the source), then an action record.
Row = tuple[str, str, str, str, str, str, str]
REPORT_HEADER: Row = ("file", "path", "tag", "keyword", "action", "old_value_hash", "note")
# The action of a row that is no action but something to look at.
WARNING = "warning"
BURNED_IN = "Burned In Annotation is YES: text burned into the pixels is not removed"
NO_MASK = "no mask rule matches this file"


def deidentify_file(  # noqa: PLR0913 - every option is keyword-only
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    options: Iterable[str | Option] = (),
    salt: bytes,
    name: str = "",
    mask_rules: MaskRules | None = None,
    strict: bool = False,
) -> list[Row]:
    """De-identify ``source`` into ``target`` (atomically, checked); return its report rows.

    ``name`` is the file's name in the report (default: ``source``). The
    rectangles of every rule of ``mask_rules`` that matches the file are
    blacked out; ``strict`` refuses a file whose Burned In Annotation is YES
    when none matches.

    Raises
    ------
    DeidentificationError
        With ``strict``: Burned In Annotation is YES and no mask applies.
    DeidentificationError
        The output, read back, fails :func:`~dicomframe.deid.verify_deidentified`:
        each breach is named and ``target`` is left as it was.
    """
    chosen = tuple(options)
    with _read(source) as ds:
        rects = mask_rules.for_dataset(ds) if mask_rules is not None else []
        burned = str(ds.get(0x00280301) or "").strip().upper() == "YES"
        if strict and burned and not rects:
            raise DeidentificationError(f"refused (--strict): {BURNED_IN}; {NO_MASK}")
        result = deidentify_with_report(ds, options=chosen, salt=salt, mask=rects)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(target) as handle:
            write(result.dataset, handle)
            handle.flush()
            handle.seek(0)
            with read(handle) as back:
                problems = verify_deidentified(
                    ds, back, options=chosen, salt=salt, masked=bool(rects)
                )
            if problems:  # raised inside the block: the temporary file is removed
                raise DeidentificationError(
                    f"the output fails its check ({len(problems)}): " + "; ".join(problems[:5])
                )
    label = name or os.fspath(source)
    rows: list[Row] = []
    if burned and not rects:
        tag = "(0028,0301)"
        note = BURNED_IN if mask_rules is None else f"{BURNED_IN}; {NO_MASK}"
        rows.append((label, tag, tag, "BurnedInAnnotation", WARNING, "", note))
    rows += [
        (label, r.path, str(r.tag), r.keyword, r.action, r.old_hash, r.note) for r in result.actions
    ]
    return rows


def _read(source: str | os.PathLike[str]) -> Dataset:
    """The dataset; a bare one (no ``DICM`` at byte 128) is read with ``force``."""
    with open(source, "rb") as handle:
        head = handle.read(132)
    return read(source, force=head[128:132] != b"DICM")


def deidentify_job(  # noqa: PLR0913 - every option is keyword-only
    source: str,
    target: str,
    *,
    options: tuple[str, ...],
    salt: bytes,
    root: str,
    rows: bool = True,
    mask_rules: MaskRules | None = None,
    strict: bool = False,
) -> Outcome:
    """The batch job (:func:`dicomframe.batch.run_jobs`): the rows come back as the detail.

    Files are named in the report relative to ``root``, the source directory
    (or the file's own directory when one file is de-identified). With
    ``rows`` False (no report) only the warnings come back.
    """
    name = os.path.relpath(source, root)
    found = deidentify_file(
        source,
        target,
        options=options,
        salt=salt,
        name=name,
        mask_rules=mask_rules,
        strict=strict,
    )
    if not rows:
        found = [row for row in found if row[4] == WARNING]
    return Outcome(detail=found or None)


class ReportWriter:
    """Writes the report's rows, as CSV, to a binary file as each file's rows arrive.

    Rows come in the order files finish (with workers, not the tree's
    order): a long run's rows are never all held at once.
    """

    def __init__(self, handle: BinaryIO, root: Path) -> None:
        self._handle, self._root = handle, root
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\n")
        self.rows([REPORT_HEADER])

    def rows(self, rows: Iterable[Row]) -> None:
        """Write rows as they are."""
        self._csv.writerows(rows)
        self._handle.write(self._text.getvalue().encode("utf-8"))
        self._text.seek(0)
        self._text.truncate()

    def error(self, source: Path, error: str) -> None:
        """A file that failed: one ``error`` row."""
        self.rows([(self._name(source), "", "", "", "error", "", error)])

    def existing(self, source: Path) -> None:
        """A file whose output was there and was kept: one ``existing`` row."""
        note = "output exists, not de-identified again (--overwrite replaces it)"
        self.rows([(self._name(source), "", "", "", "existing", "", note)])

    def _name(self, source: Path) -> str:
        return os.path.relpath(source, self._root)
