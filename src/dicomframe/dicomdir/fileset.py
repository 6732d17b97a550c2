"""Read a DICOMDIR into a tree of directory records: ``read_dicomdir()`` and ``FileSet``.

A DICOMDIR (PS3.10 8, PS3.3 F.3) lists its records flat, in the Directory
Record Sequence (0004,1220); the hierarchy is drawn by byte offsets from the
start of the file (the preamble included): the root's first record is at
(0004,1200), each record names its next sibling in (0004,1400) and its first
child in (0004,1420). The order of the items in the sequence means nothing,
so the tree is built by following the offsets, as DCMTK and pydicom do.

What is tolerated, and what is refused:

- an offset of 0, or an offset element that is missing, means "none";
- a record whose Record In-use Flag (0004,1410) is 0x0000 is inactive: it is
  left out with the records below it, and its next sibling is still followed
  (PS3.10 8.5: an inactive record's lower-level entity is inactive too);
- records in use that no offset reaches are not part of the tree: they are
  listed, in file order, in :attr:`FileSet.unreachable`;
- offsets that loop, or name a record already placed in the tree, raise
  :class:`~dicomframe.errors.InvalidDicomError` naming the record's offset, and
  so does an offset that names no record of the sequence (past the end of the
  file, or inside another record);
- a referenced file that does not exist is not an error: its record's
  ``path`` is where the file should be.

The tree is walked with a stack, never by recursion, so a deep or long
chain of offsets costs memory in proportion to the records, which
``Limits.max_elements`` already bounds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dicomframe.core.dataset import Dataset
from dicomframe.core.limits import Limits
from dicomframe.core.reader import read
from dicomframe.core.tag import Tag
from dicomframe.errors import InvalidDicomError

__all__ = ["FileSet", "Record", "read_dicomdir"]

FIRST_RECORD = Tag(0x00041200)
DIRECTORY_RECORD_SEQUENCE = Tag(0x00041220)
NEXT_RECORD = Tag(0x00041400)
IN_USE = Tag(0x00041410)
LOWER_LEVEL = Tag(0x00041420)
RECORD_TYPE = Tag(0x00041430)
REFERENCED_FILE_ID = Tag(0x00041500)
_ITEM_HEADER = 8  # PS3.5 7.5: an item's tag and length precede its first element
_INACTIVE = 0x0000
_NOT_IN_A_NAME = frozenset("/\\:\0")  # a component with these would leave the folder


class Record:
    """One directory record of a File-set, placed in its hierarchy.

    Attributes
    ----------
    record_type
        The Directory Record Type (0004,1430), e.g. ``"PATIENT"``, ``"IMAGE"``;
        ``""`` when the record has none.
    dataset
        The record's item of the Directory Record Sequence, as read.
    path
        The file that Referenced File ID (0004,1500) names, under the
        DICOMDIR's folder (whether or not it exists); None when the record
        references no file.
    offset
        The byte offset of the record's item in the DICOMDIR, the value other
        records use to point at it.
    parent
        The record whose lower-level entity holds this one; None at the root
        (and for unreachable records).
    children
        The records of its lower-level entity, in the order of their Offset
        of the Next Directory Record chain.
    depth
        0 at the root (PATIENT in the usual hierarchy), 1 below it, and so on.
    """

    __slots__ = ("children", "dataset", "depth", "offset", "parent", "path", "record_type")

    def __init__(self, dataset: Dataset, offset: int, path: Path | None) -> None:
        self.dataset = dataset
        self.offset = offset
        self.path = path
        self.record_type = text_of(dataset.get(RECORD_TYPE))
        self.parent: Record | None = None
        self.children: tuple[Record, ...] = ()
        self.depth = 0

    def ancestors(self) -> Iterator[Record]:
        """The parent, its parent, and so on up to the root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def walk(self) -> Iterator[Record]:
        """The record itself, then every record below it, depth first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def lookup(self, keyword: str) -> Any:
        """The value of ``keyword`` in this record or, failing that, its nearest ancestor's.

        An IMAGE record holds no Patient ID; ``image.lookup("PatientID")``
        finds it in the PATIENT record above. None when no record has it.
        """
        for node in (self, *self.ancestors()):
            value = node.dataset.get(keyword)
            if value is not None:
                return value
        return None

    def __repr__(self) -> str:
        where = f" {self.path}" if self.path is not None else ""
        return f"<Record {self.record_type} at offset {self.offset}{where}>"


class FileSet:
    """The directory records of a DICOMDIR, as a tree.

    Iterating gives every record in hierarchy order: the first root record,
    its first child, that child's first child... depth first, siblings in
    the order their offsets chain them.

    Attributes
    ----------
    path
        The DICOMDIR file.
    dataset
        The DICOMDIR dataset as read (its records parsed, its file closed).
    roots
        The records of the root directory entity (usually the PATIENTs).
    unreachable
        Records in use that no offset reaches, in file order; they have no
        parent, no children and depth 0, and iteration leaves them out.
    """

    def __init__(
        self, path: Path, dataset: Dataset, roots: Iterable[Record], unreachable: Iterable[Record]
    ) -> None:
        self.path = path
        self.dataset = dataset
        self.roots = tuple(roots)
        self.unreachable = tuple(unreachable)

    @property
    def file_set_id(self) -> str:
        """The File-set ID (0004,1130); ``""`` when there is none."""
        return text_of(self.dataset.get("FileSetID"))

    def __iter__(self) -> Iterator[Record]:
        for root in self.roots:
            yield from root.walk()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def records(self, record_type: str | None = None) -> list[Record]:
        """Every record in hierarchy order, or those of one Directory Record Type."""
        return [r for r in self if record_type is None or r.record_type == record_type]

    def find(self, record_type: str | None = None, **keys: Any) -> list[Record]:
        """The records (of ``record_type``, if given) whose keys match.

        Each keyword is looked up in the record and then its ancestors
        (:meth:`Record.lookup`), so
        ``fs.find("IMAGE", PatientID="123", SeriesInstanceUID=uid)`` gives the
        IMAGE records of that series of that patient. Values compare as
        text, so ``SeriesNumber=2`` matches ``"2"``.
        """
        wanted = {keyword: text_of(value) for keyword, value in keys.items()}
        return [
            record
            for record in self
            if (record_type is None or record.record_type == record_type)
            and all(text_of(record.lookup(k)) == v for k, v in wanted.items())
        ]

    def patients(self) -> list[Record]:
        """The PATIENT records."""
        return self.records("PATIENT")

    def studies(self, patient_id: str | None = None) -> list[Record]:
        """The STUDY records, of one Patient ID when given."""
        keys = {} if patient_id is None else {"PatientID": patient_id}
        return self.find("STUDY", **keys)

    def series(self, study_uid: str | None = None) -> list[Record]:
        """The SERIES records, of one Study Instance UID when given."""
        keys = {} if study_uid is None else {"StudyInstanceUID": study_uid}
        return self.find("SERIES", **keys)

    def paths(self) -> list[Path]:
        """The referenced files, in hierarchy order (existing or not)."""
        return [record.path for record in self if record.path is not None]

    def __repr__(self) -> str:
        return f"<FileSet {self.file_set_id!r} {self.path}: {len(self)} records>"


def read_dicomdir(
    path: str | os.PathLike[str], *, lenient: bool = True, limits: Limits | None = None
) -> FileSet:
    """Read a DICOMDIR and build the tree its offsets draw.

    Parameters
    ----------
    path
        The DICOMDIR file; referenced files are resolved against its folder.
    lenient
        Read through the damage DCMTK and pydicom read through (an item
        longer than what remains of its sequence, a missing delimiter...),
        each repair a :class:`~dicomframe.RepairWarning` (and in
        ``fs.dataset.repairs``), as ``dcf.read(..., lenient=True)`` does.
        False refuses such a file.
    limits
        The :class:`~dicomframe.Limits` for reading it (default limits).

    Returns
    -------
    FileSet
        The records in hierarchy order, with lookups by patient, study, series.

    Raises
    ------
    InvalidDicomError
        Not a DICOMDIR (no Directory Record Sequence), a deflated one (its
        offsets count bytes that are not in the file), an offset that names no
        record, offsets that loop, or a Referenced File ID that leaves the
        DICOMDIR's folder.
    """
    where = Path(path)
    dataset = read(where, limits=limits, lenient=lenient)
    try:
        dataset.load()  # the records are small: parse them all, and free the file
    finally:
        dataset.close()
    if dataset.transfer_syntax is not None and dataset.transfer_syntax.is_deflated:
        raise InvalidDicomError(
            "a deflated DICOMDIR: its offsets cannot be followed", tag=DIRECTORY_RECORD_SEQUENCE
        )
    if DIRECTORY_RECORD_SEQUENCE not in dataset:
        raise InvalidDicomError(
            "not a DICOMDIR: no Directory Record Sequence", tag=DIRECTORY_RECORD_SEQUENCE
        )
    by_offset = _records_by_offset(dataset, where.parent)
    roots, met = _link(by_offset, _offset(dataset, FIRST_RECORD))
    unreachable = [r for o, r in by_offset.items() if o not in met and _in_use(r.dataset)]
    return FileSet(where, dataset, roots, unreachable)


def _records_by_offset(dataset: Dataset, folder: Path) -> dict[int, Record]:
    """Each item of the Directory Record Sequence under the offset of its item header."""
    records: dict[int, Record] = {}
    for item in dataset[DIRECTORY_RECORD_SEQUENCE].sequence:
        first = next(iter(item), None)
        if first is None or first.offset is None:
            continue  # an empty item: nothing can point at it, nothing to list
        offset = min(element.offset or 0 for element in item) - _ITEM_HEADER
        records[offset] = Record(item, offset, _referenced_path(item, folder, offset))
    return records


def _link(by_offset: dict[int, Record], first: int) -> tuple[list[Record], set[int]]:
    """Follow the offsets from the root's first record: the root records, and every offset met.

    An inactive record's lower-level entity is followed too, so that its
    records count as met (inactive with it), never as unreachable; none of
    them joins the tree.
    """
    seen: set[int] = set()
    roots: list[Record] = []
    # Each chain still to follow: its first offset, the record that owns it (None: the
    # root), the tag and record that point at it, and whether it lies below an inactive one.
    stack: list[tuple[int, Record | None, Tag, int | None, bool]] = [
        (first, None, FIRST_RECORD, None, False)
    ]
    while stack:
        offset, parent, tag, source, dead = stack.pop()
        siblings: list[Record] = []
        while offset:
            record = _target(by_offset, offset, seen, tag, source)
            seen.add(offset)
            alive = not dead and _in_use(record.dataset)
            if alive:
                record.parent = parent
                record.depth = 0 if parent is None else parent.depth + 1
                siblings.append(record)
            lower = _offset(record.dataset, LOWER_LEVEL)
            if lower:
                stack.append((lower, record, LOWER_LEVEL, offset, not alive))
            offset, tag, source = _offset(record.dataset, NEXT_RECORD), NEXT_RECORD, offset
        if dead:
            continue
        if parent is None:
            roots = siblings
        else:
            parent.children = tuple(siblings)
    return roots, seen


def _target(
    by_offset: dict[int, Record], offset: int, seen: set[int], tag: Tag, source: int | None
) -> Record:
    """The record at ``offset``; refused when there is none or it was reached before."""
    named = "the root" if source is None else f"the record at offset {source}"
    if offset in seen:
        raise InvalidDicomError(
            f"{named} points at the directory record at offset {offset}, which is already in "
            "the tree: the offsets loop",
            tag=tag,
            offset=offset,
        )
    record = by_offset.get(offset)
    if record is None:
        raise InvalidDicomError(
            f"{named} points at offset {offset}, where no directory record starts",
            tag=tag,
            offset=offset,
        )
    return record


def _offset(dataset: Dataset, tag: Tag) -> int:
    """An offset element's value; 0 (none) when it is missing or empty."""
    value = dataset.get(tag)
    if isinstance(value, list):
        value = value[0] if value else None
    return int(value) if value else 0


def _in_use(dataset: Dataset) -> bool:
    """False only for a Record In-use Flag of 0x0000 (PS3.3 F.3.2.2: 0xFFFF is in use)."""
    return IN_USE not in dataset or _offset(dataset, IN_USE) != _INACTIVE


def _referenced_path(item: Dataset, folder: Path, offset: int) -> Path | None:
    """Referenced File ID's components under ``folder``; None when the record has none."""
    value = item.get(REFERENCED_FILE_ID)
    if value is None or value == "":
        return None
    parts = [value] if isinstance(value, str) else [str(part) for part in value]
    parts = [part.strip() for part in parts]
    for part in parts:
        if part in ("", ".", "..") or any(c in part for c in _NOT_IN_A_NAME):
            joined = "\\".join(parts)
            raise InvalidDicomError(
                f"the directory record at offset {offset} references {joined!r}, "
                "which is not a path inside the DICOMDIR's folder",
                tag=REFERENCED_FILE_ID,
                offset=offset,
            )
    return folder.joinpath(*parts)


def text_of(value: Any) -> str:
    """A value as text: multi-valued ones joined with backslashes, None as ``""``."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(str(v) for v in value)
    return str(value).strip()
